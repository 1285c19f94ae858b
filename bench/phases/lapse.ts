// Phase 3, lapse: N exceptions expiring at the same instant, each covering one pod.
import { countByVerbResource, OPERATOR_USER } from '../audit.ts';
import {
  createIfAbsent,
  ensureNamespaces,
  exceptionManifest,
  LABEL_EXCEPTION,
  LABEL_VIOLATION,
  podManifest,
  rfc3339Seconds,
} from '../fixture.ts';
import { mapConcurrent } from '../minimal-client.ts';
import { listAndWatch, Milestone, timeout, type PodObj } from '../observe.ts';
import { summarize, type Summary } from '../stats.ts';
import { type BenchContext, EX_PATH, sleep, runChild } from './common.ts';

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
  const items = Array.from({ length: count }, (_, j) => ({
    namespace: namespaces[j % nsCount]!,
    name: `lapse-${String(j).padStart(4, '0')}`,
    app: `l${j}`,
  }));

  const covered = new Map<string, string>();
  const violated = new Map<string, number>();
  const expiredEvents = new Map<string, { arrivedAt: number; eventTime: number }>();
  const allCovered = new Milestone(() => covered.size >= count);
  const pw = await listAndWatch<PodObj>(
    api,
    '/api/v1/pods',
    `labelSelector=${encodeURIComponent('bench.hostns.io/lapse=true')}`,
    (ev, at) => {
      const l = ev.object.metadata.labels ?? {};
      const id = `${ev.object.metadata.namespace}/${ev.object.metadata.name}`;
      if (l[LABEL_EXCEPTION]) covered.set(id, l[LABEL_EXCEPTION]);
      if (l[LABEL_VIOLATION] === 'true' && !violated.has(id)) violated.set(id, at);
      allCovered.poke(at);
    },
  );
  const ew = await listAndWatch<{
    metadata: { namespace: string; name: string; resourceVersion?: string };
    reason?: string;
    eventTime?: string;
    regarding?: { kind?: string; name?: string; namespace?: string };
  }>(api, '/apis/events.k8s.io/v1/events', '', (ev, at) => {
    const e = ev.object;
    if (ev.type !== 'ADDED' || e.reason !== 'Expired' || e.regarding?.kind !== 'HostNamespaceException') return;
    const id = `${e.regarding.namespace ?? e.metadata.namespace}/${e.regarding.name}`;
    if (!expiredEvents.has(id))
      expiredEvents.set(id, { arrivedAt: at, eventTime: e.eventTime ? Date.parse(e.eventTime) : Number.NaN });
  });

  await mapConcurrent(items, 64, (it) =>
    createIfAbsent(
      api,
      `${EX_PATH}/namespaces/${it.namespace}/hostnamespaceexceptions`,
      exceptionManifest({
        namespace: it.namespace,
        name: it.name,
        selector: { app: it.app },
        expiresAt,
        labels: { 'bench.hostns.io/lapse': 'true' },
      }),
    ),
  );
  await mapConcurrent(items, 64, (it) =>
    createIfAbsent(
      api,
      `/api/v1/namespaces/${it.namespace}/pods`,
      podManifest({
        namespace: it.namespace,
        name: it.name,
        team: 'lapse',
        host: 'hostNetwork',
        labels: { app: it.app, 'bench.hostns.io/lapse': 'true' },
      }),
    ),
  );
  const setupMs = Date.now() - setupStarted;
  const coveredAt = await timeout(allCovered.done, Math.max(0, expiresAtMs - Date.now() - 1000));
  const convergedBeforeExpiry = coveredAt !== undefined;
  log(
    `  lapse: ${count} exceptions + pods created in ${setupMs} ms; all covered before expiry: ${convergedBeforeExpiry} (${covered.size}/${count}); expiry at ${expiresAt}`,
  );
  const deadline = expiresAtMs + 120_000;
  ctx.audit.skipToEnd();
  while (Date.now() < deadline && (expiredEvents.size < count || violated.size < count)) await sleep(250);
  pw.stop();
  ew.stop();
  await sleep(1500);
  const operatorRequests = countByVerbResource(
    ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER && r.receivedAt >= expiresAtMs - 1000),
  );
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
