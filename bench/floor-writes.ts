// The lapse floors, as their own process: how fast this API server accepts the writes a lapse
// requires from a minimal client at the operator's concurrency. `--what events`: N
// events.k8s.io/v1 Events of the shape the operator sends (the Expired Event floor); `--what
// patches`: one metadata merge PATCH on each pod matching `--selector` in `--namespaces` (the
// relabel floor; the pods are listed before the clock starts). Each write's completion time,
// counted from the first request, is what "expiresAt -> write" would be if nothing but these
// writes had to happen. Prints one JSON line with the completion times (ms).
//
//   node bench/floor-writes.ts --kubeconfig <path> --what events --namespaces a,b --count 1000 --concurrency 16
//   node bench/floor-writes.ts --kubeconfig <path> --what patches --namespaces a,b --selector k=v --concurrency 16
import { parseArgs } from 'node:util';
import { Api, mapConcurrent, withRetry } from './minimal-client.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    what: { type: 'string', default: 'events' },
    namespaces: { type: 'string' },
    count: { type: 'string', default: '1000' },
    selector: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
  },
});
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const namespaces = (values.namespaces ?? '').split(',').filter(Boolean);
if (namespaces.length === 0) throw new Error('--namespaces is required (comma-separated)');
const count = Number(values.count);
const concurrency = Number(values.concurrency);
if (!(count >= 1) || !(concurrency >= 1)) throw new Error('--count and --concurrency must be positive numbers');
if (values.what !== 'events' && values.what !== 'patches') throw new Error('--what must be events or patches');
if (values.what === 'patches' && !values.selector) throw new Error('--what patches needs --selector');

const api = Api.fromKubeconfig(values.kubeconfig, concurrency);
const run = Date.now().toString(36);
const micro = (ms: number) => `${new Date(ms).toISOString().slice(0, -1)}000Z`;

const targets: { namespace: string; name: string }[] = [];
if (values.what === 'patches') {
  for (const ns of namespaces)
    await api.listPaged<{ metadata: { namespace: string; name: string } }>(
      `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(values.selector!)}`,
      (items) => targets.push(...items.map((p) => p.metadata)),
    );
} else
  for (let i = 0; i < count; i++) targets.push({ namespace: namespaces[i % namespaces.length]!, name: `floor-${i}` });

const patch = JSON.stringify({ metadata: { labels: { 'bench.hostns.io/floor': run } } });
const started = Date.now();
const doneAt = await mapConcurrent(targets, concurrency, async ({ namespace, name }, i) => {
  await withRetry(() =>
    values.what === 'patches'
      ? api.json('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}`, patch, 'application/merge-patch+json')
      : api.json('POST', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { name: `bench-floor-${run}-${i}`, namespace },
          eventTime: micro(Date.now()),
          type: 'Warning',
          reason: 'BenchFloor',
          action: 'Expire',
          reportingController: 'bench.hostns.io/floor',
          reportingInstance: 'bench',
          regarding: { apiVersion: 'hostns.io/v1alpha1', kind: 'HostNamespaceException', namespace, name },
          note: 'HostNamespaceException floor-x expired at 2026-01-01T00:00:00Z; pods it covered are offenders again',
        }),
  );
  return Date.now() - started;
});
api.close();
process.stdout.write(
  `${JSON.stringify({ what: values.what, count: targets.length, concurrency, totalMs: Date.now() - started, doneAt })}\n`,
);
