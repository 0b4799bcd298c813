{{/* The text of NOTES.txt, here so a test can render it with helm template (--api-versions): test/packaging/chart.test.ts. */}}
{{- define "vbs-csi.notes" -}}
{{- $fullname := include "vbs-csi.fullname" . -}}
vbs-csi {{ .Chart.AppVersion }} is installed as release "{{ .Release.Name }}" in namespace "{{ .Release.Namespace }}" (driver {{ .Values.driverName }}).

Check the install:
  kubectl -n {{ .Release.Namespace }} get pods -l app.kubernetes.io/instance={{ .Release.Name }} -o wide
  kubectl get csidriver {{ .Values.driverName }}
  kubectl get csinodes -o custom-columns=NODE:.metadata.name,DRIVERS:.spec.drivers[*].name
  kubectl -n {{ .Release.Namespace }} get endpoints {{ include "vbs-csi.agentServiceName" . }}   # one address per ready storage agent

The pods need, on the hosts:
  - every worker: iscsid running, a unique /etc/iscsi/initiatorname.iscsi, the iscsi_tcp module
    ({{ if .Values.node.loadKernelModules }}the node plugin loads it when it can; {{ end }}until it is there the node pod stays not ready, it does not restart);
  - storage nodes (nodes matching agent.nodeSelector): the volume group "{{ .Values.agent.vg }}" with
    thin pool "{{ .Values.agent.thinPool }}", configfs, and the modules dm_thin_pool, target_core_mod,
    target_core_iblock, iscsi_target_mod{{ if .Values.agent.loadKernelModules }} (the agent loads them when it can){{ end }}.
  A pod that stays not ready says why in its log:
    kubectl -n {{ .Release.Namespace }} logs ds/{{ $fullname }}-node -c vbs-csi
    kubectl -n {{ .Release.Namespace }} logs ds/{{ $fullname }}-agent -c vbs-csi
{{- if .Values.volumeSnapshotClass.create }}
{{- if .Capabilities.APIVersions.Has "snapshot.storage.k8s.io/v1/VolumeSnapshotClass" }}

Snapshots: VolumeSnapshotClass "{{ .Values.volumeSnapshotClass.name }}" is installed. The snapshot-controller must run in the
cluster too (it is not part of this chart):
  kubectl get pods -A -l app.kubernetes.io/name=snapshot-controller
{{- else }}

WARNING: no VolumeSnapshotClass was installed: this cluster does not serve snapshot.storage.k8s.io/v1
(the VolumeSnapshot CRDs are missing). Volumes work; snapshots, restores from snapshots and CDI's snapshot
clones do not. Install the CRDs and the snapshot-controller from kubernetes-csi/external-snapshotter
(client/config/crd and deploy/kubernetes/snapshot-controller), check with
  kubectl api-resources --api-group=snapshot.storage.k8s.io
then run `helm upgrade` of this release to add the class.
{{- end }}
{{- end }}
{{- end -}}
