// Phase 1, startup: from process start to every pod labelled and every status written, with the
// API server's CPU and the operator's requests (audit log), against a minimal-client floor.
import { FLOOR_USER, OPERATOR_USER, total, WRITE_VERBS, type AuditRecord } from '../audit.ts';
import { expectationFor, LABEL_EXCEPTION, LABEL_VIOLATION, type Expectation } from '../fixture.ts';
import type { Api } from '../minimal-client.ts';
import { listAndWatch, Milestone, timeout, type ExceptionObj, type PodObj } from '../observe.ts';
import { load1 } from '../provenance.ts';
import { cpuSeconds, CpuMeter } from '../procstat.ts';
import { ratio } from '../stats.ts';
import type { OperatorProcess } from '../../tools/operator-process.ts';
import {
  type BenchContext,
  countPods,
  EX_PATH,
  operatorRecords,
  resetOperatorState,
  runChild,
  sleep,
  startOperator,
} from './common.ts';
import { measureOperator, type OperatorMemory } from './memory.ts';

export interface FloorResult {
  pods: number;
  labelled: number;
  offenders: number;
  /** Events on the offenders' workloads: one per distinct (workload, cause). Absent in older results. */
  workloadEvents?: number;
  exceptions: number;
  writes: number;
  listMs: number;
  writeMs: number;
  inProcessMs: number;
  cpuSeconds?: number;
}

export interface StartupTrial {
  trial: number;
  /** Which of the two ran first in this trial (they alternate). */
  order: 'floor first' | 'operator first';
  floor: FloorResult & { wallMs: number; auditWrites: number; load: number };
  operator: {
    /** The 1-minute load average when the operator started. */
    load: number;
    readyMs?: number;
    labelsMs?: number;
    statusMs?: number;
    convergedMs?: number;
    timedOut: boolean;
    writes: Record<string, number>;
    /** Lease renewals (leader election), not in `writes`. */
    leaseWrites: number;
    requests: Record<string, number>;
    /** From the audit log, ms after process start: when its requests reached the API server. */
    timeline?: {
      firstRequestMs?: number;
      lastListPodsMs?: number;
      firstWriteMs?: number;
      lastWriteMs?: number;
      writesPerSecond?: number;
    };
    memory?: OperatorMemory;
  };
  ratio: number;
  /** CPU seconds burned: by the client process itself, and by kube-apiserver and etcd meanwhile. */
  cpu: { floor: Record<string, number | undefined>; operator: Record<string, number | undefined> };
}

export interface StartupResult {
  size: number;
  podsInCluster: number;
  expectedOffenders: number;
  expectedCovered: number;
  exceptions: number;
  trials: StartupTrial[];
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
      if (!e?.status || e.status.observedGeneration !== e.metadata.generation || e.status.coveredPods !== n)
        return false;
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
  const w1 = await listAndWatch<PodObj>(
    api,
    '/api/v1/pods',
    `labelSelector=${encodeURIComponent(LABEL_VIOLATION)}`,
    track(violation, LABEL_VIOLATION),
  );
  const w2 = await listAndWatch<PodObj>(
    api,
    '/api/v1/pods',
    `labelSelector=${encodeURIComponent(LABEL_EXCEPTION)}`,
    track(exception, LABEL_EXCEPTION),
  );
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

function startupTimeline(records: AuditRecord[], t0: number): NonNullable<StartupTrial['operator']['timeline']> {
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
    writesPerSecond:
      first !== undefined && last !== undefined && last > first ? (writes.length * 1000) / (last - first) : undefined,
  };
}

async function runFloor(
  ctx: BenchContext,
): Promise<StartupTrial['floor'] & { cpu: Record<string, number | undefined> }> {
  await resetOperatorState(ctx);
  const load = load1();
  ctx.audit.skipToEnd();
  const meter = new CpuMeter({ ...ctx.controlPlane });
  const floor = await runChild<FloorResult>([
    'bench/floor-startup.ts',
    '--kubeconfig',
    ctx.floorKubeconfig,
    '--concurrency',
    String(ctx.patchConcurrency),
    '--value',
    `run-${Date.now()}`,
  ]);
  const cpu = { client: floor.result.cpuSeconds, ...meter.read() };
  await sleep(1500); // audit batch flush
  const auditWrites = ctx.audit.readNew().filter((r) => r.user === FLOOR_USER && WRITE_VERBS.has(r.verb)).length;
  const f = floor.result;
  ctx.log(
    `  floor: ${floor.wallMs} ms (list ${f.listMs} ms, ${f.writes} writes in ${f.writeMs} ms: ${f.labelled} labels, ${f.offenders} violation Events, ${f.workloadEvents ?? 0} on workloads, ${f.exceptions} x (Event + status), grants); load ${load}`,
  );
  return { ...f, wallMs: floor.wallMs, auditWrites, load, cpu };
}

