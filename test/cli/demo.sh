#!/usr/bin/env bash
# Regenerates the example outputs in docs/cli.md: starts a local control plane, installs the CRDs,
# creates a small scenario and runs each subcommand through kubectl's plugin discovery.
# Usage: bash test/cli/demo.sh > /tmp/cli-demo.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/cli/demo-cluster.sh
kubectl apply -f crds/hostnamespaceexceptions.yaml >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd/hostnamespaceexceptions.hostns.io >/dev/null

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
exception() { # name namespace allow app expires-in last-review-ago reviewer owner ticket [enforced-controls]
  local review=''
  [ -n "$6" ] && review="  review: {lastReviewedAt: \"$(at "$6 ago")\", reviewedBy: $7}"
  kubectl apply -f - >/dev/null <<YAML
apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: $1, namespace: $2}
spec:
  owner: $8
  allow: [$3]
  podSelector: {matchLabels: {app: $4}}
  riskAcceptance:
    justification: needs the host namespace for node-level work ($4)
    acceptedBy: security-board
    acceptedAt: "$(at '1 day ago')"
    ticket: $9
    compensatingControls: [runs as non-root, all capabilities dropped]
${10:+    enforcedControls: [${10}]}
  expiresAt: "$(at "$5")"
$review
YAML
}
pod() { # name namespace app flags...
  local name=$1 ns=$2 app=$3; shift 3
  local spec=''
  for f in "$@"; do spec="$spec  $f: true"$'\n'; done
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: $ns, labels: {app: $app}}
spec:
$spec  containers: [{name: app, image: registry.k8s.io/pause:3.10}]
YAML
}
for ns in monitoring ci ops; do kubectl create namespace $ns >/dev/null; done
exception node-exporter monitoring hostNetwork node-exporter '60 days' '10 days' alice@example.com team-observability SEC-1042 'noPrivileged, noHostPath'
exception build-cache ci hostIPC build-cache '5 days' '' '' team-ci SEC-1107
exception debug-tools ops hostPID debug-tools '45 days' '' '' team-sre SEC-1113
pod node-exporter-7xq2d monitoring node-exporter hostNetwork
pod node-exporter-k9m4p monitoring node-exporter hostNetwork
pod build-cache-0 ci build-cache hostIPC
pod debug ops debug hostPID hostNetwork
pod kube-proxy-5tdzq kube-system kube-proxy hostNetwork
# the operator is not running: label one pod as it would, to show the LABELLED column
kubectl -n monitoring label pod node-exporter-7xq2d hostns.io/exception=node-exporter >/dev/null
kubectl -n monitoring annotate pod node-exporter-7xq2d hostns.io/exceptions=node-exporter >/dev/null

show() { echo "\$ $*"; set +e; "$@" 2>&1; echo "[exit status $?]"; set -e; echo; }
show kubectl hostns --version
show kubectl hostns review
show kubectl hostns review -n ops -o markdown
show kubectl hostns review -n monitoring -o json
show kubectl hostns review --fail-on-findings --within 3d
show kubectl hostns review --mark-reviewed debug-tools -n ops --by bob@example.com
show kubectl get hnse debug-tools -n ops -o jsonpath='{.spec.review}'
show kubectl hostns audit
show kubectl hostns audit -n monitoring -o json
show kubectl hostns scan test/cli/fixtures/scan/apps --now 2026-06-01T00:00:00Z
show kubectl hostns scan test/cli/fixtures/scan --now 2026-06-01T00:00:00Z
show kubectl hostns scan test/cli/fixtures/seeds/002-secure.yaml
cat test/cli/fixtures/seeds/003-vulnerable.yaml | show kubectl hostns scan - -o sarif
show kubectl hostns review --context nope
kubectl config view --raw | sed 's#server: .*#server: https://127.0.0.1:59999#' > "$log.unreachable"
show kubectl hostns audit --kubeconfig "$log.unreachable"
rm -f "$log.unreachable"
kubectl delete crd hostnamespaceexceptions.hostns.io >/dev/null
show kubectl hostns review
