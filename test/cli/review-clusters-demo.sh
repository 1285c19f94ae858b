#!/usr/bin/env bash
# Regenerates the "review across clusters" outputs in docs/cli.md: starts TWO local control planes,
# names their contexts prod-eu and prod-us in one merged KUBECONFIG, adds a context `staging`
# whose API server is gone, creates exceptions in each, and runs the review across them.
# Usage: bash test/cli/review-clusters-demo.sh > /tmp/review-clusters-demo.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# one control plane per cluster; its kubeconfig renamed so that the two merge side by side
start() { # name
  node_modules/.bin/node tools/controlplane/cluster.ts >"$work/$1.log" 2>/dev/null &
  pids+=($!)
}
ready() { # name
  for _ in $(seq 1 240); do grep -q '^KUBECONFIG=' "$work/$1.log" && break; sleep 0.5; done
  sed -e "s/hostns-local/$1/g" -e "s/hostns-admin/$1-admin/g" "$(sed -n 's/^KUBECONFIG=//p' "$work/$1.log")" >"$work/$1.kubeconfig"
  KUBECONFIG=$work/$1.kubeconfig kubectl apply -f crds/ >/dev/null
  KUBECONFIG=$work/$1.kubeconfig kubectl wait --for=condition=Established --timeout=60s crd \
    -l app.kubernetes.io/part-of=hostns-operator >/dev/null
}
start prod-eu
start prod-us
ready prod-eu
ready prod-us
# staging: prod-eu's credentials against a port nothing listens on
sed -e 's/prod-eu/staging/g' -e 's#server: .*#server: https://127.0.0.1:59999#' "$work/prod-eu.kubeconfig" >"$work/staging.kubeconfig"
export KUBECONFIG=$work/prod-eu.kubeconfig:$work/prod-us.kubeconfig:$work/staging.kubeconfig
export PATH=$root/bin:$PATH NO_COLOR=1

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
exception() { # context name namespace allow app expires-in owner ticket
  kubectl --context "$1" apply -f - >/dev/null <<YAML
apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: $2, namespace: $3}
spec:
  owner: $7
  allow: [$4]
  podSelector: {matchLabels: {app: $5}}
  riskAcceptance:
    justification: needs the host namespace for node-level work ($5)
    acceptedBy: security-board
    acceptedAt: "$(at '1 day ago')"
    ticket: $8
    compensatingControls: [runs as non-root]
  expiresAt: "$(at "$6")"
YAML
}
pod() { # context name namespace app flag
  kubectl --context "$1" apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: $2, namespace: $3, labels: {app: $4}}
spec:
  $5: true
  containers: [{name: app, image: registry.k8s.io/pause:3.10}]
YAML
}
for c in prod-eu prod-us; do kubectl --context $c create namespace monitoring >/dev/null; done
kubectl --context prod-us create namespace ci >/dev/null
exception prod-eu node-exporter monitoring hostNetwork node-exporter '60 days' team-observability SEC-1042
pod prod-eu node-exporter-7xq2d monitoring node-exporter hostNetwork
exception prod-us node-exporter monitoring hostNetwork node-exporter '20 days' team-observability SEC-1042
pod prod-us node-exporter-p4k8z monitoring node-exporter hostNetwork
exception prod-us build-cache ci hostIPC build-cache '45 days' team-ci SEC-1107

show() { echo "\$ $*"; set +e; "$@" 2>&1; echo "[exit status $?]"; set -e; echo; }
show kubectl config get-contexts -o name
show kubectl hostns review --context prod-eu --context prod-us
show kubectl hostns review --all-contexts
show kubectl hostns review --context prod-eu --context prod-us -n monitoring -o markdown
show kubectl hostns review --all-contexts -n monitoring -o json
show kubectl hostns review --context staging --context nope
