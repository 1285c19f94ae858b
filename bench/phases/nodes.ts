// The nodes world (issue 15): N simulated nodes (KWOK), host-network DaemonSets on every node and
// Deployments making up the rest of the pods, KWOK updating every running pod's status at a set
// interval as kubelets do. Each figure is taken against its floor in the same run:
//   startup    operator start to converged (every DaemonSet pod labelled, queue empty) vs a minimal
//              client's LIST + one PATCH per host-network pod (bench/floor-startup.ts);
//   churn      operator CPU seconds, API requests, reconciles per 1,000 pod status updates vs a plain
//              watch of the same events (bench/floor-watch.ts), both running through the same window;
//   lapse      one exception covering a whole DaemonSet lapses: expiresAt -> its Expired Event, ->
//              every pod of the DaemonSet relabelled, -> the Event on the DaemonSet, vs the same number
//              of PATCHes by a minimal client.
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { exceptionManifest, LABEL_EXCEPTION, LABEL_VIOLATION, rfc3339Seconds } from '../fixture.ts';
import { type Api, mapConcurrent, withRetry } from '../minimal-client.ts';
import { listAndWatch, Milestone, timeout, type PodObj } from '../observe.ts';
import { httpGet, metricSum, type OperatorProcess } from '../../tools/operator-process.ts';
import { cpuSeconds } from '../procstat.ts';
import { runChild, sleep } from './common.ts';

export interface NodesWorldOptions {
  nodes: number;
  /** Host-network DaemonSets (one pod per node each): the first is covered by an exception, the rest are not. */
  daemonSets: number;
  /** Pods in all, DaemonSets' included; Deployments of `replicasPerDeployment` make up the rest. */
  pods: number;
  replicasPerDeployment: number;
  heartbeatMs: number;
  churnSeconds: number;
  lapseLeadSeconds: number;
  patchConcurrency: number;
  adminKubeconfig: string;
  startOperator: () => Promise<OperatorProcess>;
  log: (msg: string) => void;
}

export interface NodesWorldResult {
  world: {
    nodes: number;
    daemonSetPods: number;
    deploymentPods: number;
    podsRunning: number;
    createSeconds: number;
    heartbeatSeconds: number;
  };
  startup?: { operatorMs: number; floorMs: number; floor: unknown; loadAverage: number[] };
  churn?: {
    seconds: number;
    statusUpdates: number;
    operator: {
      cpuSeconds: number;
      requests: Record<string, number>;
      reconciles: number;
      watchEvents: Record<string, number>;
    };
    floor: { cpuSeconds: number; events: Record<string, number> };
    per1000: { operatorCpuSeconds: number; floorCpuSeconds: number; operatorRequests: number; operatorWrites: number };
    loadAverage: number[];
  };
  lapse?: {
    pods: number;
    expiredEventMs?: number;
    allRelabelledMs?: number;
    relabelled: number;
    operatorWrites: Record<string, number>;
    floorPatchMs: number;
    loadAverage: number[];
    /** expiresAt -> the HostNamespaceViolation Event on the DaemonSet itself. */
    workloadEventMs?: number;
  };
}

export const WORLD_NS = 'bench-world';
const loadAverage = async () => Promise.resolve(loadavg().map((v) => Math.round(v * 100) / 100));
const dsName = (i: number) => `node-agent-${i}`;

/** A DaemonSet (host network, one pod per node) or a Deployment of `replicas` plain pods. */
function workload(kind: 'DaemonSet' | 'Deployment', name: string, replicas?: number): object {
  const labels = { app: name };
  const container = { name: 'app', image: 'registry.k8s.io/pause:3.10' };
  const spec = kind === 'DaemonSet' ? { hostNetwork: true, containers: [container] } : { containers: [container] };
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace: WORLD_NS },
    spec: {
      ...(replicas === undefined ? {} : { replicas }),
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec },
    },
  };
}

