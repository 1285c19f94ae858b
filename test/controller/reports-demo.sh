#!/usr/bin/env bash
# Regenerates the OpenReports outputs in docs/install.md: a local control plane with the CRDs and
# config/openreports, the operator run with --policy-reports, a small scenario, then the Reports.
# Usage: bash test/controller/reports-demo.sh > /tmp/reports-demo.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
log=$(mktemp)
node_modules/.bin/node tools/controlplane/cluster.ts >"$log" 2>/dev/null &
cp_pid=$!
op_pid=
trap '[ -n "$op_pid" ] && kill -TERM $op_pid 2>/dev/null; kill -TERM $cp_pid 2>/dev/null; wait 2>/dev/null || true; rm -f "$log"' EXIT
for _ in $(seq 1 240); do grep -q '^KUBECONFIG=' "$log" && break; sleep 0.5; done
export KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' "$log")
kubectl apply -f crds/ >/dev/null
kubectl apply -k config/openreports >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
node_modules/.bin/node src/main.ts --policy-reports --http-port 0 >"$log.operator" 2>&1 &
op_pid=$!

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
exception() { # name namespace allow app expires-in
  kubectl apply -f - >/dev/null <<YAML
apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: $1, namespace: $2}
spec:
  owner: team-observability
  allow: [$3]
  podSelector: {matchLabels: {app: $4}}
  riskAcceptance: {justification: needs the host namespace ($4), acceptedBy: security-board}
  expiresAt: "$(at "$5")"
YAML
}
pod() { # name namespace app flag
  kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $1, namespace: $2, labels: {app: $3}}
spec:
  $4: true
  containers: [{name: app, image: registry.k8s.io/pause:3.10}]
YAML
}
for ns in monitoring ops; do kubectl create namespace $ns >/dev/null; done
exception node-exporter monitoring hostNetwork node-exporter '60 days'
exception build-cache monitoring hostIPC build-cache '5 days'
pod node-exporter-7xq2d monitoring node-exporter hostNetwork
pod debug ops debug hostPID
for _ in $(seq 1 60); do [ "$(kubectl get reports -A --no-headers 2>/dev/null | wc -l)" -ge 2 ] && break; sleep 0.5; done
sleep 2

show() { echo "\$ $*"; set +e; "$@" 2>&1; echo "[exit status $?]"; set -e; echo; }
show kubectl get reports -A
show kubectl get pods -A -L hostns.io/violation,hostns.io/exception
show kubectl get report hostns-operator -n ops -o yaml
show kubectl get report hostns-operator -n monitoring -o jsonpath='{range .results[*]}{.result}{"\t"}{.policy}/{.rule}{"\t"}{.resources[0].kind}/{.resources[0].name}{"\t"}{.message}{"\n"}{end}'
rm -f "$log.operator"
