// Peak resident memory of the operator in its production form against an existing cluster, for
// one set of options: to measure an option (Node flags, environment, operator flags) before
// putting it into config/manager. Starts dist/main.js with the manager's NODE_OPTIONS (or
// --node-options), waits for /readyz, and prints one JSON line: VmHWM and VmRSS (/proc) at ready
// and 10 s later, and /debug/heap. A cluster that stays up: npm run bench -- --cluster-dir DIR.
//
//   node bench/memory-probe.ts --kubeconfig <path> [--node-options="--max-old-space-size=128"]
//        [--env MALLOC_ARENA_MAX=2] [--arg=--list-page-size=100]
import { parseArgs } from 'node:util';
import { OperatorProcess } from '../tools/operator-process.ts';
import { productionForm } from './production.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    'node-options': { type: 'string' },
    env: { type: 'string', multiple: true },
    arg: { type: 'string', multiple: true },
    'timeout-seconds': { type: 'string', default: '900' },
  },
});
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const form = productionForm();
const nodeArgs = values['node-options']?.split(/\s+/).filter(Boolean) ?? form.nodeArgs;
const env: Record<string, string> = { ...form.env };
for (const kv of values.env ?? []) {
  const eq = kv.indexOf('=');
  if (eq <= 0) throw new Error(`--env: ${JSON.stringify(kv)} is not NAME=value`);
  env[kv.slice(0, eq)] = kv.slice(eq + 1);
}
// Without --leader-elect: the probe needs no Lease namespace; everything else as the manager runs.
const args = [
  ...form.args.filter((a) => a !== '--leader-elect' && !a.startsWith('--log-level')),
  ...(values.arg ?? []),
];
const op = await OperatorProcess.start({
  kubeconfig: values.kubeconfig,
  entry: form.entry,
  nodeArgs: [...nodeArgs, '--expose-gc'],
  env,
  args,
  logLevel: 'warn',
});
try {
  await op.waitReady(Number(values['timeout-seconds']) * 1000);
  const atReady = op.memory();
  await new Promise((r) => setTimeout(r, 10_000));
  const later = op.memory();
  const heap = JSON.parse((await op.get('/debug/heap', 60_000)).text) as Record<string, unknown>;
  const mib = (b: number | undefined) => (b === undefined ? undefined : Math.round(b / 2 ** 20));
  process.stdout.write(
    `${JSON.stringify({
      nodeArgs,
      env: values.env ?? [],
      args: values.arg ?? [],
      readyMs: op.readyAt! - op.startedAt,
      peakRssMiBAtReady: mib(atReady?.peakRss),
      peakRssMiB10s: mib(later?.peakRss),
      rssMiB10s: mib(later?.rss),
      heapUsedMiB: mib(heap.heapUsed as number),
      heapTotalMiB: mib(heap.heapTotal as number),
      cachedPods: heap.cachedPods,
    })}\n`,
  );
} finally {
  await op.stop();
}
