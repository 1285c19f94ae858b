// The nodes world (issue 15): N simulated nodes (KWOK), host-network DaemonSets on every node and
// Deployments making up the rest of the pods, KWOK updating every running pod's status at a set
// interval as kubelets do. Each figure is taken against its floor in the same run:
//   startup    operator start to converged (every DaemonSet pod labelled, queue empty) vs a minimal
//              client's LIST + one PATCH per host-network pod (bench/floor-startup.ts);
//   churn      operator CPU seconds, API requests, reconciles per 1,000 pod status updates vs a plain
//              watch of the same events (bench/floor-watch.ts), both running through the same window;
//              `trials` windows;
//   lapse      one exception covering a whole DaemonSet lapses: expiresAt -> its Expired Event, ->
//              every pod of the DaemonSet relabelled, -> the Event on the DaemonSet, vs the same number
//              of PATCHes by a minimal client; `trials` times, the floor first in every other trial.
// Building the world is measured too: pods Ready per second, and each cluster component's CPU
// seconds and memory (the machine is small and shared: what the cluster itself costs matters).
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { exceptionManifest, LABEL_EXCEPTION, LABEL_VIOLATION, rfc3339Seconds } from '../fixture.ts';
import { type Api, mapConcurrent, withRetry } from '../minimal-client.ts';
import { listAndWatch, Milestone, timeout, type PodObj } from '../observe.ts';
import { httpGet, metricSum, processMemory, type OperatorProcess } from '../../tools/operator-process.ts';
import { cpuSeconds, CpuMeter } from '../procstat.ts';
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
  /** Seconds between shortening the covering exception's expiresAt and its expiry. */
  lapseLeadSeconds: number;
  patchConcurrency: number;
  /** Churn windows and lapses. */
  trials: number;
  /** Seconds to wait for every pod to be Ready before measuring the world as it is; 0: no limit. */
  buildTimeoutSeconds: number;
  /** Pods asked for and not yet Ready at most, while building (Deployments are created as they fit). */
  buildWindow: number;
  adminKubeconfig: string;
  /** The cluster's processes by name (ControlPlane.processIds()). */
  clusterPids: Record<string, number>;
  startOperator: () => Promise<OperatorProcess>;
  log: (msg: string) => void;
}

/** A cluster component's cost: CPU seconds over a span, resident memory at its end and its peak. */
export interface ComponentCost {
  cpuSeconds: number;
  rssMiB: number;
  peakRssMiB: number;
}

export interface ChurnTrial {
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
}

export interface LapseTrial {
  pods: number;
  expiredEventMs?: number;
  allRelabelledMs?: number;
  relabelled: number;
  operatorWrites: Record<string, number>;
  floorPatchMs: number;
  /** Whether the floor's PATCHes ran before the lapse in this trial (every other trial). */
  floorFirst?: boolean;
  loadAverage: number[];
  /** expiresAt -> the HostNamespaceViolation Event on the DaemonSet itself. */
  workloadEventMs?: number;
}

export interface NodesWorldResult {
  world: {
    nodes: number;
    daemonSetPods: number;
    deploymentPods: number;
    podsRunning: number;
    /** Pods that existed when the build ended (Ready or not: the operator judges every pod). */
    podsCreated?: number;
    createSeconds: number;
    heartbeatSeconds: number;
    /** Pods Ready per second over the build. */
    podsPerSecond?: number;
    /** Each cluster component over the build. */
    components?: Record<string, ComponentCost>;
    loadAverage?: number[];
  };
  startup?: { operatorMs: number; floorMs: number; floor: unknown; loadAverage: number[] };
  churnTrials?: ChurnTrial[];
  lapseTrials?: LapseTrial[];
  /** Each cluster component's memory at the end of the run (peak = over the whole run). */
  clusterMemory?: Record<string, ComponentCost>;
  /** Runs before trials existed held one of each. */
  churn?: ChurnTrial;
  lapse?: LapseTrial;
}

export const WORLD_NS = 'bench-world';
const loadAverage = () => loadavg().map((v) => Math.round(v * 100) / 100);
const dsName = (i: number) => `node-agent-${i}`;
const MiB = 2 ** 20;

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

