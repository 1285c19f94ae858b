// `npm run cluster`: a local control plane for people. Prints `KUBECONFIG=<path>` when ready and
// runs until interrupted; Ctrl-C (or SIGTERM) stops both processes and removes the data dir.
import { ControlPlane } from './controlplane.ts';

const cp = await ControlPlane.start({ verbose: true });
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`${signal}: stopping the control plane\n`);
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.stdout.write(`KUBECONFIG=${cp.kubeconfigPath}\n`);
process.stderr.write(`kube-apiserver at ${cp.server}; try: kubectl --kubeconfig ${cp.kubeconfigPath} get ns\n`);
setInterval(() => {}, 1 << 30); // keep running until a signal
