// Phase 2, steady state: pods created at a fixed rate into one namespace while the operator holds
// the whole fixture; create -> label by the operator against create -> label by a minimal client
// (bench/floor-steady.ts: watch delivery plus the same required write round trips) in a namespace
// the operator exempts, so both windows run with the same operator and watches in the background.
import { spawn } from 'node:child_process';
import { countByVerbResource, OPERATOR_USER, WRITE_VERBS } from '../audit.ts';
import {
  createIfAbsent,
  ensureNamespaces,
  exceptionManifest,
  LABEL_EXCEPTION,
  LABEL_VIOLATION,
  podManifest,
  rfc3339Seconds,
} from '../fixture.ts';
import { withRetry } from '../minimal-client.ts';
import { listAndWatch, type ExceptionObj, type PodObj } from '../observe.ts';
import { load1 } from '../provenance.ts';
import { ratio, summarize, type Summary } from '../stats.ts';
import { metricSum, type OperatorProcess } from '../../tools/operator-process.ts';
import { type BenchContext, EX_PATH, inTrialOrder, NODE, sleep } from './common.ts';

/** Where the floor's windows run: the operator is started with these namespaces exempt. */
export const floorSteadyNamespace = (trial: number) => `bench-floor-steady-${trial}`;
const FLOOR_STEADY_LABEL = 'bench.hostns.io/floor-label';

export interface SteadyWindow {
  namespace: string;
  load: number;
  seconds: number;
  created: number;
  createErrors: number;
  labelledExpected: number;
  labelledSeen: number;
  labelLatency: Summary;
  /** Split: covered pods need one PATCH; offenders an Event first, then the PATCH. */
  labelLatencyCovered: Summary;
  labelLatencyOffender: Summary;
  /** create -> ADDED seen by the bench's plain watch (all pods). */
  watchLatency: Summary;
}

export interface SteadyTrial {
  trial: number;
  order: 'floor first' | 'operator first';
  operator: SteadyWindow & {
    operatorRequests: Record<string, number>;
    operatorRequestsTotal: number;
    requestsPerPod: number;
    writesPerLabelledPod: number;
    reconciles?: number;
    requestsPerReconcile?: number;
  };
  floor: SteadyWindow;
  ratioP50: number;
  ratioP99: number;
}

export interface SteadyResult {
  rate: number;
  seconds: number;
  trials: SteadyTrial[];
}

/** Creates pods at `rate`/s for `seconds` into `ns` and times create -> `labelled(pod)` by a watch. */
async function window(
  ctx: BenchContext,
  ns: string,
  rate: number,
  seconds: number,
  labelled: (labels: Record<string, string>) => boolean,
): Promise<SteadyWindow> {
  const { api } = ctx;
  const sentAt = new Map<string, number>();
  const seenAt = new Map<string, number>();
  const labelAt = new Map<string, number>();
  const expectLabel = new Set<string>();
  const offenders = new Set<string>();
  const w = await listAndWatch<PodObj>(api, `/api/v1/namespaces/${ns}/pods`, '', (ev, at) => {
    const name = ev.object.metadata.name;
    if (ev.type === 'ADDED' && !seenAt.has(name)) seenAt.set(name, at);
    if (labelled(ev.object.metadata.labels ?? {}) && !labelAt.has(name)) labelAt.set(name, at);
  });
  const load = load1();
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
      withRetry(() =>
        api.json(
          'POST',
          `/api/v1/namespaces/${ns}/pods`,
          podManifest({ namespace: ns, name, team, host: host ? 'hostNetwork' : undefined }),
        ),
      )
        .then(() => undefined)
        .catch(() => {
          createErrors++;
        })
        .finally(() => inFlight--),
    );
  }
  await Promise.all(pending);
  const windowEnd = Date.now();
  const settleDeadline = Date.now() + 30_000;
  while (Date.now() < settleDeadline && [...expectLabel].some((n) => sentAt.has(n) && !labelAt.has(n)))
    await sleep(200);
  w.stop();
  const done = [...expectLabel].filter((n) => sentAt.has(n) && labelAt.has(n));
  const lat = (names: string[]) => summarize(names.map((n) => labelAt.get(n)! - sentAt.get(n)!));
  return {
    namespace: ns,
    load,
    seconds: (windowEnd - started) / 1000,
    created: sentAt.size,
    createErrors,
    labelledExpected: [...expectLabel].filter((n) => sentAt.has(n)).length,
    labelledSeen: done.length,
    labelLatency: lat(done),
    labelLatencyCovered: lat(done.filter((n) => !offenders.has(n))),
    labelLatencyOffender: lat(done.filter((n) => offenders.has(n))),
    watchLatency: summarize(
      [...sentAt.keys()].filter((n) => seenAt.has(n)).map((n) => seenAt.get(n)! - sentAt.get(n)!),
    ),
  };
}

