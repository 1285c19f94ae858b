// The startup floor, run as its own process exactly as the operator is: a minimal client doing
// the same required work as the operator's startup. A paged LIST of every pod and of the
// exceptions, then, `--concurrency` requests in flight, every write the mission requires: one
// metadata merge PATCH per pod using a host namespace (the label), one violation Event per
// offender (a host pod no live exception covers) and one on its workload per distinct (workload,
// cause) (the operator's Event on the Deployment, DaemonSet... its pods' controller; the cause here
// is the set of host namespaces used), one Event and one status write per exception,
// and one grants write per namespace holding exceptions (a ConfigMap of the same names, standing
// in for the HostNamespaceGrantSet) plus the index. Its writes carry bench names and labels, so
// they never satisfy the operator. It prints one JSON line.
//
//   node bench/floor-startup.ts --kubeconfig <path> --concurrency 16 --value <run-unique>
//   node bench/floor-startup.ts --kubeconfig <path> --list-only   the paged LIST alone (relist floor)
import { parseArgs } from 'node:util';
import { Api, mapConcurrent, withRetry } from './minimal-client.ts';
import { FLOOR_GRANTS_LABEL } from './fixture.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    value: { type: 'string', default: String(Date.now()) },
    'page-size': { type: 'string', default: '500' },
    'list-only': { type: 'boolean', default: false },
  },
});
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const concurrency = Number(values.concurrency);
if (!(concurrency >= 1)) throw new Error(`--concurrency must be a positive number, got ${values.concurrency}`);
const run = values.value.replace(/[^a-z0-9-]/gi, '').toLowerCase();

interface PodLite {
  metadata: {
    namespace: string;
    name: string;
    labels?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; controller?: boolean }[];
  };
  spec?: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean };
}
interface ExceptionLite {
  metadata: { namespace: string; name: string; generation?: number };
  spec?: { podSelector?: { matchLabels?: Record<string, string> }; expiresAt?: string; allow?: string[] };
}

const startedAt = Date.now();
const api = Api.fromKubeconfig(values.kubeconfig, concurrency);
const exceptions: ExceptionLite[] = [];
await api.listPaged<ExceptionLite>('/apis/hostns.io/v1alpha1/hostnamespaceexceptions', (items) =>
  exceptions.push(...items),
);
const live = exceptions.filter((e) => !e.spec?.expiresAt || Date.parse(e.spec.expiresAt) > Date.now());
const byNamespace = new Map<string, ExceptionLite[]>();
for (const e of live) byNamespace.set(e.metadata.namespace, [...(byNamespace.get(e.metadata.namespace) ?? []), e]);
const coveredPods = new Map<ExceptionLite, number>();

type Write = () => Promise<unknown>;
const writes: Write[] = [];
const micro = (ms: number) => `${new Date(ms).toISOString().slice(0, -1)}000Z`;
const event = (namespace: string, kind: string, name: string, reason: string, apiVersion: string) => {
  const id = `floor-${run}-${writes.length}`;
  return () =>
    api.json('POST', `/apis/events.k8s.io/v1/namespaces/${namespace}/events`, {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: id, namespace },
      eventTime: micro(Date.now()),
      type: 'Warning',
      reason,
      action: 'Label',
      reportingController: 'bench.hostns.io/floor',
      reportingInstance: 'bench',
      regarding: { apiVersion, kind, namespace, name },
      note: `Pod ${name} uses hostNetwork without a HostNamespaceException granting it (floor)`,
    });
};
const patch = JSON.stringify({ metadata: { labels: { 'bench.hostns.io/floor': run } } });
let pods = 0;
let offenders = 0;
/** Workloads (namespace/kind/name/cause) whose Event is planned: one each, however many offending pods. */
const workloads = new Set<string>();
let labelled = 0;
await api.listPaged<PodLite>(
  '/api/v1/pods',
  (items) => {
    pods += items.length;
    for (const p of items) {
      const s = p.spec;
      if (!s?.hostNetwork && !s?.hostPID && !s?.hostIPC) continue;
      const { namespace, name } = p.metadata;
      const labels = p.metadata.labels ?? {};
      const cover = (byNamespace.get(namespace) ?? []).find((e) =>
        Object.entries(e.spec?.podSelector?.matchLabels ?? {}).every(([k, v]) => labels[k] === v),
      );
      if (cover) coveredPods.set(cover, (coveredPods.get(cover) ?? 0) + 1);
      else {
        offenders++;
        writes.push(event(namespace, 'Pod', name, 'HostNamespaceViolation', 'v1'));
        const owner = p.metadata.ownerReferences?.find((o) => o.controller);
        const flags = [s.hostNetwork && 'hostNetwork', s.hostPID && 'hostPID', s.hostIPC && 'hostIPC'].filter(Boolean);
        const workload = owner && `${namespace}/${owner.kind}/${owner.name}/${flags.join(',')}`;
        if (owner && workload && !workloads.has(workload)) {
          workloads.add(workload);
          writes.push(event(namespace, owner.kind, owner.name, 'HostNamespaceViolation', owner.apiVersion));
        }
      }
      labelled++;
      writes.push(() =>
        api.json('PATCH', `/api/v1/namespaces/${namespace}/pods/${name}`, patch, 'application/merge-patch+json'),
      );
    }
  },
  Number(values['page-size']),
);
const listedAt = Date.now();
if (values['list-only']) {
  // The relist floor: what reading every pod costs a minimal client, in time and memory.
  api.close();
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({ pods, listMs: listedAt - startedAt, cpuSeconds: (cpu.user + cpu.system) / 1e6, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`,
  );
  process.exit(0);
}
for (const e of live) {
  const { namespace, name, generation } = e.metadata;
  writes.push(event(namespace, 'HostNamespaceException', name, 'Activated', 'hostns.io/v1alpha1'));
  const status = {
    status: { phase: 'Active', observedGeneration: generation ?? 1, coveredPods: coveredPods.get(e) ?? 0 },
  };
  writes.push(() =>
    api.json(
      'PATCH',
      `/apis/hostns.io/v1alpha1/namespaces/${namespace}/hostnamespaceexceptions/${name}/status`,
      status,
      'application/merge-patch+json',
    ),
  );
}
const grants = (namespace: string, names: string[]) => () =>
  api.json('POST', `/api/v1/namespaces/${namespace}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `floor-grants-${run}`, namespace, labels: { [FLOOR_GRANTS_LABEL]: 'true' } },
    data: { grants: JSON.stringify(names) },
  });
for (const [namespace, list] of byNamespace)
  writes.push(
    grants(
      namespace,
      list.map((e) => e.metadata.name),
    ),
  );
writes.push(grants('default', [...byNamespace.keys()]));
await mapConcurrent(writes, concurrency, (w) => withRetry(w));
const doneAt = Date.now();
api.close();
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({
    pods,
    labelled,
    offenders,
    workloadEvents: workloads.size,
    exceptions: live.length,
    writes: writes.length,
    listMs: listedAt - startedAt,
    writeMs: doneAt - listedAt,
    inProcessMs: doneAt - startedAt,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  })}\n`,
);
