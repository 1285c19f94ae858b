// The churn floor: a plain watch of every pod, run as its own process as the operator is. It lists
// the pods, prints one JSON line with its CPU so far (`watching`), then parses every watch event and
// counts it, until SIGTERM, when it prints its counts and CPU as a last JSON line. The CPU between
// the two lines is what receiving the same events costs a client that does nothing with them.
//
//   node bench/floor-watch.ts --kubeconfig <path>
import { parseArgs } from 'node:util';
import { Api } from './minimal-client.ts';
import { listAndWatch } from './observe.ts';

const { values } = parseArgs({ options: { kubeconfig: { type: 'string' } } });
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const cpuSeconds = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
};

const api = Api.fromKubeconfig(values.kubeconfig, 4);
const events: Record<string, number> = {};
let listing = true;
const watched = await listAndWatch<{ metadata?: { resourceVersion?: string } }>(api, '/api/v1/pods', '', (ev) => {
  if (!listing) events[ev.type] = (events[ev.type] ?? 0) + 1;
});
listing = false;
const atWatch = cpuSeconds();
process.stdout.write(`${JSON.stringify({ phase: 'watching', cpuSeconds: atWatch })}\n`);
process.on('SIGTERM', () => {
  watched.stop();
  api.close();
  process.stdout.write(`${JSON.stringify({ phase: 'done', events, cpuSeconds: cpuSeconds() - atWatch })}\n`);
  process.exit(0);
});
