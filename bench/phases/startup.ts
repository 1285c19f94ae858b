// Phase 1, startup: from process start to every pod labelled and every status written, with the
// API server's CPU and the operator's requests (audit log), against a minimal-client floor.
import { FLOOR_USER, OPERATOR_USER, WRITE_VERBS, type AuditRecord } from '../audit.ts';
import { expectationFor, LABEL_EXCEPTION, LABEL_VIOLATION, type Expectation } from '../fixture.ts';
import type { Api } from '../minimal-client.ts';
import { listAndWatch, Milestone, timeout, type ExceptionObj, type PodObj } from '../observe.ts';
import type { OperatorProcess } from '../operator.ts';
import { cpuSeconds, CpuMeter } from '../procstat.ts';
import { type BenchContext, EX_PATH, sleep, startOperator, runChild, countPods, operatorRecords } from './common.ts';

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
    timeline?: {
      firstRequestMs?: number;
      lastListPodsMs?: number;
      firstWriteMs?: number;
      lastWriteMs?: number;
      writesPerSecond?: number;
    };
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
    writesPerSecond:
      first !== undefined && last !== undefined && last > first ? (writes.length * 1000) / (last - first) : undefined,
  };
}

/**
 * Floor then operator on the same pods. Leaves the operator running (converged) and returns it.
 */
export async function runStartup(
  ctx: BenchContext,
  size: number,
  timeoutMs: number,
): Promise<{ result: StartupResult; op: OperatorProcess }> {
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
  log(
    `  floor: ${floor.wallMs} ms (list ${floor.result.listMs} ms, ${floor.result.patched} patches ${floor.result.patchMs} ms)`,
  );

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
  log(
    `  operator: converged in ${convergedMs ?? 'n/a'} ms (ready ${result.operator.readyMs ?? 'n/a'} ms); writes ${JSON.stringify(writes)}; cpu ${JSON.stringify(result.cpu)}`,
  );
  return { result, op };
}
