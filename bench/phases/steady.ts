// Phase 2, steady state: pods created at a fixed rate; create -> label vs create -> seen by a plain watch.
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
import type { OperatorProcess } from '../operator.ts';
import { metricSum } from '../operator.ts';
import { summarize, type Summary } from '../stats.ts';
import { type BenchContext, EX_PATH, sleep } from './common.ts';

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

export async function runSteady(
  ctx: BenchContext,
  op: OperatorProcess,
  rate: number,
  seconds: number,
): Promise<SteadyResult> {
  const { api, log } = ctx;
  const ns = 'bench-steady';
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
  // Let the last ones land.
  const settleDeadline = Date.now() + 30_000;
  while (Date.now() < settleDeadline && [...expectLabel].some((n) => sentAt.has(n) && !labelAt.has(n)))
    await sleep(200);
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
    labelLatencyCovered: summarize(
      labelled.filter((n) => !offenders.has(n)).map((n) => labelAt.get(n)! - sentAt.get(n)!),
    ),
    labelLatencyOffender: summarize(
      labelled.filter((n) => offenders.has(n)).map((n) => labelAt.get(n)! - sentAt.get(n)!),
    ),
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
  log(
    `  steady: label p50 ${ls.p50} ms p99 ${ls.p99} ms; watch p50 ${ws.p50} ms p99 ${ws.p99} ms; ${records.length} operator requests for ${sentAt.size} pods`,
  );
  return result;
}

/** Deltas of the operator's own counters: reconciles (histogram count) and API requests it sent. */
function findReconcileMetric(
  before: string,
  after: string,
): { name: string; delta: number; ownRequestCount?: number } | undefined {
  const d = (name: string) => {
    const a = metricSum(after, name);
    return a === undefined ? undefined : a - (metricSum(before, name) ?? 0);
  };
  const reconciles = d('hostns_reconcile_duration_seconds_count');
  if (reconciles === undefined) return undefined;
  return {
    name: 'hostns_reconcile_duration_seconds_count',
    delta: reconciles,
    ownRequestCount: d('hostns_api_requests_total'),
  };
}
