// Phase `enforcement`: expiresAt -> admission refuses a pod that only the lapsed exception covered.
// N exceptions lapse at the same second, each the only one covering pods labelled app=enf-<j>; from
// just before the expiry, dry-run creates of such a pod (validated and admitted by the API server,
// never stored) are sent for every exception still admitted, round after round, until each is
// refused. The policy compares the pod's creationTimestamp with the grant's expiresAt, so the
// refusal does not wait for the operator; the operator's own param update (the lapsed grant leaving
// the grants object) is timed from a watch as well. Floor: with the operator stopped, grants whose
// expiresAt lies far ahead, taken out at one instant by a minimal client (bench/floor-param-update.ts),
// then the same probe: what enforcement would take if it waited for a param write.
import { createLapsingExceptions, ensureNamespaces, rfc3339Seconds } from '../fixture.ts';
import {
  applyManifests,
  createPod,
  deleteManifests,
  GRANTS_PATH,
  shippedAdmission,
  waitForGrants,
  waitForIndex,
  type GrantSet,
} from '../admission-config.ts';
import { mapConcurrent } from '../minimal-client.ts';
import { listAndWatch } from '../observe.ts';
import { load1 } from '../provenance.ts';
import { ratio, summarize, type Summary } from '../stats.ts';
import type { OperatorProcess } from '../../tools/operator-process.ts';
import { type BenchContext, exemptNamespacesOf, inTrialOrder, runChild, sleep, startOperator } from './common.ts';

/** Exceptions per namespace: under the grants budget (64), as in the lapse phase. */
const PER_NAMESPACE = 50;
const ALLOW = ['hostNetwork', 'hostPID', 'hostIPC'];

interface Target {
  namespace: string;
  exception: string;
  app: string;
}

export interface ProbeRun {
  /** expiresAt (operator) or the instant the floor's writes start. */
  expiryMs: number;
  load: number;
  /** expiry -> the first refused probe's answer, per exception (an upper bound of the enforcement delay). */
  refused: Summary;
  /** Exceptions never refused before the deadline. */
  neverRefused: number;
  /** Probes sent at or after the expiry that were still admitted (each a create the lapse let through). */
  admittedAfterExpiry: number;
  /**
   * Per exception, expiry -> the send of its last probe still admitted after the expiry (0 when none
   * was): a lower bound of the enforcement delay, as `refused` is an upper one.
   */
  stillAdmitted: Summary;
  /** Refusals answered before the expiry (the grant did not admit to begin with). */
  refusedEarly: number;
  probes: number;
  probeErrors: number;
  /** Duration of each probe round (one dry-run create per exception still admitted). */
  roundMs: number[];
}

export interface EnforcementTrial {
  trial: number;
  order: 'floor first' | 'operator first';
  operator: ProbeRun & {
    /** expiresAt -> the operator's grants object no longer carrying the grant as before (watch). */
    paramUpdate: Summary;
  };
  floor: ProbeRun & { floorWrites: Summary; floorLateMs: number };
  ratioP99: number;
}

export interface EnforcementResult {
  exceptions: number;
  leadSeconds: number;
  probeConcurrency: number;
  trials: EnforcementTrial[];
}

function grantOf(t: Target, expiresAt: string) {
  return {
    exception: t.exception,
    allow: ALLOW,
    expiresAt,
    selector: { matchLabels: { app: t.app } },
    contract: { serviceAccountNames: [], images: [], controls: [] },
  };
}

/** As small as a host-network pod gets: the probe's own cost bounds how many fit in a round. */
const probeManifest = (t: Target) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'enf-probe', namespace: t.namespace, labels: { app: t.app } },
  spec: { hostNetwork: true, containers: [{ name: 'probe', image: 'registry.example.com/enf/probe:1' }] },
});

