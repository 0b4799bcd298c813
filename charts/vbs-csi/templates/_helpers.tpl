{{/* Base name of every object: the release name, or "<release>-vbs-csi" when it does not contain the chart name. */}}
{{- define "vbs-csi.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "vbs-csi.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* selectorLabels: call with (dict "ctx" . "component" "controller") */}}
{{- define "vbs-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ .ctx.Chart.Name }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "vbs-csi.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "vbs-csi.agentServiceName" -}}
{{- printf "%s-agent" (include "vbs-csi.fullname" .) -}}
{{- end -}}

{{- define "vbs-csi.agentServerName" -}}
{{- default (printf "%s.%s.svc" (include "vbs-csi.agentServiceName" .) .Release.Namespace) .Values.controller.agentServerName -}}
{{- end -}}

{{/* The ConfigMap of storage nodes declared removed (vbs-csi nodes remove; docs/storage-node-removal.md). */}}
{{- define "vbs-csi.removedStorageNodesConfigMap" -}}
{{- default (printf "%s-removed-storage-nodes" (include "vbs-csi.fullname" .)) .Values.controller.removedStorageNodesConfigMap -}}
{{- end -}}

{{/* "k=v,k=v" of the agent's placement labels, keys sorted; the zone goes in --zone (or comes from the Node's label). */}}
{{- define "vbs-csi.agentLabels" -}}
{{- $pairs := list -}}
{{- range $k := keys .Values.agent.labels | sortAlpha -}}
{{- if ne $k "zone" -}}
{{- $pairs = append $pairs (printf "%s=%s" $k (index $.Values.agent.labels $k)) -}}
{{- end -}}
{{- end -}}
{{- join "," $pairs -}}
{{- end -}}
