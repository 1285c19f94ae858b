// Phase 3, lapse: N exceptions expiring at the same instant, each covering one pod.
import { countByVerbResource, OPERATOR_USER } from '../audit.ts';
import {
  createIfAbsent,
  createLapsingExceptions,
  ensureNamespaces,
  LABEL_EXCEPTION,
  LABEL_VIOLATION,
  podManifest,
  rfc3339Seconds,
} from '../fixture.ts';
import { mapConcurrent } from '../minimal-client.ts';
import { listAndWatch, Milestone, timeout, type PodObj } from '../observe.ts';
import { load1 } from '../provenance.ts';
import { ratio, summarize, type Summary } from '../stats.ts';
import { type BenchContext, sleep, runChild } from './common.ts';

export interface LapseTrial {
  trial: number;
  /** Floors before the expiry (while the exceptions still grant) or after the lapse converged. */
  order: 'floors first' | 'operator first';
  /** 1-minute load average at expiresAt. */
  load: number;
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
  /** Floor: one PATCH on each lapsing pod by a minimal client at the operator's concurrency. */
  patchFloor?: Summary;
  /**
   * Floor: the writes the lapse requires, in the operator's order (an Expired Event per exception,
   * then per pod its violation Event, its workload's and the PATCH); the pods' completion times.
   */
  writesFloor?: Summary;
  eventRatioP99: number;
  relabelRatioP99: number;
  /** Relabel p99 against `writesFloor`: the same required work, not the PATCHes alone. */
  relabelWritesRatioP99?: number;
}

export interface LapseResult {
  exceptions: number;
  leadSeconds: number;
  trials: LapseTrial[];
}

export async function runLapse(
  ctx: BenchContext,
  count: number,
  leadSeconds: number,
  trials: number,
): Promise<LapseResult> {
  const result: LapseResult = { exceptions: count, leadSeconds, trials: [] };
  for (let t = 0; t < trials; t++) result.trials.push(await runLapseTrial(ctx, count, leadSeconds, t, trials));
  return result;
}

/** The three floors, each its own process, on the trial's namespaces and pods. */
async function lapseFloors(ctx: BenchContext, namespaces: string[], count: number) {
  const floor = (what: string) =>
    runChild<{ doneAt: number[]; totalMs: number }>([
      'bench/floor-writes.ts',
      '--kubeconfig',
      ctx.floorKubeconfig,
      '--what',
      what,
      '--namespaces',
      namespaces.join(','),
      '--count',
      String(count),
      '--selector',
      'bench.hostns.io/lapse=true',
      '--concurrency',
      String(ctx.patchConcurrency),
    ])
      .then((r) => summarize(r.result.doneAt))
      .catch((err) => {
        ctx.log(`  lapse: ${what} floor failed: ${(err as Error).message}`);
        return undefined;
      });
  return { events: await floor('events'), patches: await floor('patches'), writes: await floor('lapse') };
}

async function runLapseTrial(
  ctx: BenchContext,
  count: number,
  leadSeconds: number,
  t: number,
  trials: number,
): Promise<LapseTrial> {
  const { api, log } = ctx;
  const order: LapseTrial['order'] = t % 2 === 0 ? 'floors first' : 'operator first';
  // 20 namespaces of 50: under the grants' per-namespace bound (64), so admission stays honest.
  const nsCount = 20;
  const namespaces = Array.from({ length: nsCount }, (_, n) => `bench-lapse-${t}-${n}`);
  const mine = (ns: string) => namespaces.includes(ns);
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
      if (!mine(ev.object.metadata.namespace)) return; // an earlier trial's pod
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
    const ns = e.regarding.namespace ?? e.metadata.namespace;
    if (!mine(ns)) return;
    const id = `${ns}/${e.regarding.name}`;
    if (!expiredEvents.has(id))
      expiredEvents.set(id, { arrivedAt: at, eventTime: e.eventTime ? Date.parse(e.eventTime) : Number.NaN });
  });

  await createLapsingExceptions(api, items, expiresAt, { 'bench.hostns.io/lapse': 'true' });
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
  let floors: Awaited<ReturnType<typeof lapseFloors>> | undefined;
  if (order === 'floors first') {
    floors = await lapseFloors(ctx, namespaces, count);
    if (Date.now() > expiresAtMs - 1000) log('  lapse: the floors ran into the expiry; raise --lapse-lead');
  }
  await sleep(Math.max(0, expiresAtMs - Date.now() - 500));
  const load = load1();
  const deadline = expiresAtMs + 120_000;
  ctx.audit.skipToEnd();
  while (Date.now() < deadline && (expiredEvents.size < count || violated.size < count)) await sleep(250);
  pw.stop();
  ew.stop();
  await sleep(1500);
  const operatorRequests = countByVerbResource(
    ctx.audit.readNew().filter((r) => r.user === OPERATOR_USER && r.receivedAt >= expiresAtMs - 1000),
  );
  floors ??= await lapseFloors(ctx, namespaces, count);
  const ev = [...expiredEvents.values()];
  const relabelDelay = summarize([...violated.values()].map((t) => t - expiresAtMs));
  const eventDelay = summarize(ev.map((e) => e.arrivedAt - expiresAtMs));
  const result: LapseTrial = {
    trial: t + 1,
    order,
    load,
    exceptions: count,
    setupMs,
    convergedBeforeExpiry,
    expiresAt,
    eventDelay,
    eventTimeDelay: summarize(ev.map((e) => e.eventTime - expiresAtMs).filter(Number.isFinite)),
    relabelDelay,
    eventsSeen: expiredEvents.size,
    relabelsSeen: violated.size,
    operatorRequests,
    eventFloor: floors.events,
    patchFloor: floors.patches,
    writesFloor: floors.writes,
    relabelWritesRatioP99: ratio(relabelDelay.p99, floors.writes?.p99 ?? Number.NaN),
    eventRatioP99: ratio(eventDelay.p99, floors.events?.p99 ?? Number.NaN),
    relabelRatioP99: ratio(relabelDelay.p99, floors.patches?.p99 ?? Number.NaN),
  };
  log(
    `  lapse trial ${t + 1}/${trials} (${order}): Expired Events ${result.eventsSeen}/${count}, p50 ${eventDelay.p50} ms p99 ${eventDelay.p99} ms (floor p99 ${floors.events?.p99} ms, ${result.eventRatioP99.toFixed(2)}x); relabels ${result.relabelsSeen}/${count}, p99 ${relabelDelay.p99} ms (PATCH floor p99 ${floors.patches?.p99} ms, ${result.relabelRatioP99.toFixed(2)}x; writes floor p99 ${floors.writes?.p99} ms, ${result.relabelWritesRatioP99?.toFixed(2)}x); load ${load}`,
  );
  return result;
}
