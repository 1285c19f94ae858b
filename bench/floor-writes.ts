// The lapse floors, as their own process: how fast this API server accepts the writes a lapse
// requires from a minimal client at the operator's concurrency. `--what events`: N
// events.k8s.io/v1 Events of the shape the operator sends (the Expired Event floor); `--what
// patches`: one metadata merge PATCH on each pod matching `--selector` in `--namespaces` (the
// relabel floor; the pods are listed before the clock starts). Each write's completion time,
// counted from the first request, is what "expiresAt -> write" would be if nothing but these
// writes had to happen. `--what lapse`: the writes a lapse requires, in the operator's order: an
// Expired Event on each exception matching `--selector`, then for each such pod its violation
// Event, the same on its workload (its controller reference) and the label PATCH; `doneAt` are the
// pods' (relabel) times. The exceptions' status writes are left out: a minimal client cannot write
// them while the operator runs without the operator restoring them, and leaving them out makes
// the floor faster, so it can only make the operator's ratio worse. Prints one JSON line with the
// completion times (ms).
//
//   node bench/floor-writes.ts --kubeconfig <path> --what events --namespaces a,b --count 1000 --concurrency 16
//   node bench/floor-writes.ts --kubeconfig <path> --what patches --namespaces a,b --selector k=v --concurrency 16
//   node bench/floor-writes.ts --kubeconfig <path> --what lapse --namespaces a,b --selector k=v --concurrency 16
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
if (!['events', 'patches', 'lapse'].includes(values.what!)) throw new Error('--what must be events, patches or lapse');
if (values.what !== 'events' && !values.selector) throw new Error(`--what ${values.what} needs --selector`);

const api = Api.fromKubeconfig(values.kubeconfig, concurrency);
const run = Date.now().toString(36);
const micro = (ms: number) => `${new Date(ms).toISOString().slice(0, -1)}000Z`;

type Ref = { apiVersion: string; kind: string; namespace: string; name: string; uid?: string };
type Meta = { namespace: string; name: string; uid?: string; ownerReferences?: Omit<Ref, 'namespace'>[] };
const listed = async (path: (ns: string) => string) => {
  const out: Meta[] = [];
  for (const ns of namespaces)
    await api.listPaged<{ metadata: Meta }>(
      `${path(ns)}?labelSelector=${encodeURIComponent(values.selector!)}`,
      (items) => out.push(...items.map((p) => p.metadata)),
    );
  return out;
};
const pods = values.what === 'events' ? [] : await listed((ns) => `/api/v1/namespaces/${ns}/pods`);
const exceptions =
  values.what === 'lapse'
    ? await listed((ns) => `/apis/hostns.io/v1alpha1/namespaces/${ns}/hostnamespaceexceptions`)
    : [];
const eventTargets: Ref[] =
  values.what === 'events'
    ? Array.from({ length: count }, (_, i) => ({
        apiVersion: 'hostns.io/v1alpha1',
        kind: 'HostNamespaceException',
        namespace: namespaces[i % namespaces.length]!,
        name: `floor-${i}`,
      }))
    : exceptions.map((e) => ({ apiVersion: 'hostns.io/v1alpha1', kind: 'HostNamespaceException', ...e }));

const patch = JSON.stringify({ metadata: { labels: { 'bench.hostns.io/floor': run } } });
let seq = 0;
const postEvent = (regarding: Ref) =>
  withRetry(() =>
    api.json('POST', `/apis/events.k8s.io/v1/namespaces/${regarding.namespace}/events`, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `bench-floor-${run}-${seq++}`, namespace: regarding.namespace },
      eventTime: micro(Date.now()),
      type: 'Warning',
      reason: 'BenchFloor',
      action: 'Expire',
      reportingController: 'bench.hostns.io/floor',
      reportingInstance: 'bench',
      regarding,
      note: 'HostNamespaceException floor-x expired at 2026-01-01T00:00:00Z; pods it covered are offenders again',
    }),
  );
const patchPod = (p: Meta) =>
  withRetry(() =>
    api.json('PATCH', `/api/v1/namespaces/${p.namespace}/pods/${p.name}`, patch, 'application/merge-patch+json'),
  );
const relabel = async (p: Meta) => {
  if (values.what === 'lapse') {
    await postEvent({ apiVersion: 'v1', kind: 'Pod', ...p });
    const owner = p.ownerReferences?.[0];
    if (owner) await postEvent({ ...owner, namespace: p.namespace });
  }
  await patchPod(p);
};

type Item = { event: Ref } | { pod: Meta };
const items: Item[] =
  values.what === 'patches' ? pods.map((pod) => ({ pod })) : eventTargets.map((event) => ({ event }));
if (values.what === 'lapse') items.push(...pods.map((pod) => ({ pod })));
const started = Date.now();
const times = await mapConcurrent(items, concurrency, async (item) => {
  if ('event' in item) await postEvent(item.event);
  else await relabel(item.pod);
  return Date.now() - started;
});
api.close();
// `doneAt`: the pods' times for patches and lapse, the Events' for events; `eventsDoneAt`: lapse's Expired Events.
const doneAt = times.filter((_, i) => (values.what === 'events' ? true : 'pod' in items[i]!));
const eventsDoneAt = values.what === 'lapse' ? times.filter((_, i) => 'event' in items[i]!) : undefined;
process.stdout.write(
  `${JSON.stringify({ what: values.what, count: items.length, concurrency, totalMs: Date.now() - started, doneAt, eventsDoneAt })}\n`,
);
