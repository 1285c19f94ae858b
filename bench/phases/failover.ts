// Phase `failover`: two replicas with --leader-elect (the production form's), the leader SIGKILLed in
// the middle of N simultaneous lapses. The standby runs under its own user, so the API server's audit
// log tells its requests apart: what it costs while it waits, when it took the Lease, when it wrote
// first. From the bench's watches: when every Expired Event and every Expired status was there, and
// whether an exception got no Expired Event or more than one. The reference is the Lease duration
// (a standby may take over only once the dead leader's Lease ran out).
import { STANDBY_USER, WRITE_VERBS, countByVerbResource } from '../audit.ts';
import { createLapsingExceptions, ensureNamespaces, rfc3339Seconds } from '../fixture.ts';
import { listAndWatch, type ExceptionObj } from '../observe.ts';
import { load1 } from '../provenance.ts';
import { summarize, type Summary } from '../stats.ts';
import type { OperatorProcess } from '../../tools/operator-process.ts';
import { type BenchContext, EX_PATH, OPERATOR_IDENTITY, OPERATOR_NAMESPACE, sleep, startOperator } from './common.ts';

const PER_NAMESPACE = 50;
const LEASE_PATH = `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases/hostns-operator`;

export interface FailoverTrial {
  trial: number;
  load: number;
  exceptions: number;
  leaseDurationSeconds: number;
  /** The standby's requests while the leader was idle, per second, by verb and resource (audit log). */
  standbyRequestsPerSecond: number;
  standbyRequests: Record<string, number>;
  standbyWindowSeconds: number;
  /** Expired Events seen when the leader was killed. */
  eventsBeforeKill: number;
  killMsAfterExpiry: number;
  /** From the SIGKILL: the standby's Lease write that took over, its first other write. */
  leaseTakenMs?: number;
  firstWriteMs?: number;
  /** From the SIGKILL: every Expired Event there, every status Expired, both. */
  eventsDoneMs?: number;
  statusesDoneMs?: number;
  convergedMs?: number;
  /** expiresAt -> Expired Event, over all exceptions (leader's and standby's). */
  eventDelay: Summary;
  missingEvents: number;
  duplicateEvents: number;
  standbyWrites: Record<string, number>;
}

export interface FailoverResult {
  exceptions: number;
  leadSeconds: number;
  trials: FailoverTrial[];
}

async function leaseHolder(ctx: BenchContext): Promise<{ holder: string; duration: number }> {
  const r = await ctx.api.raw('GET', LEASE_PATH);
  if (r.status !== 200) return { holder: '', duration: Number.NaN };
  const spec = (JSON.parse(r.text) as { spec?: { holderIdentity?: string; leaseDurationSeconds?: number } }).spec;
  return { holder: spec?.holderIdentity ?? '', duration: spec?.leaseDurationSeconds ?? Number.NaN };
}

async function waitLeader(ctx: BenchContext, identity: string, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const l = await leaseHolder(ctx);
    if (l.holder === identity) return l.duration;
    if (Date.now() > deadline) throw new Error(`${identity} did not take the Lease (holder: ${l.holder || 'none'})`);
    await sleep(250);
  }
}

