// One function per benchmark item. Each returns plain data for results.json; none throws on a
// slow figure (a missed goal is a figure, not a failure).
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { AuditLog, countByVerbResource, deltaByKey, FLOOR_USER, OPERATOR_USER, requestTotalsByVerb, total, WRITE_VERBS, type AuditRecord } from './audit.ts';
import {
  createIfAbsent,
  ensureNamespaces,
  exceptionManifest,
  expectationFor,
  FIXTURE_LABEL,
  FIXTURE_NAMESPACES,
  fixtureExceptionNames,
  fixtureNamespace,
  LABEL_EXCEPTION,
  LABEL_VIOLATION,
  podManifest,
  rfc3339Seconds,
  type Expectation,
} from './fixture.ts';
import { Api, HttpError, mapConcurrent, withRetry } from './minimal-client.ts';
import { listAndWatch, Milestone, timeout, type ExceptionObj, type PodObj } from './observe.ts';
import { metricSum, NODE, OperatorProcess, type HeapReport } from './operator.ts';
import { summarize, type Summary } from './stats.ts';
import { cpuSeconds, CpuMeter, type ControlPlanePids } from './procstat.ts';

export interface BenchContext {
  api: Api;
  adminKubeconfig: string;
  operatorKubeconfig: string;
  floorKubeconfig: string;
  audit: AuditLog;
  workDir: string;
  patchConcurrency: number;
  /** kube-apiserver and etcd pids, to meter the CPU each phase costs them. */
  controlPlane: ControlPlanePids;
  /** Extra operator flags (e.g. --patch-concurrency 16 when the operator knows it). */
  operatorArgs: string[];
  operatorNodeArgs: string[];
  log: (msg: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EX_PATH = '/apis/hostns.io/v1alpha1';

export function startOperator(ctx: BenchContext, nodeArgs: string[] = ctx.operatorNodeArgs): Promise<OperatorProcess> {
  return OperatorProcess.start({
    kubeconfig: ctx.operatorKubeconfig,
    logFile: join(ctx.workDir, 'operator.log'),
    extraArgs: ctx.operatorArgs,
    nodeArgs,
  });
}

/** Runs a bench child process (node script) and parses its last stdout line as JSON. */
export function runChild<T>(args: string[], nodeArgs: string[] = []): Promise<{ result: T; wallMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => {
      const wallMs = Date.now() - started;
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last) return reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1000)}`));
      resolve({ result: JSON.parse(last) as T, wallMs });
    });
  });
}

/** Puts the fixture back to "never reconciled": no operator marks, no status, no Events, no grants. */
export async function resetOperatorState(ctx: BenchContext): Promise<void> {
  const { api } = ctx;
  const marked: { namespace: string; name: string }[] = [];
  for (const sel of [LABEL_VIOLATION, LABEL_EXCEPTION]) {
    await api.listPaged<PodObj>(`/api/v1/pods?labelSelector=${encodeURIComponent(sel)}`, (items) => {
      for (const p of items) marked.push({ namespace: p.metadata.namespace, name: p.metadata.name });
    });
  }
  const strip = JSON.stringify({
    metadata: {
      labels: { [LABEL_VIOLATION]: null, [LABEL_EXCEPTION]: null },
      annotations: { 'hostns.io/violation': null, 'hostns.io/exceptions': null },
    },
  });
  await mapConcurrent(marked, 64, (p) =>
    withRetry(() => api.json('PATCH', `/api/v1/namespaces/${p.namespace}/pods/${p.name}`, strip, 'application/merge-patch+json')).catch((e) => {
      if (!(e instanceof HttpError && e.status === 404)) throw e;
    }),
  );
  const exceptions: ExceptionObj[] = [];
  await api.listPaged<ExceptionObj>(`${EX_PATH}/hostnamespaceexceptions`, (items) => exceptions.push(...items));
  await mapConcurrent(
    exceptions.filter((e) => e.status),
    64,
    (e) =>
      withRetry(() =>
        api.json('PATCH', `${EX_PATH}/namespaces/${e.metadata.namespace}/hostnamespaceexceptions/${e.metadata.name}/status`, '{"status":null}', 'application/merge-patch+json'),
      ),
  );
  await api.raw('DELETE', `${EX_PATH}/hostnamespacegrants/cluster`);
  const namespaces: string[] = [];
  await api.listPaged<{ metadata: { name: string } }>('/api/v1/namespaces', (items) => namespaces.push(...items.map((n) => n.metadata.name)));
  await mapConcurrent(namespaces, 16, (ns) => withRetry(() => api.json('DELETE', `/apis/events.k8s.io/v1/namespaces/${ns}/events`)));
}

export async function countPods(api: Api): Promise<number> {
  let n = 0;
  await api.listPaged<PodObj>('/api/v1/pods', (items) => (n += items.length));
  return n;
}

// ---------------------------------------------------------------------------------------------
// 1. Startup (+ 4. memory after it)

export interface FloorResult {
  pods: number;
  patched: number;
  listMs: number;
  patchMs: number;
  inProcessMs: number;
  cpuSeconds?: number;
}

export interface StartupResult {
  size: number;
  podsInCluster: number;
  expectedOffenders: number;
  expectedCovered: number;
  exceptions: number;
  floor: FloorResult & { wallMs: number; auditPatches: number };
  operator: {
    readyMs?: number;
    labelsMs?: number;
    statusMs?: number;
    convergedMs?: number;
    timedOut: boolean;
    writes: Record<string, number>;
    requests: Record<string, number>;
    /** From the audit log, ms after process start: when its requests reached the API server. */
    timeline?: { firstRequestMs?: number; lastListPodsMs?: number; firstWriteMs?: number; lastWriteMs?: number; writesPerSecond?: number };
  };
  ratio: number;
  /** CPU seconds burned: by the client process itself, and by kube-apiserver and etcd meanwhile. */
  cpu: { floor: Record<string, number | undefined>; operator: Record<string, number | undefined> };
}

/** Watches for the fixture's expected marks and statuses; `converged` fires when all are there. */
export async function watchConvergence(api: Api, exp: Expectation) {
  const violation = new Map<string, string>();
  const exception = new Map<string, string>();
  const statuses = new Map<string, ExceptionObj>();
  const labelsOk = () => {
    if (violation.size < exp.offenders.size || exception.size < exp.covered.size) return false;
    for (const k of exp.offenders) if (violation.get(k) !== 'true') return false;
    for (const [k, v] of exp.covered) if (exception.get(k) !== v) return false;
    return true;
  };
  const statusOk = () => {
    for (const [k, n] of exp.coveredPods) {
      const e = statuses.get(k);
      if (!e?.status || e.status.observedGeneration !== e.metadata.generation || e.status.coveredPods !== n) return false;
    }
    return true;
  };
  const labels = new Milestone(labelsOk);
  const status = new Milestone(statusOk);
  const track = (into: Map<string, string>, key: string) => (ev: { type: string; object: PodObj }, at: number) => {
    const id = `${ev.object.metadata.namespace}/${ev.object.metadata.name}`;
    const v = ev.object.metadata.labels?.[key];
    if (ev.type === 'DELETED' || v === undefined) into.delete(id);
    else into.set(id, v);
    labels.poke(at);
  };
  const w1 = await listAndWatch<PodObj>(api, '/api/v1/pods', `labelSelector=${encodeURIComponent(LABEL_VIOLATION)}`, track(violation, LABEL_VIOLATION));
  const w2 = await listAndWatch<PodObj>(api, '/api/v1/pods', `labelSelector=${encodeURIComponent(LABEL_EXCEPTION)}`, track(exception, LABEL_EXCEPTION));
  const w3 = await listAndWatch<ExceptionObj>(api, `${EX_PATH}/hostnamespaceexceptions`, '', (ev, at) => {
    const id = `${ev.object.metadata.namespace}/${ev.object.metadata.name}`;
    if (ev.type === 'DELETED') statuses.delete(id);
    else statuses.set(id, ev.object);
    status.poke(at);
  });
  const now = Date.now();
  labels.poke(now);
  status.poke(now);
  return {
    labels,
    status,
    missing: () => ({
      offenders: [...exp.offenders].filter((k) => violation.get(k) !== 'true').length,
      covered: [...exp.covered].filter(([k, v]) => exception.get(k) !== v).length,
      statuses: [...exp.coveredPods].filter(([k, n]) => {
        const e = statuses.get(k);
        return !e?.status || e.status.observedGeneration !== e.metadata.generation || e.status.coveredPods !== n;
      }).length,
    }),
    stop: () => [w1, w2, w3].forEach((w) => w.stop()),
  };
}

function operatorRecords(records: AuditRecord[]) {
  const mine = records.filter((r) => r.user === OPERATOR_USER);
  return {
    writes: countByVerbResource(mine, (r) => WRITE_VERBS.has(r.verb)),
    requests: countByVerbResource(mine),
  };
}

function startupTimeline(records: AuditRecord[], t0: number): NonNullable<StartupResult['operator']['timeline']> {
  const at = (rs: AuditRecord[]) => rs.map((r) => r.receivedAt - t0).sort((a, b) => a - b);
  const all = at(records);
  const lists = at(records.filter((r) => r.verb === 'list' && r.resource === 'pods'));
  const writes = at(records.filter((r) => WRITE_VERBS.has(r.verb)));
  const first = writes[0];
  const last = writes[writes.length - 1];
  return {
    firstRequestMs: all[0],
    lastListPodsMs: lists[lists.length - 1],
    firstWriteMs: first,
    lastWriteMs: last,
    writesPerSecond: first !== undefined && last !== undefined && last > first ? (writes.length * 1000) / (last - first) : undefined,
  };
}

/**
 * Floor then operator on the same pods. Leaves the operator running (converged) and returns it.
 */
export async function runStartup(ctx: BenchContext, size: number, timeoutMs: number): Promise<{ result: StartupResult; op: OperatorProcess }> {
  const { api, log } = ctx;
  const exp = expectationFor(size);
  const podsInCluster = await countPods(api);

  log(`  floor: paged LIST + ${exp.offenders.size + exp.covered.size} PATCHes at concurrency ${ctx.patchConcurrency}`);
  ctx.audit.skipToEnd();
  const floorMeter = new CpuMeter({ ...ctx.controlPlane });
  const floor = await runChild<FloorResult>([
    'bench/floor-startup.ts',
    '--kubeconfig',
    ctx.floorKubeconfig,
    '--concurrency',
    String(ctx.patchConcurrency),
    '--value',
    `run-${Date.now()}`,
  ]);
  const floorCpu = { client: floor.result.cpuSeconds, ...floorMeter.read() };
  await sleep(1500); // audit batch flush
  const floorAudit = ctx.audit.readNew().filter((r) => r.user === FLOOR_USER && r.verb === 'patch').length;
  log(`  floor: ${floor.wallMs} ms (list ${floor.result.listMs} ms, ${floor.result.patched} patches ${floor.result.patchMs} ms)`);

  const conv = await watchConvergence(api, exp);
  ctx.audit.skipToEnd();
  log('  operator: starting');
  const opMeter = new CpuMeter({ ...ctx.controlPlane });
  const op = await startOperator(ctx);
  const ready = op.waitReady(timeoutMs).catch((e) => {
    log(`  operator: ${(e as Error).message}`);
    return undefined;
  });
  const both = Promise.all([conv.labels.done, conv.status.done]);
  const finished = await timeout(both, timeoutMs);
  const operatorCpu = { client: cpuSeconds(op.child.pid), ...opMeter.read() };
  const readyAt = await timeout(ready, 5000);
  conv.stop();
  await sleep(1500);
  const startupRecords = ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER);
  const { writes, requests } = operatorRecords(startupRecords);
  const timeline = startupTimeline(startupRecords, op.startedAt);
  const timedOut = finished === undefined;
  if (timedOut) log(`  operator: not converged within ${timeoutMs} ms; missing ${JSON.stringify(conv.missing())}`);
  const convergedMs = timedOut ? undefined : Math.max(...finished) - op.startedAt;
  const result: StartupResult = {
    size,
    podsInCluster,
    expectedOffenders: exp.offenders.size,
    expectedCovered: exp.covered.size,
    exceptions: exp.coveredPods.size,
    floor: { ...floor.result, wallMs: floor.wallMs, auditPatches: floorAudit },
    operator: {
      readyMs: readyAt ? readyAt - op.startedAt : undefined,
      labelsMs: conv.labels.at ? conv.labels.at - op.startedAt : undefined,
      statusMs: conv.status.at ? conv.status.at - op.startedAt : undefined,
      convergedMs,
      timedOut,
      writes,
      requests,
      timeline,
    },
    ratio: convergedMs !== undefined ? convergedMs / floor.wallMs : Number.NaN,
    cpu: { floor: floorCpu, operator: operatorCpu },
  };
  log(`  operator: converged in ${convergedMs ?? 'n/a'} ms (ready ${result.operator.readyMs ?? 'n/a'} ms); writes ${JSON.stringify(writes)}; cpu ${JSON.stringify(result.cpu)}`);
  return { result, op };
}

export interface MemoryResult {
  size: number;
  podsInCluster: number;
  operator?: HeapReport;
  peer?: { cachedPods: number; heapUsed: number; heapTotal: number; rss: number; external: number; syncMs: number };
  error?: string;
}

export async function measureOperatorHeap(op: OperatorProcess): Promise<HeapReport | undefined> {
  try {
    return await op.heap();
  } catch {
    return undefined;
  }
}

export async function runPeer(ctx: BenchContext): Promise<MemoryResult['peer']> {
  const { result } = await runChild<NonNullable<MemoryResult['peer']>>(['bench/peer-informer.ts', '--kubeconfig', ctx.adminKubeconfig], [
    '--expose-gc',
    '--max-old-space-size=8192',
  ]);
  return result;
}

// ---------------------------------------------------------------------------------------------
// 5. Write amplification: restart on a converged cluster

export interface RestartResult {
  quietBeforeMs: number;
  readyMs?: number;
  observedMs: number;
  writes: Record<string, number>;
  requests: Record<string, number>;
  apiserverWriteDelta: Record<string, number>;
  apiserverWriteDeltaBaseline: Record<string, number>;
  windowSeconds: number;
  baselineSeconds: number;
}

const WRITE_HTTP_VERBS = ['POST', 'PUT', 'PATCH', 'DELETE'];

async function apiserverWriteTotals(api: Api): Promise<Record<string, number>> {
  const { text } = await api.raw('GET', '/metrics');
  const all = requestTotalsByVerb(text);
  return Object.fromEntries(WRITE_HTTP_VERBS.map((v) => [v, all[v] ?? 0]));
}

/** Waits until the operator has sent no write for `quietMs` (max `maxMs`); returns how long it took. */
async function waitOperatorQuiet(ctx: BenchContext, quietMs: number, maxMs: number): Promise<number> {
  const started = Date.now();
  let lastWrite = Date.now();
  while (Date.now() - started < maxMs) {
    await sleep(1000);
    const w = ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER && WRITE_VERBS.has(r.verb));
    if (w.length > 0) lastWrite = Date.now();
    if (Date.now() - lastWrite >= quietMs) break;
  }
  return Date.now() - started;
}

export async function runRestart(ctx: BenchContext, op: OperatorProcess, observeMs: number): Promise<{ result: RestartResult; op: OperatorProcess }> {
  const { api, log } = ctx;
  ctx.audit.skipToEnd();
  const quietBeforeMs = await waitOperatorQuiet(ctx, 5000, 60_000);
  await op.stop();
  // Baseline: the same window length with no operator (controller-manager, the bench itself).
  const baselineStarted = Date.now();
  const b0 = await apiserverWriteTotals(api);
  await sleep(10_000);
  const b1 = await apiserverWriteTotals(api);
  const baselineSeconds = (Date.now() - baselineStarted) / 1000;
  ctx.audit.skipToEnd();
  const windowStarted = Date.now();
  const a0 = await apiserverWriteTotals(api);
  const next = await startOperator(ctx);
  const readyAt = await next.waitReady(300_000).catch(() => undefined);
  await sleep(observeMs);
  const a1 = await apiserverWriteTotals(api);
  const windowSeconds = (Date.now() - windowStarted) / 1000;
  await sleep(1500);
  const { writes, requests } = operatorRecords(ctx.audit.readNew());
  const result: RestartResult = {
    quietBeforeMs,
    readyMs: readyAt ? readyAt - next.startedAt : undefined,
    observedMs: Date.now() - next.startedAt,
    writes,
    requests,
    apiserverWriteDelta: deltaByKey(a0, a1),
    apiserverWriteDeltaBaseline: deltaByKey(b0, b1),
    windowSeconds,
    baselineSeconds,
  };
  log(`  restart: ready ${result.readyMs} ms; operator writes ${total(writes)} ${JSON.stringify(writes)}; apiserver write delta ${JSON.stringify(result.apiserverWriteDelta)}`);
  return { result, op: next };
}

// ---------------------------------------------------------------------------------------------
// 2. Steady state: create pods at a fixed rate; create -> label vs create -> seen by a plain watch

export interface SteadyResult {
  rate: number;
  seconds: number;
  created: number;
  createErrors: number;
  labelledExpected: number;
  labelledSeen: number;
  labelLatency: Summary;
  /** Split: covered pods need one PATCH; offenders an Event first, then the PATCH. */
  labelLatencyCovered: Summary;
  labelLatencyOffender: Summary;
  watchLatency: Summary;
  watchLatencyAll: Summary;
  ratioP50: number;
  ratioP99: number;
  operatorRequests: Record<string, number>;
  operatorRequestsTotal: number;
  requestsPerPod: number;
  writesPerLabelledPod: number;
  operatorReconcileMetric?: { name: string; delta: number; ownRequestCount?: number };
  requestsPerReconcile?: number;
}

export async function runSteady(ctx: BenchContext, op: OperatorProcess, rate: number, seconds: number): Promise<SteadyResult> {
  const { api, log } = ctx;
  const ns = 'bench-steady';
  await ensureNamespaces(api, [ns]);
  await createIfAbsent(
    api,
    `${EX_PATH}/namespaces/${ns}/hostnamespaceexceptions`,
    exceptionManifest({ namespace: ns, name: 'allow-t0', selector: { team: 't0' }, expiresAt: rfc3339Seconds(Date.now() + 60 * 86400_000) }),
  );
  // The exception must be in the operator's cache before the window: wait for its status.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const e = await api.get<ExceptionObj>(`${EX_PATH}/namespaces/${ns}/hostnamespaceexceptions/allow-t0`);
    if (e.status?.observedGeneration === e.metadata.generation) break;
    await sleep(200);
  }

  const sentAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const labelAt = new Map<string, number>();
  const expectLabel = new Set<string>();
  const offenders = new Set<string>();
  const w = await listAndWatch<PodObj>(api, `/api/v1/namespaces/${ns}/pods`, '', (ev, at) => {
    const name = ev.object.metadata.name;
    if (ev.type === 'ADDED' && !seenAt.has(name)) seenAt.set(name, at);
    const l = ev.object.metadata.labels ?? {};
    if ((l[LABEL_VIOLATION] || l[LABEL_EXCEPTION]) && !labelAt.has(name)) labelAt.set(name, at);
  });
  const metricsBefore = await op.metrics().catch(() => '');
  ctx.audit.skipToEnd();
  const count = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const started = Date.now();
  let createErrors = 0;
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * interval;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const name = `s-${String(i).padStart(5, '0')}`;
    // One pod in three uses hostNetwork: alternately covered (team t0) and an offender (team t9).
    const host = i % 3 === 0;
    const team = host ? (i % 6 === 0 ? 't0' : 't9') : 'web';
    if (host) expectLabel.add(name);
    if (host && team === 't9') offenders.add(name);
    if (inFlight >= 64) {
      createErrors++; // the API server is not keeping up; count it rather than skew the pacing
      continue;
    }
    inFlight++;
    sentAt.set(name, Date.now());
    pending.push(
      withRetry(() => api.json('POST', `/api/v1/namespaces/${ns}/pods`, podManifest({ namespace: ns, name, team, host: host ? 'hostNetwork' : undefined })))
        .then(() => undefined)
        .catch(() => {
          createErrors++;
        })
        .finally(() => inFlight--),
    );
  }
  await Promise.all(pending);
  const windowEnd = Date.now();
  // Let the last ones land.
  const settleDeadline = Date.now() + 30_000;
  while (Date.now() < settleDeadline && [...expectLabel].some((n) => sentAt.has(n) && !labelAt.has(n))) await sleep(200);
  w.stop();
  await sleep(1500);
  const metricsAfter = await op.metrics().catch(() => '');
  const records = ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER);
  const requests = countByVerbResource(records);
  const writes = records.filter((r) => WRITE_VERBS.has(r.verb)).length;

  const labelled = [...expectLabel].filter((n) => sentAt.has(n) && labelAt.has(n));
  const labelLat = labelled.map((n) => labelAt.get(n)! - sentAt.get(n)!);
  const watchLat = labelled.filter((n) => seenAt.has(n)).map((n) => seenAt.get(n)! - sentAt.get(n)!);
  const watchLatAll = [...sentAt.keys()].filter((n) => seenAt.has(n)).map((n) => seenAt.get(n)! - sentAt.get(n)!);
  const ls = summarize(labelLat);
  const ws = summarize(watchLat);
  const reconcile = findReconcileMetric(metricsBefore, metricsAfter);
  const result: SteadyResult = {
    rate,
    seconds: (windowEnd - started) / 1000,
    created: sentAt.size,
    createErrors,
    labelledExpected: [...expectLabel].filter((n) => sentAt.has(n)).length,
    labelledSeen: labelled.length,
    labelLatency: ls,
    labelLatencyCovered: summarize(labelled.filter((n) => !offenders.has(n)).map((n) => labelAt.get(n)! - sentAt.get(n)!)),
    labelLatencyOffender: summarize(labelled.filter((n) => offenders.has(n)).map((n) => labelAt.get(n)! - sentAt.get(n)!)),
    watchLatency: ws,
    watchLatencyAll: summarize(watchLatAll),
    ratioP50: ls.p50 / ws.p50,
    ratioP99: ls.p99 / ws.p99,
    operatorRequests: requests,
    operatorRequestsTotal: records.length,
    requestsPerPod: records.length / Math.max(1, sentAt.size),
    writesPerLabelledPod: writes / Math.max(1, labelled.length),
    operatorReconcileMetric: reconcile,
    requestsPerReconcile: reconcile && reconcile.delta > 0 ? records.length / reconcile.delta : undefined,
  };
  log(`  steady: label p50 ${ls.p50} ms p99 ${ls.p99} ms; watch p50 ${ws.p50} ms p99 ${ws.p99} ms; ${records.length} operator requests for ${sentAt.size} pods`);
  return result;
}

/** Deltas of the operator's own counters: reconciles (histogram count) and API requests it sent. */
function findReconcileMetric(before: string, after: string): { name: string; delta: number; ownRequestCount?: number } | undefined {
  const d = (name: string) => {
    const a = metricSum(after, name);
    return a === undefined ? undefined : a - (metricSum(before, name) ?? 0);
  };
  const reconciles = d('hostns_reconcile_duration_seconds_count');
  if (reconciles === undefined) return undefined;
  return { name: 'hostns_reconcile_duration_seconds_count', delta: reconciles, ownRequestCount: d('hostns_api_requests_total') };
}

// ---------------------------------------------------------------------------------------------
// 3. Lapse: N exceptions expiring at the same instant, each covering one pod

export interface LapseResult {
  exceptions: number;
  setupMs: number;
  convergedBeforeExpiry: boolean;
  expiresAt: string;
  eventDelay: Summary;
  eventTimeDelay: Summary;
  relabelDelay: Summary;
  eventsSeen: number;
  relabelsSeen: number;
  /** Operator requests from expiresAt until the last relabel (audit log). */
  operatorRequests: Record<string, number>;
  /** Floor: the same number of Events POSTed by a minimal client at the operator's concurrency; completion times from its first request. */
  eventFloor?: Summary;
  ratioP99?: number;
}

export async function runLapse(ctx: BenchContext, count: number, leadSeconds: number): Promise<LapseResult> {
  const { api, log } = ctx;
  // 20 namespaces of 50: under the grants' per-namespace bound (64), so admission stays honest.
  const nsCount = 20;
  const namespaces = Array.from({ length: nsCount }, (_, n) => `bench-lapse-${n}`);
  const setupStarted = Date.now();
  const expiresAtMs = Math.ceil((Date.now() + leadSeconds * 1000) / 1000) * 1000;
  const expiresAt = rfc3339Seconds(expiresAtMs);
  await ensureNamespaces(api, namespaces);
  const items = Array.from({ length: count }, (_, j) => ({ namespace: namespaces[j % nsCount]!, name: `lapse-${String(j).padStart(4, '0')}`, app: `l${j}` }));

  const covered = new Map<string, string>();
  const violated = new Map<string, number>();
  const expiredEvents = new Map<string, { arrivedAt: number; eventTime: number }>();
  const allCovered = new Milestone(() => covered.size >= count);
  const pw = await listAndWatch<PodObj>(api, '/api/v1/pods', `labelSelector=${encodeURIComponent('bench.hostns.io/lapse=true')}`, (ev, at) => {
    const l = ev.object.metadata.labels ?? {};
    const id = `${ev.object.metadata.namespace}/${ev.object.metadata.name}`;
    if (l[LABEL_EXCEPTION]) covered.set(id, l[LABEL_EXCEPTION]!);
    if (l[LABEL_VIOLATION] === 'true' && !violated.has(id)) violated.set(id, at);
    allCovered.poke(at);
  });
  const ew = await listAndWatch<{
    metadata: { namespace: string; name: string; resourceVersion?: string };
    reason?: string;
    eventTime?: string;
    regarding?: { kind?: string; name?: string; namespace?: string };
  }>(api, '/apis/events.k8s.io/v1/events', '', (ev, at) => {
    const e = ev.object;
    if (ev.type !== 'ADDED' || e.reason !== 'Expired' || e.regarding?.kind !== 'HostNamespaceException') return;
    const id = `${e.regarding.namespace ?? e.metadata.namespace}/${e.regarding.name}`;
    if (!expiredEvents.has(id)) expiredEvents.set(id, { arrivedAt: at, eventTime: e.eventTime ? Date.parse(e.eventTime) : Number.NaN });
  });

  await mapConcurrent(items, 64, (it) =>
    createIfAbsent(
      api,
      `${EX_PATH}/namespaces/${it.namespace}/hostnamespaceexceptions`,
      exceptionManifest({ namespace: it.namespace, name: it.name, selector: { app: it.app }, expiresAt, labels: { 'bench.hostns.io/lapse': 'true' } }),
    ),
  );
  await mapConcurrent(items, 64, (it) =>
    createIfAbsent(
      api,
      `/api/v1/namespaces/${it.namespace}/pods`,
      podManifest({ namespace: it.namespace, name: it.name, team: 'lapse', host: 'hostNetwork', labels: { app: it.app, 'bench.hostns.io/lapse': 'true' } }),
    ),
  );
  const setupMs = Date.now() - setupStarted;
  const coveredAt = await timeout(allCovered.done, Math.max(0, expiresAtMs - Date.now() - 1000));
  const convergedBeforeExpiry = coveredAt !== undefined;
  log(`  lapse: ${count} exceptions + pods created in ${setupMs} ms; all covered before expiry: ${convergedBeforeExpiry} (${covered.size}/${count}); expiry at ${expiresAt}`);
  const deadline = expiresAtMs + 120_000;
  ctx.audit.skipToEnd();
  while (Date.now() < deadline && (expiredEvents.size < count || violated.size < count)) await sleep(250);
  pw.stop();
  ew.stop();
  await sleep(1500);
  const operatorRequests = countByVerbResource(ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER && r.receivedAt >= expiresAtMs - 1000));
  log(`  lapse: event floor, ${count} Events at concurrency ${ctx.patchConcurrency}`);
  const floor = await runChild<{ doneAt: number[]; totalMs: number }>([
    'bench/floor-events.ts',
    '--kubeconfig',
    ctx.floorKubeconfig,
    '--namespaces',
    namespaces.join(','),
    '--count',
    String(count),
    '--concurrency',
    String(ctx.patchConcurrency),
  ]).catch((err) => {
    log(`  lapse: event floor failed: ${(err as Error).message}`);
    return undefined;
  });
  const ev = [...expiredEvents.values()];
  const result: LapseResult = {
    exceptions: count,
    setupMs,
    convergedBeforeExpiry,
    expiresAt,
    eventDelay: summarize(ev.map((e) => e.arrivedAt - expiresAtMs)),
    eventTimeDelay: summarize(ev.map((e) => e.eventTime - expiresAtMs).filter(Number.isFinite)),
    relabelDelay: summarize([...violated.values()].map((t) => t - expiresAtMs)),
    eventsSeen: expiredEvents.size,
    relabelsSeen: violated.size,
    operatorRequests,
    eventFloor: floor ? summarize(floor.result.doneAt) : undefined,
  };
  if (result.eventFloor) result.ratioP99 = result.eventDelay.p99 / result.eventFloor.p99;
  log(
    `  lapse: Expired Events ${result.eventsSeen}/${count}, p50 ${result.eventDelay.p50} ms p99 ${result.eventDelay.p99} ms (floor p99 ${result.eventFloor?.p99} ms); relabels ${result.relabelsSeen}/${count}, p99 ${result.relabelDelay.p99} ms`,
  );
  return result;
}

/** Deletes namespaces and waits until they are gone (the namespace controller empties them). */
export async function deleteNamespaces(api: Api, names: string[], timeoutMs: number): Promise<boolean> {
  await mapConcurrent(names, 16, (n) => api.raw('DELETE', `/api/v1/namespaces/${n}`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const left = await Promise.all(names.map(async (n) => (await api.raw('GET', `/api/v1/namespaces/${n}`)).status !== 404));
    if (!left.some(Boolean)) return true;
    await sleep(1000);
  }
  return false;
}

export function versionOf(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

export { FIXTURE_LABEL, FIXTURE_NAMESPACES, fixtureExceptionNames, fixtureNamespace };