/** Resets, starts the operator and waits until every expected mark and status is there. */
async function runOperator(
  ctx: BenchContext,
  exp: Expectation,
  timeoutMs: number,
): Promise<{ result: StartupTrial['operator']; cpu: Record<string, number | undefined>; op: OperatorProcess }> {
  const { api, log } = ctx;
  await resetOperatorState(ctx);
  const conv = await watchConvergence(api, exp);
  ctx.audit.skipToEnd();
  const load = load1();
  const meter = new CpuMeter({ ...ctx.controlPlane });
  const op = await startOperator(ctx);
  const ready = op.waitReady(timeoutMs).catch((e) => {
    log(`  operator: ${(e as Error).message}`);
    return undefined;
  });
  const finished = await timeout(Promise.all([conv.labels.done, conv.status.done]), timeoutMs);
  const cpu = { client: cpuSeconds(op.child.pid), ...meter.read() };
  const readyAt = await timeout(ready, 5000);
  conv.stop();
  const memory = await measureOperator(op);
  await sleep(1500);
  const records = ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER);
  const { writes, leaseWrites, requests } = operatorRecords(records);
  const timedOut = finished === undefined;
  if (timedOut) log(`  operator: not converged within ${timeoutMs} ms; missing ${JSON.stringify(conv.missing())}`);
  const convergedMs = timedOut ? undefined : Math.max(...finished) - op.startedAt;
  const result: StartupTrial['operator'] = {
    load,
    readyMs: readyAt ? readyAt - op.startedAt : undefined,
    labelsMs: conv.labels.at ? conv.labels.at - op.startedAt : undefined,
    statusMs: conv.status.at ? conv.status.at - op.startedAt : undefined,
    convergedMs,
    timedOut,
    writes,
    leaseWrites,
    requests,
    timeline: startupTimeline(
      records.filter((r) => r.resource !== 'leases'),
      op.startedAt,
    ),
    memory,
  };
  const mib = (b?: number) => (b === undefined ? 'n/a' : `${Math.round(b / 2 ** 20)} MiB`);
  log(
    `  operator: converged in ${convergedMs ?? 'n/a'} ms (ready ${result.readyMs ?? 'n/a'} ms); ${total(writes)} writes ${JSON.stringify(writes)}; peak RSS ${mib(memory.peakRss)}, heap ${mib(memory.heap?.heapUsed)}; load ${load}`,
  );
  return { result, cpu, op };
}

/**
 * `count` trials on the same pods, floor and operator alternating which goes first, each from the
 * reset state. Returns the results and the operator left running and converged (the last run of
 * an odd count is the operator's; otherwise one more, unrecorded start).
 */
export async function runStartup(
  ctx: BenchContext,
  size: number,
  count: number,
  timeoutMs: number,
): Promise<{ result: StartupResult; op: OperatorProcess }> {
  const exp = expectationFor(size);
  const result: StartupResult = {
    size,
    podsInCluster: await countPods(ctx.api),
    expectedOffenders: exp.offenders.size,
    expectedCovered: exp.covered.size,
    exceptions: exp.coveredPods.size,
    trials: [],
  };
  let op: OperatorProcess | undefined;
  for (let t = 0; t < count; t++) {
    const order: StartupTrial['order'] = t % 2 === 0 ? 'floor first' : 'operator first';
    ctx.log(`  startup trial ${t + 1}/${count} (${order})`);
    let floor: Awaited<ReturnType<typeof runFloor>> | undefined;
    let operator: Awaited<ReturnType<typeof runOperator>> | undefined;
    for (const step of order === 'floor first' ? ['floor', 'operator'] : ['operator', 'floor']) {
      if (step === 'floor') floor = await runFloor(ctx);
      else {
        await op?.stop();
        operator = await runOperator(ctx, exp, timeoutMs);
        op = operator.op;
        if (order === 'operator first') await op.stop();
      }
    }
    const { cpu: floorCpu, ...floorResult } = floor!;
    result.trials.push({
      trial: t + 1,
      order,
      floor: floorResult,
      operator: operator!.result,
      ratio: ratio(operator!.result.convergedMs ?? Number.NaN, floorResult.wallMs),
      cpu: { floor: floorCpu, operator: operator!.cpu },
    });
  }
  if (!op?.running) {
    ctx.log('  operator: one more start so later phases find it converged (not a trial)');
    op = (await runOperator(ctx, exp, timeoutMs)).op;
  }
  return { result, op };
}
