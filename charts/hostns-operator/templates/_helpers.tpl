{{/*
Labels on every object: config/default's `app.kubernetes.io/part-of`, Helm's standard labels
(the only labels the kustomize comparison ignores) and the user's extraLabels.
*/}}
{{- define "hostns.labels" -}}
app.kubernetes.io/part-of: hostns-operator
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* The pods' selector labels: fixed, as in config/manager (a selector cannot change on upgrade). */}}
{{- define "hostns.selectorLabels" -}}
app.kubernetes.io/name: hostns-operator
app.kubernetes.io/component: manager
{{- end }}

{{- define "hostns.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ $tag }}
{{- end -}}
{{- end }}

{{/*
Objects of a file under files/ (copies of config/, kept identical by tools/ecosystem/sync-chart.sh
and test/chart/chart.test.ts), as a YAML list: the chart's labels merged in and namespaced objects
moved to the release namespace. Templates read it back with fromYamlArray to adjust fields.
Argument: (list $ "files/<name>.yaml").
*/}}
{{- define "hostns.configObjects" -}}
{{- $root := index . 0 -}}
{{- $objects := list -}}
{{- range $doc := regexSplit "(?m)^---[ \t]*$" ($root.Files.Get (index . 1)) -1 -}}
{{- $obj := fromYaml $doc -}}
{{- if $obj -}}
{{- $meta := $obj.metadata -}}
{{- $_ := set $meta "labels" (merge (include "hostns.labels" $root | fromYaml) ($meta.labels | default dict)) -}}
{{- if hasKey $meta "namespace" -}}{{- $_ := set $meta "namespace" $root.Release.Namespace -}}{{- end -}}
{{- $objects = append $objects $obj -}}
{{- end -}}
{{- end -}}
{{- toYaml $objects -}}
{{- end }}

{{/* Renders a list of objects as YAML documents. */}}
{{- define "hostns.documents" -}}
{{- range . }}
---
{{ toYaml . }}
{{- end }}
{{- end }}