/** Pods in the world's namespace, from a one-item LIST (the server counts the rest). */
async function podCount(api: Api): Promise<number> {
  const page = await api.get<{ items: unknown[]; metadata: { remainingItemCount?: number } }>(
    `/api/v1/namespaces/${WORLD_NS}/pods?limit=1`,
  );
  return page.items.length + (page.metadata.remainingItemCount ?? 0);
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
const EXCEPTIONS = `/apis/hostns.io/v1alpha1/namespaces/${WORLD_NS}/hostnamespaceexceptions`;

async function exceptionFor(api: Api, name: string, app: string, expiresAtMs: number): Promise<void> {
  const body = exceptionManifest({
    namespace: WORLD_NS,
    name,
    selector: { app },
    expiresAt: rfc3339Seconds(expiresAtMs),
  });
  await createIfMissing(api, EXCEPTIONS, body);
}

/** CPU seconds (from `meter`) and memory now of each cluster component. */
export function componentCosts(pids: Record<string, number>, meter?: CpuMeter): Record<string, ComponentCost> {
  const cpu = meter?.read() ?? {};
  const out: Record<string, ComponentCost> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const mem = processMemory(pid);
    out[name] = {
      cpuSeconds: cpu[name] ?? Number.NaN,
      rssMiB: mem ? Math.round(mem.rss / MiB) : Number.NaN,
      peakRssMiB: mem ? Math.round(mem.peakRss / MiB) : Number.NaN,
    };
  }
  return out;
}