/** One dry-run create per target per round, until each is refused or `deadlineMs`. */
async function probeUntilRefused(
  ctx: BenchContext,
  targets: readonly Target[],
  expiryMs: number,
  concurrency: number,
  deadlineMs: number,
): Promise<ProbeRun> {
  const refusedAt = new Map<Target, number>();
  const lastAdmittedSent = new Map<Target, number>();
  let refusedEarly = 0;
  let admittedAfterExpiry = 0;
  let probes = 0;
  let probeErrors = 0;
  const roundMs: number[] = [];
  await sleep(Math.max(0, expiryMs - 1000 - Date.now()));
  const load = load1();
  let pending = [...targets];
  while (pending.length > 0 && Date.now() < deadlineMs) {
    const roundStarted = Date.now();
    await mapConcurrent(pending, concurrency, async (t) => {
      const r = await createPod(ctx.api, t.namespace, probeManifest(t), true);
      probes++;
      if (r.outcome === 'admitted') {
        if (r.sentAt >= expiryMs) {
          admittedAfterExpiry++;
          lastAdmittedSent.set(t, r.sentAt);
        }
      } else if (r.outcome === 'refused') {
        if (r.answeredAt < expiryMs) refusedEarly++;
        else if (!refusedAt.has(t)) refusedAt.set(t, r.answeredAt);
      } else probeErrors++;
    });
    roundMs.push(Date.now() - roundStarted);
    pending = pending.filter((t) => !refusedAt.has(t));
  }
  return {
    expiryMs,
    load,
    refused: summarize([...refusedAt.values()].map((at) => at - expiryMs)),
    neverRefused: pending.length,
    admittedAfterExpiry,
    stillAdmitted: summarize(targets.map((t) => Math.max(0, (lastAdmittedSent.get(t) ?? expiryMs) - expiryMs))),
    refusedEarly,
    probes,
    probeErrors,
    roundMs,
  };
}

