#!/usr/bin/env bash
# Regenerates the `kubectl hostns verify` outputs in docs/cli.md: a local control plane, the CRDs,
# the admission policy (config/admission) and the operator (which writes the grants from the
# exceptions), a few namespaces and exceptions, then verify in deny mode, warn mode, and with the
# binding removed. Usage: bash test/cli/verify-demo.sh > /tmp/verify-demo.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
log=$(mktemp)
op_log=$(mktemp)
node_modules/.bin/node test/controlplane/cluster.ts >"$log" 2>/dev/null &
cp_pid=$!
op_pid=
cleanup() {
  [ -n "$op_pid" ] && kill -TERM "$op_pid" 2>/dev/null && wait "$op_pid" 2>/dev/null || true
  kill -TERM $cp_pid 2>/dev/null; wait $cp_pid 2>/dev/null || true
  rm -f "$log" "$op_log"
}
trap cleanup EXIT
for _ in $(seq 1 600); do grep -q '^KUBECONFIG=' "$log" && break; sleep 0.5; done
export KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' "$log")
export PATH=$root/bin:$PATH NO_COLOR=1
kubectl apply -k config/crd >/dev/null
kubectl wait --for=condition=Established --timeout=60s crd -l app.kubernetes.io/part-of=hostns-operator >/dev/null
kubectl apply -k config/admission >/dev/null
node_modules/.bin/node src/main.ts --http-port 0 >"$op_log" 2>&1 &
op_pid=$!

at() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
exception() { # name namespace allow selector accepted expires (an exception created expired is Invalid)
  kubectl apply -f - >/dev/null <<YAML
apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: $1, namespace: $2}
spec:
  owner: team-sre
  allow: [$3]
  podSelector: $4
  riskAcceptance:
    justification: needs the host namespace for node-level work
    acceptedBy: security-board
    acceptedAt: "$(at "$5")"
  expiresAt: "$(at "$6")"
YAML
}
for ns in payments monitoring ops legacy; do kubectl create namespace $ns >/dev/null; done
kubectl label namespace legacy pod-security.kubernetes.io/enforce=baseline >/dev/null
exception node-exporter monitoring hostNetwork \
  '{matchLabels: {app: node-exporter}, matchExpressions: [{key: tier, operator: In, values: [node]}]}' '1 day ago' '60 days'
exception incident-4711 ops hostPID '{matchLabels: {app: debug-tools}}' '1 hour ago' '20 seconds'
lapse=$(date -u -d '22 seconds' +%s)
# payments-batch is exempted from the binding by hand (as docs/admission.md shows), not declared
# exempt to verify: the finding a forgotten exemption gives
kubectl create namespace payments-batch >/dev/null
for binding in hostns-host-namespaces hostns-grants-required; do # both, as docs/admission.md says
  kubectl patch validatingadmissionpolicybinding $binding --type=json \
    -p '[{"op":"add","path":"/spec/matchResources/namespaceSelector/matchExpressions/0/values/-","value":"payments-batch"}]' >/dev/null
done
# the operator has written the active grant when the node-exporter probe is admitted
for _ in $(seq 1 120); do
  kubectl get hostnamespacegrantsets grants -n monitoring -o jsonpath='{.spec.grants[0].exception}' 2>/dev/null |
    grep -q node-exporter && break
  sleep 0.5
done
sleep 2 # the policy's param informer
while [ "$(date -u +%s)" -lt "$lapse" ]; do sleep 1; done # incident-4711 has expired

show() { echo "\$ $*"; set +e; "$@" 2>&1; echo "[exit status $?]"; set -e; echo; }
show kubectl hostns verify
show kubectl hostns verify -n ops -o json
show kubectl hostns verify -n payments -n payments-batch --exempt-namespaces kube-system,payments-batch
# warn mode, as during a rollout (both bindings, as the component modes/warn does)
mode() {
  for binding in hostns-host-namespaces hostns-grants-required; do
    kubectl patch validatingadmissionpolicybinding $binding --type=merge -p "{\"spec\":{\"validationActions\":$1}}" >/dev/null
  done
}
mode '["Warn","Audit"]'
sleep 3
show kubectl hostns verify -n payments -n ops
show kubectl hostns verify -n payments -n ops --accept-warn
mode '["Deny","Audit"]'
# the operator down: a namespace created meanwhile has no grants object (nor index entry), and a
# grants object deleted meanwhile (on purpose, past the guard) leaves a stale index entry
kill -TERM "$op_pid"; wait "$op_pid" 2>/dev/null || true; op_pid=
kubectl create namespace new-team >/dev/null
kubectl annotate hostnamespacegrantsets grants -n payments hostns.io/allow-delete=true >/dev/null
kubectl delete hostnamespacegrantsets grants -n payments >/dev/null
sleep 3
show kubectl hostns verify -n payments -n new-team
# the binding deleted
kubectl delete validatingadmissionpolicybinding hostns-host-namespaces >/dev/null
sleep 3
show kubectl hostns verify -n payments -n legacy
echo "# pods stored anywhere after all of this:"
show kubectl get pods -A
