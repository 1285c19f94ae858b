// `npm run cluster [-- --nodes N]`: a local cluster for people. Prints `KUBECONFIG=<path>` when
// ready and runs until interrupted; Ctrl-C (or SIGTERM) stops every process and removes the data
// dir. `--nodes N` adds N simulated nodes (KWOK), kube-scheduler and the workload controllers.
import { parseArgs } from 'node:util';
import { ControlPlane } from './controlplane.ts';
import { parseNodeCount } from './nodes.ts';

let nodes: number;
try {
  const { values } = parseArgs({ options: { nodes: { type: 'string', default: '0' } } });
  nodes = parseNodeCount(values.nodes);
} catch (err) {
  process.stderr.write(`npm run cluster: ${(err as Error).message}\nusage: npm run cluster [-- --nodes N]\n`);
  process.exit(2);
}
const cp = await ControlPlane.start({ verbose: true, nodes });
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
