// The steady-state floor, as its own process: watch delivery plus the required write round trips
// by a minimal client. It watches one namespace's pods and, for each new pod using a host
// namespace, does what the operator must before the pod carries its mark: a PATCH of the label
// for a pod `--covered` selects, a violation Event and then the PATCH for an offender; at most
// `--concurrency` pods in work at once. The label it writes is `bench.hostns.io/floor-label`.
// Prints `ready` once watching, and one JSON line when it gets SIGTERM.
//
//   node bench/floor-steady.ts --kubeconfig <path> --namespace ns --covered team=t0 --concurrency 16
import { parseArgs } from 'node:util';
import { Api, withRetry } from './minimal-client.ts';

export const FLOOR_STEADY_LABEL = 'bench.hostns.io/floor-label';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    namespace: { type: 'string' },
    covered: { type: 'string', default: 'team=t0' },
    concurrency: { type: 'string', default: '16' },
  },
});
if (!values.kubeconfig || !values.namespace) throw new Error('--kubeconfig and --namespace are required');
const ns = values.namespace;
const concurrency = Number(values.concurrency);
const [ck, cv] = values.covered.split('=') as [string, string];
const api = Api.fromKubeconfig(values.kubeconfig, concurrency);

interface PodLite {
  metadata: { name: string; labels?: Record<string, string>; resourceVersion?: string };
  spec?: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean };
}
const seen = new Set<string>();
const queue: PodLite[] = [];
let active = 0;
let labelled = 0;
let events = 0;
const micro = (ms: number) => `${new Date(ms).toISOString().slice(0, -1)}000Z`;

async function handle(p: PodLite): Promise<void> {
  const { name } = p.metadata;
  if ((p.metadata.labels ?? {})[ck] !== cv) {
    await withRetry(() =>
      api.json('POST', `/apis/events.k8s.io/v1/namespaces/${ns}/events`, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: { name: `floor-${name}`, namespace: ns },
        eventTime: micro(Date.now()),
        type: 'Warning',
        reason: 'HostNamespaceViolation',
        action: 'Label',
        reportingController: 'bench.hostns.io/floor',
        reportingInstance: 'bench',
        regarding: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name },
        note: `Pod ${name} uses hostNetwork without a HostNamespaceException granting it (floor)`,
      }),
    );
    events++;
  }
  const patch = JSON.stringify({ metadata: { labels: { [FLOOR_STEADY_LABEL]: 'true' } } });
  await withRetry(() =>
    api.json('PATCH', `/api/v1/namespaces/${ns}/pods/${name}`, patch, 'application/merge-patch+json'),
  );
  labelled++;
}

function pump(): void {
  while (active < concurrency && queue.length > 0) {
    const p = queue.shift()!;
    active++;
    void handle(p)
      .catch((err: Error) => process.stderr.write(`floor-steady: ${err.message}\n`))
      .finally(() => {
        active--;
        pump();
      });
  }
}

function offer(p: PodLite): void {
  const s = p.spec;
  if (seen.has(p.metadata.name) || (!s?.hostNetwork && !s?.hostPID && !s?.hostIPC)) return;
  if ((p.metadata.labels ?? {})[FLOOR_STEADY_LABEL]) return;
  seen.add(p.metadata.name);
  queue.push(p);
  pump();
}

let rv = await api.listPaged<PodLite>(`/api/v1/namespaces/${ns}/pods`, (items) => items.forEach(offer));
const open = () => {
  const w = api.watch<PodLite>(`/api/v1/namespaces/${ns}/pods`, rv, (ev) => {
    if (ev.object.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
    if (ev.type === 'ADDED' || ev.type === 'MODIFIED') offer(ev.object);
  });
  void w.done.then(() => open());
  return w;
};
const watch = open();
await watch.started;
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  process.stdout.write(`${JSON.stringify({ labelled, events, queued: queue.length })}\n`);
  process.exit(0);
});
