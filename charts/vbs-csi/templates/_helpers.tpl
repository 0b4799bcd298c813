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

{{/* Certificates: "generate" | "certManager" | "external" (docs/security.md, "Certificates issued in the cluster"). */}}
{{- define "vbs-csi.certSource" -}}
{{- $s := .Values.certificates.source -}}
{{- if not (has $s (list "generate" "certManager" "external")) -}}
{{- fail (printf "certificates.source %q: expected generate, certManager or external" $s) -}}
{{- end -}}
{{- $s -}}
{{- end -}}

{{/* "true" when agents and node plugins get their certificates from the controller through CertificateSigningRequests. */}}
{{- define "vbs-csi.inClusterIssuance" -}}
{{- if ne (include "vbs-csi.certSource" .) "external" }}true{{ end -}}
{{- end -}}

{{/* The cluster CA Secret (kubernetes.io/tls: tls.crt, tls.key) the controller signs with. */}}
{{- define "vbs-csi.caSecretName" -}}
{{- printf "%s-ca" (include "vbs-csi.fullname" .) -}}
{{- end -}}

{{/*
The generated cluster CA as JSON {"crt","key"}: the existing Secret's when `lookup` finds it (an upgrade keeps
the CA, so no certificate issued from it is invalidated), else a new ECDSA P-256 CA (vbs-csi signs with P-256
keys only). Cached in .Values for this render, so the Secret and the pods' checksum annotation agree.
*/}}
{{- define "vbs-csi.generatedCa" -}}
{{- if not (hasKey .Values "vbsCsiGeneratedCa") -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace (include "vbs-csi.caSecretName" .) -}}
{{- if and $existing (hasKey ($existing.data | default dict) "tls.key") -}}
{{- $_ := set .Values "vbsCsiGeneratedCa" (dict "crt" (index $existing.data "tls.crt" | b64dec) "key" (index $existing.data "tls.key" | b64dec)) -}}
{{- else -}}
{{- $ca := genCAWithKey "vbs-csi cluster CA" (int .Values.certificates.generate.caValidityDays) (genPrivateKey "ecdsa") -}}
{{- $_ := set .Values "vbsCsiGeneratedCa" (dict "crt" $ca.Cert "key" $ca.Key) -}}
{{- end -}}
{{- end -}}
{{- .Values.vbsCsiGeneratedCa | toJson -}}
{{- end -}}

{{/* Annotation that restarts a pod when the cluster CA changes (its certificate came from the old one). */}}
{{- define "vbs-csi.caChecksum" -}}
{{- $src := include "vbs-csi.certSource" . -}}
{{- if eq $src "generate" -}}
{{- (include "vbs-csi.generatedCa" . | fromJson).crt | sha256sum -}}
{{- else if eq $src "certManager" -}}
{{- $s := lookup "v1" "Secret" .Release.Namespace (include "vbs-csi.caSecretName" .) -}}
{{- (index ($s.data | default dict) "tls.crt") | default "" | sha256sum -}}
{{- end -}}
{{- end -}}

{{/* The CHAP key Secret's value: kept when `lookup` finds it (every CHAP secret derives from it), else 48 random characters. */}}
{{- define "vbs-csi.generatedChapKey" -}}
{{- $existing := lookup "v1" "Secret" .Release.Namespace .Values.secrets.chap.name -}}
{{- if and $existing (hasKey ($existing.data | default dict) "key") -}}
{{- index $existing.data "key" | b64dec -}}
{{- else -}}
{{- randAscii 48 -}}
{{- end -}}
{{- end -}}

{{/*
A postStart hook for the driver container of a pod with sidecars, listed before them: the kubelet starts a pod's
containers in order and the next only once this hook has returned, so the sidecars start when the CSI
socket exists. Without it a slow start outlasts the sidecars' 30 s connect timeout (csi-lib-utils
connection.Connect, https://github.com/kubernetes-csi/csi-lib-utils/blob/v0.25.0/connection/connection.go#L80)
and they crash-loop, their back-off growing to minutes: node strips the sources' types as it loads them
(a minute or more on an emulated or overloaded node), and an agent serves only once the controller has
signed its certificate (docs/health.md). Limited to the startup probe's 5 minutes: the kubelet's pod
worker runs the hook, and a hook that never returned would also hold back the probes' restart of a hung
start; past it the hook fails and the kubelet restarts the container (event FailedPostStartHook).
*/}}
{{- define "vbs-csi.waitForSocket" -}}
lifecycle:
  postStart:
    exec:
      command: ["sh", "-c", "for i in $(seq 300); do [ -S {{ . }} ] && exit 0; sleep 1; done; echo 'no CSI socket at {{ . }} after 300 s' >&2; exit 1"]
{{- end }}

{{/*
The probes of a controller sidecar on its HTTP port (argument: the port's name). Liveness fails when
this replica holds the lease but no longer renews it, so a stuck leader restarts. The sidecar serves
HTTP only after it has reached the driver and started its informers: over a minute when the node is
slow (under emulation in the test bed, docs/health.md), longer than liveness allows. The startup probe
gives it 5 minutes before liveness counts, as the driver's own container has.
*/}}
{{- define "vbs-csi.sidecarProbes" -}}
startupProbe:
  httpGet:
    path: /healthz/leader-election
    port: {{ . }}
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 60
livenessProbe:
  httpGet:
    path: /healthz/leader-election
    port: {{ . }}
  periodSeconds: 20
  timeoutSeconds: 10
  failureThreshold: 3
{{- end }}
