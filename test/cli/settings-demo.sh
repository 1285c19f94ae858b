#!/usr/bin/env bash
# Regenerates the outputs of "Policy settings: the operator's, not the CLI's" in docs/cli.md: a
# local control plane, the CRDs, an operator run with --expiring-soon 10m and its own exempt
# namespaces, then kubectl hostns without flags, with a flag, with a forged value, and offline.
# Usage: bash test/cli/settings-demo.sh > /tmp/settings-demo.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
source test/cli/demo-cluster.sh
op_pid=''
trap '[ -n "$op_pid" ] && kill -TERM "$op_pid" 2>/dev/null; stop_demo_cluster' EXIT
kubectl apply -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd --all >/dev/null
for ns in monitoring node-agents; do kubectl create namespace $ns >/dev/null; done
at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
kubectl apply -f - >/dev/null <<YAML
apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: node-exporter, namespace: monitoring}
spec:
  owner: team-observability
  allow: [hostNetwork]
  podSelector: {matchLabels: {app: node-exporter}}
  riskAcceptance:
    justification: scrapes node network statistics from the host namespace
    acceptedBy: security-board
    acceptedAt: "$(at '1 day ago')"
    ticket: SEC-1042
  expiresAt: "$(at '2 hours')"
---
apiVersion: v1
kind: Pod
metadata: {name: agent-0, namespace: node-agents, labels: {app: agent}}
spec: {hostNetwork: true, containers: [{name: app, image: registry.k8s.io/pause:3.10}]}
YAML

run() { echo "\$ $*"; set +e; "$@" 2>&1; echo "[exit status $?]"; set -e; echo; }
run kubectl hostns review -n monitoring
node_modules/.bin/node src/main.ts --http-port 0 --identity hostns-operator-6f7c9-x2x8q \
  --expiring-soon 10m --exempt-namespaces kube-system,node-agents >/tmp/settings-demo-operator.log 2>&1 &
op_pid=$!
for _ in $(seq 1 120); do
  kubectl get hostnamespacegrantindexes cluster -o jsonpath='{.metadata.annotations}' 2>/dev/null | grep -q policy-settings && break
  sleep 0.5
done
sleep 2
run kubectl get hostnamespacegrantindexes cluster -o jsonpath='{.metadata.annotations.hostns\.io/policy-settings}{"\n"}'
run kubectl get hnse -n monitoring
run kubectl hostns review -n monitoring
run kubectl hostns audit -n node-agents
run kubectl hostns review -n monitoring --expiring-soon 7d
kill -TERM "$op_pid"; wait "$op_pid" 2>/dev/null || true; op_pid=''
kubectl annotate --overwrite hostnamespacegrantindexes cluster \
  'hostns.io/policy-settings={"version":1,"settings":{"expiringSoon":600}}' >/dev/null
run kubectl hostns review -n monitoring
echo 'apiVersion: v1
kind: Pod
metadata: {name: agent-0, namespace: node-agents}
spec: {hostNetwork: true, containers: [{name: app, image: registry.k8s.io/pause:3.10}]}' >/tmp/settings-demo-pod.yaml
run kubectl hostns scan /tmp/settings-demo-pod.yaml