/** Until one dry-run create per target is admitted by all (the grants reached admission). */
async function waitAllAdmitted(ctx: BenchContext, targets: readonly Target[], concurrency: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let pending = [...targets];
  while (pending.length > 0) {
    const outcomes = await mapConcurrent(pending, concurrency, (t) =>
      createPod(ctx.api, t.namespace, probeManifest(t), true),
    );
    pending = pending.filter((_, i) => outcomes[i]!.outcome !== 'admitted');
    if (pending.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(
        `${pending.length} probes not admitted before the lapse: ${outcomes.find((o) => o.detail)?.detail}`,
      );
    await sleep(500);
  }
}

function targetsOf(namespaces: string[], count: number): Target[] {
  return Array.from({ length: count }, (_, j) => ({
    namespace: namespaces[j % namespaces.length]!,
    exception: `enf-${String(j).padStart(4, '0')}`,
    app: `enf-${j}`,
  }));
}

async function operatorHalf(
  ctx: BenchContext,
  t: number,
  count: number,
  leadSeconds: number,
  concurrency: number,
): Promise<EnforcementTrial['operator']> {
  const { api, log } = ctx;
  const nsCount = Math.ceil(count / PER_NAMESPACE);
  const namespaces = Array.from({ length: nsCount }, (_, n) => `bench-enforce-${t}-${n}`);
  const targets = targetsOf(namespaces, count);
  await ensureNamespaces(api, namespaces);
  const expiryMs = Math.ceil((Date.now() + leadSeconds * 1000) / 1000) * 1000;
  const expiresAt = rfc3339Seconds(expiryMs);

  // The operator's param update: when each grant stops appearing as it did before the expiry.
  const before = new Map<string, string>();
  const changedAt = new Map<string, number>();
  const mine = new Set(namespaces);
  const watch = await listAndWatch<GrantSet>(api, '/apis/hostns.io/v1alpha1/hostnamespacegrantsets', '', (ev, at) => {
    const ns = ev.object.metadata?.namespace ?? '';
    if (!mine.has(ns)) return;
    const now = new Map((ev.object.spec?.grants ?? []).map((g) => [`${ns}/${g.exception}`, JSON.stringify(g)]));
    if (at < expiryMs) for (const [k, v] of now) before.set(k, v);
    else
      for (const [k, v] of before)
        if (!changedAt.has(k) && (ev.type === 'DELETED' || now.get(k) !== v)) changedAt.set(k, at);
  });
  try {
    const exceptions = targets.map((x) => ({ namespace: x.namespace, name: x.exception, app: x.app }));
    await createLapsingExceptions(api, exceptions, expiresAt, { 'bench.hostns.io/enforcement': 'true' });
    const fewest = Math.floor(count / nsCount);
    await waitForGrants(api, namespaces, fewest, Math.max(10_000, expiryMs - Date.now() - 5000));
    await waitForIndex(api, namespaces, Math.max(10_000, expiryMs - Date.now() - 5000));
    await waitAllAdmitted(ctx, targets, concurrency, Math.max(5000, expiryMs - Date.now() - 3000));
    if (Date.now() > expiryMs - 1000) log('  enforcement: setup ran into the expiry; raise --enforce-lead');
    const run = await probeUntilRefused(ctx, targets, expiryMs, concurrency, expiryMs + 120_000);
    // The operator updates the grants after the lapse's Events and statuses (its lanes): on a busy
    // machine, a minute or more after the refusals began.
    const paramDeadline = expiryMs + 180_000;
    while (changedAt.size < targets.length && Date.now() < paramDeadline) await sleep(500);
    return {
      ...run,
      paramUpdate: summarize(
        targets.flatMap((x) => {
          const at = changedAt.get(`${x.namespace}/${x.exception}`);
          return at === undefined ? [] : [at - expiryMs];
        }),
      ),
    };
  } finally {
    watch.stop();
  }
}

async function floorHalf(
  ctx: BenchContext,
  live: { op: OperatorProcess },
  t: number,
  count: number,
  concurrency: number,
): Promise<EnforcementTrial['floor']> {
  const { api } = ctx;
  const nsCount = Math.ceil(count / PER_NAMESPACE);
  const namespaces = Array.from({ length: nsCount }, (_, n) => `bench-enforce-floor-${t}-${n}`);
  const targets = targetsOf(namespaces, count);
  await ensureNamespaces(api, namespaces);
  // The operator writes each namespace's (empty) grants object and lists it in the grant index;
  // then it stops, so that nothing but the floor writes the params.
  await waitForGrants(api, namespaces, 0, 60_000);
  await waitForIndex(api, namespaces, 60_000);
  await live.op.stop();
  try {
    const farAhead = rfc3339Seconds(Date.now() + 60 * 86400_000);
    await mapConcurrent(namespaces, 16, (ns) =>
      api.json(
        'PATCH',
        GRANTS_PATH(ns),
        { spec: { grants: targets.filter((x) => x.namespace === ns).map((x) => grantOf(x, farAhead)) } },
        'application/merge-patch+json',
      ),
    );
    await waitAllAdmitted(ctx, targets, concurrency, 30_000);
    // Time for the floor's process to start and open its connections before `at` (it reports lateness).
    const at = Date.now() + 8000;
    const floor = runChild<{ lateMs: number; doneAt: number[] }>([
      'bench/floor-param-update.ts',
      '--kubeconfig',
      ctx.floorKubeconfig,
      '--namespaces',
      namespaces.join(','),
      '--at',
      String(at),
      '--concurrency',
      String(ctx.patchConcurrency),
    ]);
    const run = await probeUntilRefused(ctx, targets, at, concurrency, at + 120_000);
    const { result } = await floor;
    return { ...run, floorWrites: summarize(result.doneAt), floorLateMs: result.lateMs };
  } finally {
    live.op = await startOperator(ctx);
    await live.op.waitReady(300_000);
  }
}

/**
 * `live.op` is the running operator; the floor stops and restarts it, so it may be a new process
 * afterwards (also when a trial failed).
 */
export async function runEnforcement(
  ctx: BenchContext,
  live: { op: OperatorProcess },
  count: number,
  leadSeconds: number,
  probeConcurrency: number,
  trialCount: number,
): Promise<EnforcementResult> {
  const result: EnforcementResult = { exceptions: count, leadSeconds, probeConcurrency, trials: [] };
  const shipped = shippedAdmission(exemptNamespacesOf(ctx));
  await applyManifests(ctx.api, shipped);
  try {
    for (let t = 0; t < trialCount; t++) {
      const { order, floor, operator } = await inTrialOrder(
        t,
        () => floorHalf(ctx, live, t, count, probeConcurrency),
        () => operatorHalf(ctx, t, count, leadSeconds, probeConcurrency),
      );
      const trial: EnforcementTrial = {
        trial: t + 1,
        order,
        operator,
        floor,
        ratioP99: ratio(operator.refused.p99, floor.refused.p99),
      };
      result.trials.push(trial);
      const o = trial.operator;
      const f = trial.floor;
      ctx.log(
        `  enforcement trial ${t + 1}/${trialCount} (${order}): refused p50 ${o.refused.p50} p99 ${o.refused.p99} ms (${o.refused.count}/${count}, admitted after expiry ${o.admittedAfterExpiry}, rounds ${o.roundMs.join('/')} ms), operator param update p99 ${o.paramUpdate.p99} ms; floor refused p50 ${f.refused.p50} p99 ${f.refused.p99} ms (admitted after ${f.admittedAfterExpiry}, writes p99 ${f.floorWrites.p99} ms); ratio p99 ${trial.ratioP99.toFixed(2)}; load ${o.load}/${f.load}`,
      );
    }
  } finally {
    await deleteManifests(ctx.api, shipped);
  }
  return result;
}
