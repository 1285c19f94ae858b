// The lapse floor, as its own process: how fast this API server accepts N events.k8s.io/v1 Events
// (the shape the operator sends) from a minimal client at the operator's concurrency. Each
// Event's completion time from the start is what "expiresAt -> Event" would be if nothing but the
// Event creations had to happen. Prints one JSON line with the completion times (ms).
//
//   node bench/floor-events.ts --kubeconfig <path> --namespaces a,b,c --count 1000 --concurrency 16
import { parseArgs } from 'node:util';
import { Api, mapConcurrent, withRetry } from './minimal-client.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    namespaces: { type: 'string' },
    count: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '16' },
  },
});
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const namespaces = (values.namespaces ?? '').split(',').filter(Boolean);
if (namespaces.length === 0) throw new Error('--namespaces is required (comma-separated)');
const count = Number(values.count);
const concurrency = Number(values.concurrency);
if (!(count >= 1) || !(concurrency >= 1)) throw new Error('--count and --concurrency must be positive numbers');

const api = Api.fromKubeconfig(values.kubeconfig, concurrency);
const run = Date.now().toString(36);
const micro = (ms: number) => `${new Date(ms).toISOString().slice(0, -1)}000Z`;
const started = Date.now();
const doneAt = await mapConcurrent(
  Array.from({ length: count }, (_, i) => i),
  concurrency,
  async (i) => {
    const namespace = namespaces[i % namespaces.length]!;
    await withRetry(() =>
      api.json('POST', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `bench-floor-${run}-${i}`, namespace },
        eventTime: micro(Date.now()),
        type: 'Warning',
        reason: 'BenchFloor',
        action: 'Expire',
        reportingController: 'bench.hostns.io/floor',
        reportingInstance: 'bench',
        regarding: { apiVersion: 'hostns.io/v1alpha1', kind: 'HostNamespaceException', namespace, name: `floor-${i}` },
        note: 'HostNamespaceException floor-x expired at 2026-01-01T00:00:00Z; pods it covered are offenders again',
      }),
    );
    return Date.now() - started;
  },
);
api.close();
process.stdout.write(`${JSON.stringify({ count, concurrency, totalMs: Date.now() - started, doneAt })}\n`);