async function createIfMissing(api: Api, path: string, body: object): Promise<void> {
  const r = await withRetry(() => api.raw('POST', path, body));
  if (r.status >= 300 && r.status !== 409) throw new Error(`POST ${path}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
}

/** Ready pods of the world's workloads, from their controllers' status (no pod LIST). */
async function readyPods(api: Api): Promise<number> {
  const ds = await api.get<{ items: { status?: { numberReady?: number } }[] }>(
    `/apis/apps/v1/namespaces/${WORLD_NS}/daemonsets`,
  );
  const deps = await api.get<{ items: { status?: { readyReplicas?: number } }[] }>(
    `/apis/apps/v1/namespaces/${WORLD_NS}/deployments`,
  );
  return (
    ds.items.reduce((s, d) => s + (d.status?.numberReady ?? 0), 0) +
    deps.items.reduce((s, d) => s + (d.status?.readyReplicas ?? 0), 0)
  );
}

/** Pods with `selector` (a label selector) that do not yet carry label `key` = `value`, from a LIST. */
async function unlabelled(api: Api, selector: string, key: string, value: string): Promise<number> {
  let n = 0;
  const path = `/api/v1/namespaces/${WORLD_NS}/pods?labelSelector=${encodeURIComponent(selector)}`;
  await api.listPaged<PodObj>(path, (items) => {
    n += items.filter((p) => p.metadata.labels?.[key] !== value).length;
  });
  return n;
}

/** Samples of one metric by a label's value, from a Prometheus exposition. */
function byLabel(text: string, name: string, label: string, filter = ''): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(filter)) continue;
    const key = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1] ?? '';
    out[key] = (out[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

const delta = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries([...new Set([...Object.keys(a), ...Object.keys(b)])].map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)]));
const sum = (r: Record<string, number>) => Object.values(r).reduce((s, v) => s + v, 0);
const WRITE_VERBS = ['POST', 'PUT', 'PATCH', 'DELETE'];

async function exceptionFor(api: Api, name: string, app: string, expiresAtMs: number): Promise<void> {
  const body = exceptionManifest({
    namespace: WORLD_NS,
    name,
    selector: { app },
    expiresAt: rfc3339Seconds(expiresAtMs),
  });
  await createIfMissing(api, `/apis/hostns.io/v1alpha1/namespaces/${WORLD_NS}/hostnamespaceexceptions`, body);
}

/** Builds the world and waits until every pod is Ready. */
export async function buildWorld(api: Api, o: NodesWorldOptions): Promise<NodesWorldResult['world']> {
  const started = Date.now();
  const daemonSetPods = o.daemonSets * o.nodes;
  const deploymentPods = Math.max(0, o.pods - daemonSetPods);
  await createIfMissing(api, '/api/v1/namespaces', { metadata: { name: WORLD_NS } });
  // The covering exception first: the operator starts on a cluster where the agent is allowed.
  await exceptionFor(api, 'node-agent', dsName(0), Date.now() + 30 * 86_400_000);
  for (let i = 0; i < o.daemonSets; i++)
    await createIfMissing(api, `/apis/apps/v1/namespaces/${WORLD_NS}/daemonsets`, workload('DaemonSet', dsName(i)));
  const deployments = Math.ceil(deploymentPods / o.replicasPerDeployment);
  for (let i = 0; i < deployments; i++) {
    const replicas = Math.min(o.replicasPerDeployment, deploymentPods - i * o.replicasPerDeployment);
    await createIfMissing(
      api,
      `/apis/apps/v1/namespaces/${WORLD_NS}/deployments`,
      workload('Deployment', `web-${i}`, replicas),
    );
  }
  const want = daemonSetPods + deploymentPods;
  let lastLog = 0;
  let ready: number;
  // KWOK on a loaded machine now and then puts a Running pod back to ContainerCreating (a stale
  // stage job) and leaves it there: 99.5 % Ready and no progress for a minute is a built world.
  let best = { ready: 0, at: Date.now() };
  while ((ready = await readyPods(api)) < want) {
    if (ready > best.ready) best = { ready, at: Date.now() };
    else if (ready >= want * 0.995 && Date.now() - best.at > 60_000) break;
    if (Date.now() - lastLog > 15_000) {
      o.log(
        `  ${ready} of ${want} pods Ready after ${Math.round((Date.now() - started) / 1000)} s; load ${(await loadAverage()).join(', ')}`,
      );
      lastLog = Date.now();
    }
    await sleep(2000);
  }
  return {
    nodes: o.nodes,
    daemonSetPods,
    deploymentPods,
    podsRunning: ready,
    createSeconds: Math.round((Date.now() - started) / 100) / 10,
    heartbeatSeconds: o.heartbeatMs / 1000,
  };
}

/** Until the operator's queue is empty and every DaemonSet pod carries its mark. */
async function converged(api: Api, op: OperatorProcess, o: NodesWorldOptions, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = (await httpGet(op.port, '/metrics')).text;
    const busy = (metricSum(text, 'hostns_workqueue_depth') ?? 1) + (metricSum(text, 'hostns_workqueue_retrying') ?? 0);
    if (busy === 0) {
      let left = await unlabelled(api, `app=${dsName(0)}`, LABEL_EXCEPTION, 'node-agent');
      for (let i = 1; i < o.daemonSets; i++) left += await unlabelled(api, `app=${dsName(i)}`, LABEL_VIOLATION, 'true');
      if (left === 0) return Date.now();
    }
    if (Date.now() > deadline) throw new Error(`operator not converged within ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

export async function runStartup(
  api: Api,
  o: NodesWorldOptions,
): Promise<{ op: OperatorProcess; result: NodesWorldResult['startup'] }> {
  // The floor first: its label is not the operator's, so it changes nothing the operator will judge.
  const floor = await runChild<unknown>([
    'bench/floor-startup.ts',
    '--kubeconfig',
    o.adminKubeconfig,
    '--concurrency',
    String(o.patchConcurrency),
    '--value',
    `world-${Date.now()}`,
  ]);
  o.log(`  startup floor: ${floor.wallMs} ms ${JSON.stringify(floor.result)}`);
  const op = await o.startOperator();
  await op.waitReady(300_000);
  const at = await converged(api, op, o, 600_000);
  const operatorMs = at - op.startedAt;
  o.log(`  operator converged ${operatorMs} ms after start`);
  return { op, result: { operatorMs, floorMs: floor.wallMs, floor: floor.result, loadAverage: await loadAverage() } };
}

/** The floor watch as a child process: resolves once it watches; stop() ends it and returns its counts. */
export async function startFloorWatch(kubeconfig: string) {
  const child = spawn(process.execPath, ['bench/floor-watch.ts', '--kubeconfig', kubeconfig], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise<string>((resolve) => lines.once('line', resolve));
  await next(); // {"phase":"watching"}
  return {
    async stop(): Promise<{ events: Record<string, number>; cpuSeconds: number }> {
      const last = next();
      child.kill('SIGTERM');
      return JSON.parse(await last) as { events: Record<string, number>; cpuSeconds: number };
    },
  };
}

export async function runChurn(op: OperatorProcess, o: NodesWorldOptions): Promise<NodesWorldResult['churn']> {
  const floor = await startFloorWatch(o.adminKubeconfig);
  const read = async () => {
    const text = (await httpGet(op.port, '/metrics')).text;
    return {
      cpu: cpuSeconds(op.child.pid) ?? Number.NaN,
      requests: byLabel(text, 'hostns_api_requests_total', 'verb'),
      reconciles: metricSum(text, 'hostns_reconcile_duration_seconds_count') ?? 0,
      watchEvents: byLabel(text, 'hostns_watch_events_total', 'effect', 'resource="pods"'),
    };
  };
  const before = await read();
  const started = Date.now();
  await sleep(o.churnSeconds * 1000);
  const after = await read();
  const seconds = (Date.now() - started) / 1000;
  const floorResult = await floor.stop();
  const statusUpdates = floorResult.events.MODIFIED ?? 0;
  const requests = delta(before.requests, after.requests);
  const writes = WRITE_VERBS.reduce((s, v) => s + (requests[v] ?? 0), 0);
  const operatorCpu = Math.round((after.cpu - before.cpu) * 100) / 100;
  const per = (n: number) => (statusUpdates ? Math.round((n / statusUpdates) * 1000 * 1000) / 1000 : Number.NaN);
  return {
    seconds: Math.round(seconds),
    statusUpdates,
    operator: {
      cpuSeconds: operatorCpu,
      requests,
      reconciles: after.reconciles - before.reconciles,
      watchEvents: delta(before.watchEvents, after.watchEvents),
    },
    floor: { cpuSeconds: Math.round(floorResult.cpuSeconds * 100) / 100, events: floorResult.events },
    per1000: {
      operatorCpuSeconds: per(operatorCpu),
      floorCpuSeconds: per(floorResult.cpuSeconds),
      operatorRequests: per(sum(requests)),
      operatorWrites: per(writes),
    },
    loadAverage: await loadAverage(),
  };
}

export async function runWorldLapse(
  api: Api,
  op: OperatorProcess,
  o: NodesWorldOptions,
): Promise<NodesWorldResult['lapse']> {
  const app = dsName(0);
  const expiresAtMs = Math.ceil((Date.now() + o.lapseLeadSeconds * 1000) / 1000) * 1000;
  // A second exception for the same DaemonSet that expires soon; the long one goes: the pods move to it.
  await exceptionFor(api, 'node-agent-lapsing', app, expiresAtMs);
  await withRetry(() =>
    api.raw('DELETE', `/apis/hostns.io/v1alpha1/namespaces/${WORLD_NS}/hostnamespaceexceptions/node-agent`),
  );
  const deadline = Date.now() + o.lapseLeadSeconds * 1000;
  while ((await unlabelled(api, `app=${app}`, LABEL_EXCEPTION, 'node-agent-lapsing')) > 0) {
    if (Date.now() > deadline)
      throw new Error('the DaemonSet was not covered by the lapsing exception before it lapsed');
    await sleep(500);
  }
  const relabelled = new Map<string, number>();
  const daemonSetPods = new Set<string>();
  let expiredAt: number | undefined;
  let workloadEventAt: number | undefined;
  const allRelabelled = new Milestone(() => relabelled.size >= daemonSetPods.size);
  const pods = await listAndWatch<PodObj>(
    api,
    `/api/v1/namespaces/${WORLD_NS}/pods`,
    `labelSelector=app%3D${app}`,
    (ev, at) => {
      daemonSetPods.add(ev.object.metadata.name);
      if (ev.object.metadata.labels?.[LABEL_VIOLATION] === 'true' && !relabelled.has(ev.object.metadata.name))
        relabelled.set(ev.object.metadata.name, at);
      allRelabelled.poke(at);
    },
  );
  const events = await listAndWatch<{
    metadata: { resourceVersion?: string };
    reason?: string;
    regarding?: { kind?: string; name?: string };
  }>(api, `/apis/events.k8s.io/v1/namespaces/${WORLD_NS}/events`, '', (ev, at) => {
    const { reason, regarding } = ev.object;
    if (ev.type !== 'ADDED') return;
    if (reason === 'Expired' && regarding?.name === 'node-agent-lapsing') expiredAt ??= at;
    // Once per workload per cause: the DaemonSet's own Event (kubectl describe daemonset).
    if (reason === 'HostNamespaceViolation' && regarding?.kind === 'DaemonSet' && regarding.name === app)
      workloadEventAt ??= at;
  });
  const writesBefore = byLabel((await httpGet(op.port, '/metrics')).text, 'hostns_api_requests_total', 'verb');
  await timeout(allRelabelled.done, expiresAtMs - Date.now() + 300_000);
  for (let waited = 0; workloadEventAt === undefined && waited < 30_000; waited += 250) await sleep(250);
  pods.stop();
  events.stop();
  const writes = delta(
    writesBefore,
    byLabel((await httpGet(op.port, '/metrics')).text, 'hostns_api_requests_total', 'verb'),
  );
  const load = await loadAverage();

  // The floor: the same number of PATCHes by a minimal client, at the operator's concurrency.
  const names: string[] = [];
  await api.listPaged<PodObj>(`/api/v1/namespaces/${WORLD_NS}/pods?labelSelector=app%3D${app}`, (items) =>
    names.push(...items.map((p) => p.metadata.name)),
  );
  const patch = JSON.stringify({ metadata: { labels: { 'bench.hostns.io/floor-lapse': String(expiresAtMs) } } });
  const floorStarted = Date.now();
  await mapConcurrent(names, o.patchConcurrency, (name) =>
    withRetry(() =>
      api.json('PATCH', `/api/v1/namespaces/${WORLD_NS}/pods/${name}`, patch, 'application/merge-patch+json'),
    ),
  );
  return {
    pods: daemonSetPods.size,
    ...(expiredAt !== undefined ? { expiredEventMs: expiredAt - expiresAtMs } : {}),
    ...(allRelabelled.at !== undefined ? { allRelabelledMs: allRelabelled.at - expiresAtMs } : {}),
    relabelled: relabelled.size,
    operatorWrites: Object.fromEntries(Object.entries(writes).filter(([v]) => WRITE_VERBS.includes(v))),
    floorPatchMs: Date.now() - floorStarted,
    loadAverage: load,
    ...(workloadEventAt !== undefined ? { workloadEventMs: workloadEventAt - expiresAtMs } : {}),
  };
}