async function operatorWindow(
  ctx: BenchContext,
  op: OperatorProcess,
  trial: number,
  rate: number,
  seconds: number,
): Promise<SteadyTrial['operator']> {
  const { api } = ctx;
  const ns = `bench-steady-${trial}`;
  await ensureNamespaces(api, [ns]);
  await createIfAbsent(
    api,
    `${EX_PATH}/namespaces/${ns}/hostnamespaceexceptions`,
    exceptionManifest({
      namespace: ns,
      name: 'allow-t0',
      selector: { team: 't0' },
      expiresAt: rfc3339Seconds(Date.now() + 60 * 86400_000),
    }),
  );
  // The exception must be in the operator's cache before the window: wait for its status.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const e = await api.get<ExceptionObj>(`${EX_PATH}/namespaces/${ns}/hostnamespaceexceptions/allow-t0`);
    if (e.status?.observedGeneration === e.metadata.generation) break;
    await sleep(200);
  }
  await sleep(1500);
  const metricsBefore = (await op.get('/metrics').catch(() => undefined))?.text ?? '';
  ctx.audit.skipToEnd();
  const w = await window(ctx, ns, rate, seconds, (l) => !!(l[LABEL_VIOLATION] || l[LABEL_EXCEPTION]));
  await sleep(1500);
  const metricsAfter = (await op.get('/metrics').catch(() => undefined))?.text ?? '';
  const records = ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER);
  const writes = records.filter((r) => WRITE_VERBS.has(r.verb)).length;
  const reconciles =
    (metricSum(metricsAfter, 'hostns_reconcile_duration_seconds_count') ?? Number.NaN) -
    (metricSum(metricsBefore, 'hostns_reconcile_duration_seconds_count') ?? 0);
  return {
    ...w,
    operatorRequests: countByVerbResource(records),
    operatorRequestsTotal: records.length,
    requestsPerPod: records.length / Math.max(1, w.created),
    writesPerLabelledPod: writes / Math.max(1, w.labelledSeen),
    reconciles: Number.isFinite(reconciles) ? reconciles : undefined,
    requestsPerReconcile: reconciles > 0 ? records.length / reconciles : undefined,
  };
}

async function floorWindow(ctx: BenchContext, trial: number, rate: number, seconds: number): Promise<SteadyWindow> {
  const ns = floorSteadyNamespace(trial);
  await ensureNamespaces(ctx.api, [ns]);
  const child = spawn(
    NODE,
    [
      'bench/floor-steady.ts',
      '--kubeconfig',
      ctx.floorKubeconfig,
      '--namespace',
      ns,
      '--covered',
      'team=t0',
      '--concurrency',
      String(ctx.patchConcurrency),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (err += c));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 30_000;
  while (!out.includes('ready\n')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`floor-steady did not start: ${err}`);
    await sleep(50);
  }
  try {
    return await window(ctx, ns, rate, seconds, (l) => !!l[FLOOR_STEADY_LABEL]);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

export async function runSteady(
  ctx: BenchContext,
  op: OperatorProcess,
  rate: number,
  seconds: number,
  count: number,
): Promise<SteadyResult> {
  const result: SteadyResult = { rate, seconds, trials: [] };
  for (let t = 0; t < count; t++) {
    const { order, floor, operator } = await inTrialOrder(
      t,
      () => floorWindow(ctx, t, rate, seconds),
      () => operatorWindow(ctx, op, t, rate, seconds),
    );
    const trial: SteadyTrial = {
      trial: t + 1,
      order,
      operator,
      floor,
      ratioP50: ratio(operator.labelLatency.p50, floor.labelLatency.p50),
      ratioP99: ratio(operator.labelLatency.p99, floor.labelLatency.p99),
    };
    result.trials.push(trial);
    ctx.log(
      `  steady trial ${t + 1}/${count} (${order}): operator p50 ${operator!.labelLatency.p50} p99 ${operator!.labelLatency.p99} ms (${operator!.labelledSeen}/${operator!.labelledExpected}); floor p50 ${floor!.labelLatency.p50} p99 ${floor!.labelLatency.p99} ms (${floor!.labelledSeen}/${floor!.labelledExpected}); ratio p99 ${trial.ratioP99.toFixed(2)}; load ${operator!.load}/${floor!.load}`,
    );
  }
  return result;
}
