// Phase 5, write amplification: a restart on a converged cluster.
import { deltaByKey, requestTotalsByVerb, total } from '../audit.ts';
import type { Api } from '../minimal-client.ts';
import type { OperatorProcess } from '../../tools/operator-process.ts';
import { type BenchContext, operatorRecords, sleep, startOperator, waitOperatorQuiet } from './common.ts';

export interface RestartResult {
  quietBeforeMs: number;
  readyMs?: number;
  observedMs: number;
  writes: Record<string, number>;
  /** Lease renewals (leader election), not counted as writes. */
  leaseWrites: number;
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

export async function runRestart(
  ctx: BenchContext,
  op: OperatorProcess,
  observeMs: number,
): Promise<{ result: RestartResult; op: OperatorProcess }> {
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
  const { writes, leaseWrites, requests } = operatorRecords(ctx.audit.readNew());
  const result: RestartResult = {
    quietBeforeMs,
    readyMs: readyAt ? readyAt - next.startedAt : undefined,
    observedMs: Date.now() - next.startedAt,
    writes,
    leaseWrites,
    requests,
    apiserverWriteDelta: deltaByKey(a0, a1),
    apiserverWriteDeltaBaseline: deltaByKey(b0, b1),
    windowSeconds,
    baselineSeconds,
  };
  log(
    `  restart: ready ${result.readyMs} ms; operator writes ${total(writes)} ${JSON.stringify(writes)}; apiserver write delta ${JSON.stringify(result.apiserverWriteDelta)}`,
  );
  return { result, op: next };
}