/** Builds the world and waits until every pod is Ready. */
export async function buildWorld(api: Api, o: NodesWorldOptions): Promise<NodesWorldResult['world']> {
  const started = Date.now();
  const meter = new CpuMeter(o.clusterPids);
  const daemonSetPods = o.daemonSets * o.nodes;
  const deploymentPods = Math.max(0, o.pods - daemonSetPods);
  await createIfMissing(api, '/api/v1/namespaces', { metadata: { name: WORLD_NS } });
  // The covering exception first: the operator starts on a cluster where the agent is allowed.
  await exceptionFor(api, 'node-agent', dsName(0), Date.now() + 30 * 86_400_000);
  for (let i = 0; i < o.daemonSets; i++)
    await createIfMissing(api, `/apis/apps/v1/namespaces/${WORLD_NS}/daemonsets`, workload('DaemonSet', dsName(i)));
  // Deployments are created as pods get Ready, at most `buildWindow` pods asked for and not Ready:
  // all at once, a starved API server falls behind its own watch cache and times requests out.
  const sizes = Array.from({ length: Math.ceil(deploymentPods / o.replicasPerDeployment) }, (_, i) =>
    Math.min(o.replicasPerDeployment, deploymentPods - i * o.replicasPerDeployment),
  );
  let asked = daemonSetPods;
  let created = 0;
  const createDue = async (ready: number) => {
    for (; created < sizes.length && asked - ready < o.buildWindow; created++) {
      const body = workload('Deployment', `web-${created}`, sizes[created]);
      await createIfMissing(api, `/apis/apps/v1/namespaces/${WORLD_NS}/deployments`, body);
      asked += sizes[created]!;
    }
  };
  const want = daemonSetPods + deploymentPods;
  let last = { at: Date.now(), ready: 0 };
  let ready: number;
  // KWOK on a loaded machine now and then puts a Running pod back to ContainerCreating (a stale
  // stage job) and leaves it there: 99.5 % Ready and no progress for a minute is a built world.
  let best = { ready: 0, at: Date.now() };
  while ((ready = await readyPods(api)) < want) {
    await createDue(ready);
    if (ready > best.ready) best = { ready, at: Date.now() };
    else if (ready >= want * 0.995 && Date.now() - best.at > 60_000) break;
    if (o.buildTimeoutSeconds && Date.now() - started > o.buildTimeoutSeconds * 1000) {
      o.log(`  --build-timeout: measuring the world with ${ready} of ${want} pods Ready`);
      break;
    }
    if (Date.now() - last.at > 15_000) {
      const rate = ((ready - last.ready) * 1000) / (Date.now() - last.at);
      o.log(
        `  ${ready} of ${want} pods Ready after ${Math.round((Date.now() - started) / 1000)} s ` +
          `(${rate.toFixed(1)}/s); load ${loadAverage().join(', ')}`,
      );
      last = { at: Date.now(), ready };
    }
    await sleep(2000);
  }
  const seconds = (Date.now() - started) / 1000;
  return {
    nodes: o.nodes,
    daemonSetPods,
    deploymentPods: asked - daemonSetPods,
    podsRunning: ready,
    podsCreated: await podCount(api),
    createSeconds: Math.round(seconds * 10) / 10,
    heartbeatSeconds: o.heartbeatMs / 1000,
    podsPerSecond: Math.round((ready / seconds) * 10) / 10,
    components: componentCosts(o.clusterPids, meter),
    loadAverage: loadAverage(),
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
  await op.waitReady(600_000);
  const at = await converged(api, op, o, 1_200_000);
  const operatorMs = at - op.startedAt;
  o.log(`  operator converged ${operatorMs} ms after start`);
  return { op, result: { operatorMs, floorMs: floor.wallMs, floor: floor.result, loadAverage: loadAverage() } };
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

/** One churn window: the operator and a plain watch (its own process) through the same seconds. */
export async function runChurn(op: OperatorProcess, o: NodesWorldOptions): Promise<ChurnTrial> {
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
    loadAverage: loadAverage(),
  };
}

/** Waits until every pod of the DaemonSet `app` is marked covered by exception `name` (and not a violation). */
async function waitCovered(api: Api, app: string, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const path = `/api/v1/namespaces/${WORLD_NS}/pods?labelSelector=${encodeURIComponent(`app=${app}`)}`;
  for (;;) {
    let left = 0;
    await api.listPaged<PodObj>(path, (items) => {
      const l = (p: PodObj) => p.metadata.labels ?? {};
      left += items.filter((p) => l(p)[LABEL_EXCEPTION] !== name || l(p)[LABEL_VIOLATION] === 'true').length;
    });
    if (left === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${left} pods of ${app} not covered by ${name} after ${timeoutMs / 1000} s`);
    await sleep(1000);
  }
}

/** The floor: one PATCH on each pod of the DaemonSet `app` by a minimal client, at the operator's concurrency. */
async function floorPatches(api: Api, app: string, o: NodesWorldOptions): Promise<number> {
  const names: string[] = [];
  await api.listPaged<PodObj>(`/api/v1/namespaces/${WORLD_NS}/pods?labelSelector=app%3D${app}`, (items) =>
    names.push(...items.map((p) => p.metadata.name)),
  );
  const patch = JSON.stringify({ metadata: { labels: { 'bench.hostns.io/floor-lapse': String(Date.now()) } } });
  const started = Date.now();
  await mapConcurrent(names, o.patchConcurrency, (name) =>
    withRetry(() =>
      api.json('PATCH', `/api/v1/namespaces/${WORLD_NS}/pods/${name}`, patch, 'application/merge-patch+json'),
    ),
  );
  return Date.now() - started;
}

/**
 * One lapse: exception `lapsing-<trial>` (a day to run) takes over the first DaemonSet from
 * `previous` (deleted), then its expiresAt is brought to `lapseLeadSeconds` from now, and the
 * lapse is watched from the bench's own LIST + WATCH of the DaemonSet's pods and the Events.
 */
export async function runWorldLapse(
  api: Api,
  op: OperatorProcess,
  o: NodesWorldOptions,
  trial: number,
  previous: string,
): Promise<LapseTrial> {
  const app = dsName(0);
  const name = `node-agent-lapsing-${trial}`;
  await exceptionFor(api, name, app, Date.now() + 86_400_000);
  await withRetry(() => api.raw('DELETE', `${EXCEPTIONS}/${previous}`));
  await waitCovered(api, app, name, 1_200_000);
  const floorFirst = trial % 2 === 1;
  const floorFirstMs = floorFirst ? await floorPatches(api, app, o) : undefined;

  const relabelled = new Map<string, number>();
  const daemonSetPods = new Set<string>();
  let expiredAt: number | undefined;
  let workloadEventAt: number | undefined;
  let expiresAtMs = Number.POSITIVE_INFINITY; // set once the watches run
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
    if (reason === 'Expired' && regarding?.name === name) expiredAt ??= at;
    // Once per workload per cause: the DaemonSet's own Event (kubectl describe daemonset). The
    // trials after the first find it in the list (a lapse earlier raised it): only a new one counts.
    if (reason === 'HostNamespaceViolation' && regarding?.kind === 'DaemonSet' && regarding.name === app)
      if (at > expiresAtMs) workloadEventAt ??= at;
  });
  expiresAtMs = Math.ceil((Date.now() + o.lapseLeadSeconds * 1000) / 1000) * 1000;
  await withRetry(() =>
    api.json(
      'PATCH',
      `${EXCEPTIONS}/${name}`,
      JSON.stringify({ spec: { expiresAt: rfc3339Seconds(expiresAtMs) } }),
      'application/merge-patch+json',
    ),
  );
  const writesBefore = byLabel((await httpGet(op.port, '/metrics')).text, 'hostns_api_requests_total', 'verb');
  await timeout(allRelabelled.done, expiresAtMs - Date.now() + 900_000);
  for (let waited = 0; workloadEventAt === undefined && waited < 30_000; waited += 250) await sleep(250);
  pods.stop();
  events.stop();
  const writes = delta(
    writesBefore,
    byLabel((await httpGet(op.port, '/metrics')).text, 'hostns_api_requests_total', 'verb'),
  );
  const load = loadAverage();
  const floorPatchMs = floorFirstMs ?? (await floorPatches(api, app, o));
  return {
    pods: daemonSetPods.size,
    ...(expiredAt !== undefined ? { expiredEventMs: expiredAt - expiresAtMs } : {}),
    ...(allRelabelled.at !== undefined ? { allRelabelledMs: allRelabelled.at - expiresAtMs } : {}),
    relabelled: relabelled.size,
    operatorWrites: Object.fromEntries(Object.entries(writes).filter(([v]) => WRITE_VERBS.includes(v))),
    floorPatchMs,
    floorFirst,
    loadAverage: load,
    ...(workloadEventAt !== undefined ? { workloadEventMs: workloadEventAt - expiresAtMs } : {}),
  };
}
