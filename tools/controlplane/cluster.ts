// `npm run cluster [-- --nodes N]`: a local cluster for people. Prints `KUBECONFIG=<path>` when
// ready and runs until interrupted; Ctrl-C (or SIGTERM) stops every process and removes the data
// dir. `--nodes N` adds N simulated nodes (KWOK), kube-scheduler and the workload controllers;
// `--pod-heartbeat 10s` then updates every running pod's status about that often (pod-heartbeat.ts).
import { parseArgs } from 'node:util';
import { ControlPlane } from './controlplane.ts';
import { parseNodeCount } from './nodes.ts';
import { parseHeartbeatInterval } from './pod-heartbeat.ts';

let nodes: number;
let podStatusHeartbeatMs: number | undefined;
try {
  const { values } = parseArgs({
    options: { nodes: { type: 'string', default: '0' }, 'pod-heartbeat': { type: 'string' } },
  });
  nodes = parseNodeCount(values.nodes);
  const beat = values['pod-heartbeat'];
  if (beat !== undefined) {
    if (!nodes) throw new Error('--pod-heartbeat: needs --nodes N (pods run on simulated nodes only)');
    podStatusHeartbeatMs = parseHeartbeatInterval(beat);
  }
} catch (err) {
  const usage = 'usage: npm run cluster [-- --nodes N [--pod-heartbeat 10s]]';
  process.stderr.write(`npm run cluster: ${(err as Error).message}\n${usage}\n`);
  process.exit(2);
}
const cp = await ControlPlane.start({ verbose: true, nodes, podStatusHeartbeatMs });
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${signal}: stopping the cluster\n`);
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.stdout.write(`KUBECONFIG=${cp.kubeconfigPath}\n`);
const what = nodes ? `kube-apiserver and ${nodes} nodes` : 'kube-apiserver';
process.stderr.write(`${what} at ${cp.server}; try: kubectl --kubeconfig ${cp.kubeconfigPath} get nodes,ns\n`);
setInterval(() => {}, 1 << 30); // keep running until a signal