async function runTrial(
  ctx: BenchContext,
  t: number,
  count: number,
  leadSeconds: number,
  standbySeconds: number,
): Promise<FailoverTrial> {
  const { api, log } = ctx;
  const leaderId = `${OPERATOR_IDENTITY}-a${t}`;
  const standbyId = `${OPERATOR_IDENTITY}-b${t}`;
  const leader = await startOperator(ctx, undefined, { kubeconfig: ctx.operatorKubeconfig, identity: leaderId });
  let standby: OperatorProcess | undefined;
  try {
    await leader.waitReady(300_000);
    const leaseDurationSeconds = await waitLeader(ctx, leaderId, 120_000);
    standby = await startOperator(ctx, undefined, { kubeconfig: ctx.standbyKubeconfig, identity: standbyId });
    await standby.waitReady(300_000);
    await sleep(2000);
    // What the standby costs while it waits: its requests over a quiet window.
    ctx.audit.skipToEnd();
    const windowStarted = Date.now();
    await sleep(standbySeconds * 1000);
    const standbyWindowSeconds = (Date.now() - windowStarted) / 1000;
    const waiting = ctx.audit.readNew().filter((r) => r.user === STANDBY_USER);

    const nsCount = Math.ceil(count / PER_NAMESPACE);
    const namespaces = Array.from({ length: nsCount }, (_, n) => `bench-failover-${t}-${n}`);
    const mine = new Set(namespaces);
    await ensureNamespaces(api, namespaces);
    const expiryMs = Math.ceil((Date.now() + leadSeconds * 1000) / 1000) * 1000;
    const items = Array.from({ length: count }, (_, j) => ({
      namespace: namespaces[j % nsCount]!,
      name: `fo-${String(j).padStart(4, '0')}`,
      app: `fo-${j}`,
    }));
    const eventNames = new Map<string, Set<string>>();
    const firstEventAt = new Map<string, number>();
    const expired = new Map<string, number>();
    const ew = await listAndWatch<{
      metadata: { name: string; namespace: string; resourceVersion?: string };
      reason?: string;
      regarding?: { kind?: string; name?: string; namespace?: string };
    }>(api, '/apis/events.k8s.io/v1/events', '', (ev, at) => {
      const e = ev.object;
      if (ev.type === 'DELETED' || e.reason !== 'Expired' || e.regarding?.kind !== 'HostNamespaceException') return;
      const ns = e.regarding.namespace ?? e.metadata.namespace;
      if (!mine.has(ns)) return;
      const id = `${ns}/${e.regarding.name}`;
      const names = eventNames.get(id) ?? new Set<string>();
      names.add(e.metadata.name);
      eventNames.set(id, names);
      if (!firstEventAt.has(id)) firstEventAt.set(id, at);
    });
    const xw = await listAndWatch<ExceptionObj>(api, `${EX_PATH}/hostnamespaceexceptions`, '', (ev, at) => {
      const x = ev.object;
      if (!mine.has(x.metadata.namespace)) return;
      if (x.status?.phase === 'Expired' && !expired.has(`${x.metadata.namespace}/${x.metadata.name}`))
        expired.set(`${x.metadata.namespace}/${x.metadata.name}`, at);
    });
    try {
      await createLapsingExceptions(api, items, rfc3339Seconds(expiryMs), { 'bench.hostns.io/failover': 'true' });
      if (Date.now() > expiryMs - 2000) log('  failover: setup ran into the expiry; raise --failover-lead');
      // Kill the leader in the middle of the lapse: once a tenth of the Expired Events are out.
      await sleep(Math.max(0, expiryMs - Date.now()));
      const killDeadline = expiryMs + 60_000;
      while (firstEventAt.size < count / 10 && Date.now() < killDeadline) await sleep(20);
      const load = load1();
      ctx.audit.skipToEnd();
      const killAt = Date.now();
      const eventsBeforeKill = firstEventAt.size;
      await leader.kill('SIGKILL');
      const deadline = killAt + 180_000;
      while (Date.now() < deadline && (firstEventAt.size < count || expired.size < count)) await sleep(250);
      await sleep(2000); // late duplicates, and the audit log's batch
      const after = ctx.audit.readNew().filter((r) => r.user === STANDBY_USER && WRITE_VERBS.has(r.verb));
      const leaseTaken = after.find((r) => r.resource === 'leases' && (r.code ?? 0) < 300);
      const firstWrite = after.find((r) => r.resource !== 'leases');
      const last = (m: Map<string, number>) => (m.size >= count ? Math.max(...m.values()) - killAt : undefined);
      const eventsDoneMs = last(firstEventAt);
      const statusesDoneMs = last(expired);
      const trial: FailoverTrial = {
        trial: t + 1,
        load,
        exceptions: count,
        leaseDurationSeconds,
        standbyRequestsPerSecond: waiting.length / standbyWindowSeconds,
        standbyRequests: countByVerbResource(waiting),
        standbyWindowSeconds,
        eventsBeforeKill,
        killMsAfterExpiry: killAt - expiryMs,
        leaseTakenMs: leaseTaken ? leaseTaken.receivedAt - killAt : undefined,
        firstWriteMs: firstWrite ? firstWrite.receivedAt - killAt : undefined,
        eventsDoneMs,
        statusesDoneMs,
        convergedMs:
          eventsDoneMs !== undefined && statusesDoneMs !== undefined
            ? Math.max(eventsDoneMs, statusesDoneMs)
            : undefined,
        eventDelay: summarize([...firstEventAt.values()].map((at) => at - expiryMs)),
        missingEvents: items.filter((it) => !eventNames.has(`${it.namespace}/${it.name}`)).length,
        duplicateEvents: [...eventNames.values()].filter((s) => s.size > 1).length,
        standbyWrites: countByVerbResource(after),
      };
      log(
        `  failover trial ${t + 1}: killed ${trial.killMsAfterExpiry} ms after expiry with ${eventsBeforeKill}/${count} Events out; Lease taken ${trial.leaseTakenMs} ms, first write ${trial.firstWriteMs} ms, converged ${trial.convergedMs} ms after the kill (Lease ${leaseDurationSeconds} s); missing ${trial.missingEvents}, duplicated ${trial.duplicateEvents}; standby ${trial.standbyRequestsPerSecond.toFixed(2)} requests/s`,
      );
      return trial;
    } finally {
      ew.stop();
      xw.stop();
    }
  } finally {
    await leader.kill('SIGKILL');
    await standby?.stop();
  }
}

/**
 * `live.op` is stopped first (the two replicas take its place) and a fresh one started at the end,
 * so it is a new process afterwards (also when a trial failed).
 */
export async function runFailover(
  ctx: BenchContext,
  live: { op: OperatorProcess },
  count: number,
  leadSeconds: number,
  standbySeconds: number,
  trialCount: number,
): Promise<FailoverResult> {
  const result: FailoverResult = { exceptions: count, leadSeconds, trials: [] };
  await live.op.stop();
  try {
    for (let t = 0; t < trialCount; t++) result.trials.push(await runTrial(ctx, t, count, leadSeconds, standbySeconds));
  } finally {
    live.op = await startOperator(ctx);
    await live.op.waitReady(300_000);
  }
  return result;
}
