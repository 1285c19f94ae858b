# Sourced by the demo scripts (from the repository root): starts a local control plane, stopped on
# exit (stop_demo_cluster; a script with its own EXIT trap calls it there), exports its KUBECONFIG,
# and puts bin/ on PATH so kubectl finds the plugin. Sets `log` (the control plane's output) and `root`.
root=$PWD
log=$(mktemp)
node_modules/.bin/node tools/controlplane/cluster.ts >"$log" 2>/dev/null &
cp_pid=$!
stop_demo_cluster() { kill -TERM "$cp_pid" 2>/dev/null; wait "$cp_pid" 2>/dev/null || true; rm -f "$log"; }
trap stop_demo_cluster EXIT
for _ in $(seq 1 240); do grep -q '^KUBECONFIG=' "$log" && break; sleep 0.5; done
KUBECONFIG=$(sed -n 's/^KUBECONFIG=//p' "$log")
export KUBECONFIG PATH=$root/bin:$PATH NO_COLOR=1
