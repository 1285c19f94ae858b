// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: optimistic updates
// (resourceVersion), and a candidate takes over only after leaseDuration has passed since it
// last saw the record change. Every duration is measured on this process's MONOTONIC clock: a wall
// clock stepped back an hour, or forward, changes nothing, and no other machine's clock is trusted.
// The wall clock is read only for the MicroTime fields written into the Lease (informative).
//
// Why the leader cannot overlap with the next one: a renewal counts from the moment this attempt
// STARTED (before the server wrote it), and the leader stops at renewDeadline after that; a
// candidate counts leaseDuration from the moment it SAW the renewed record (after the server
// wrote it). renewDeadline < leaseDuration, so the leader stops first, by at least their difference,
// even across a process pause: after a pause, isLeading() answers false before anything else runs.
import { DateTime } from 'luxon';
import type { Logger } from 'winston';
import { isStatus, type KubeApi } from './client.ts';
import { microTime } from './events.ts';

export interface LeaderElectionConfig {
  namespace: string;
  name: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
}

/** Injected in tests; defaults to performance.now() and the system wall clock. */
export interface ElectionClocks {
  /** Milliseconds on a monotonic clock: all lease timing. */
  monotonicMs(): number;
  /** Only for the Lease's acquireTime/renewTime fields. */
  wallNow(): DateTime;
}

export const systemClocks: ElectionClocks = {
  monotonicMs: () => performance.now(),
  wallNow: () => DateTime.utc(),
};

interface LeaseObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

const SUSPEND_TOLERANCE_MS = 1000;

export interface LeaderCallbacks {
  /** `signal` aborts the moment this term of leadership ends: pass it to every write. */
  onStartedLeading(signal: AbortSignal): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly path: string;
  private readonly durationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  /** Monotonic start of the last attempt that renewed (or acquired) the Lease. */
  private renewedAt = 0;
  /** The wall clock at the same instant: only to notice a suspend (see isLeading). */
  private renewedAtWall = 0;
  private term?: AbortController;
  private timer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private running = false;
  private stopped = false;
  private readonly client: Pick<KubeApi, 'request'>;
  private readonly cfg: LeaderElectionConfig;
  private readonly identity: string;
  private readonly logger: Logger;
  private readonly callbacks: LeaderCallbacks;
  private readonly clocks: ElectionClocks;

  constructor(
    client: Pick<KubeApi, 'request'>,
    cfg: LeaderElectionConfig,
    identity: string,
    logger: Logger,
    callbacks: LeaderCallbacks,
    clocks: ElectionClocks = systemClocks,
  ) {
    this.client = client;
    this.cfg = cfg;
    this.identity = identity;
    this.logger = logger;
    this.callbacks = callbacks;
    this.clocks = clocks;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${cfg.namespace}/leases`;
    this.durationMs = (cfg.leaseDurationSeconds ?? 15) * 1000;
    this.renewDeadlineMs = (cfg.renewDeadlineSeconds ?? 10) * 1000;
    this.retryMs = (cfg.retryPeriodSeconds ?? 2) * 1000;
    if (!(this.durationMs > this.renewDeadlineMs && this.renewDeadlineMs > 1.2 * this.retryMs)) {
      throw new Error('leader election: need leaseDuration > renewDeadline > 1.2 x retryPeriod');
    }
  }

  /**
   * Whether this process may write now. Computed from the monotonic clock on every call, not from
   * a flag a timer updates: after a pause (GC, SIGSTOP, a suspended VM) it is false before any
   * queued write runs. Ends the term (aborting its signal) when the renew deadline has passed.
   */
  isLeading(): boolean {
    if (!this.leading) return false;
    const elapsed = this.clocks.monotonicMs() - this.renewedAt;
    // A monotonic clock never goes back; one that did (libfaketime without
    // FAKETIME_DONT_FAKE_MONOTONIC) cannot be trusted to time the term.
    if (elapsed >= this.renewDeadlineMs || elapsed < 0) {
      this.lose(elapsed < 0 ? 'the monotonic clock went back' : 'renew deadline passed');
      return false;
    }
    // CLOCK_MONOTONIC stops while the machine is suspended, other replicas' clocks do not: when
    // the wall clock ran ahead of it by more than a second, assume a suspend (or a forward step,
    // which costs only a re-acquisition) and end the term.
    if (this.clocks.wallNow().toMillis() - this.renewedAtWall - elapsed > SUSPEND_TOLERANCE_MS) {
      this.lose('the wall clock ran ahead of the monotonic clock (suspended?)');
      return false;
    }
    return true;
  }

  get isLeader(): boolean {
    return this.isLeading();
  }

  /** Aborts when the current term ends; already aborted when not leading. */
  get signal(): AbortSignal {
    return this.isLeading() && this.term ? this.term.signal : AbortSignal.abort(new Error('not the leader'));
  }

  /** Milliseconds this term is still guaranteed (0 when not leading): an upper bound for a write's timeout. */
  remainingMs(): number {
    if (!this.isLeading()) return 0;
    return Math.max(0, Math.floor(this.renewDeadlineMs - (this.clocks.monotonicMs() - this.renewedAt)));
  }

  start(): void {
    this.running = true;
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped || !this.running) return;
    // Jitter while candidate so replicas do not collide; steady cadence while leading.
    const ms = this.retryMs * (this.leading ? 1 : 1 + Math.random() * 0.2);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    await this.tryOnce();
    this.schedule();
  }

  /** One acquire-or-renew attempt and its consequences. The loop calls it every retry period. */
  async tryOnce(): Promise<void> {
    if (this.stopped) return;
    const startedAt = this.clocks.monotonicMs();
    const startedAtWall = this.clocks.wallNow().toMillis();
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.logger.warn('leader election: request failed', { error: (err as Error).message });
    }
    if (this.stopped) return;
    if (ok) {
      // The deadline may have passed while the request was in flight (a pause, a slow server):
      // that term is over even though the write landed; the next attempt starts a new one.
      const wasLeading = this.isLeading();
      this.renewedAt = startedAt;
      this.renewedAtWall = startedAtWall;
      if (!wasLeading && this.clocks.monotonicMs() - startedAt < this.renewDeadlineMs) this.begin();
      this.armDeadline();
    } else {
      this.isLeading(); // ends the term if the deadline passed
    }
  }

  private begin(): void {
    this.leading = true;
    this.term = new AbortController();
    this.logger.info('leader election: acquired', {
      lease: `${this.cfg.namespace}/${this.cfg.name}`,
      identity: this.identity,
    });
    this.callbacks.onStartedLeading(this.term.signal);
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.term?.abort(new Error(`leadership lost: ${why}`));
    this.logger.warn('leader election: lost the lease', { identity: this.identity, reason: why });
    this.callbacks.onStoppedLeading();
  }

  /** Ends the term at the renew deadline even if no attempt returns by then (a hung request). */
  private armDeadline(): void {
    if (!this.running || !this.leading) return;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    const left = this.renewDeadlineMs - (this.clocks.monotonicMs() - this.renewedAt);
    this.deadlineTimer = setTimeout(() => this.isLeading(), Math.max(0, left) + 1);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.clocks.wallNow();
    // A renewal that cannot finish before the deadline is worthless: bound each request by it.
    const timeoutMs = this.leading ? Math.max(1, this.remainingMs()) : this.renewDeadlineMs;
    let lease: LeaseObject | undefined;
    try {
      lease = await this.client.request<LeaseObject>('GET', `${this.path}/${this.cfg.name}`, { timeoutMs });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    if (!lease) {
      const created = await this.client.request<LeaseObject>('POST', this.path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.cfg.name, namespace: this.cfg.namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.durationMs / 1000,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
        timeoutMs,
      });
      this.observe(JSON.stringify(created?.spec ?? {}));
      return true;
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify(spec);
    if (record !== this.observedRecord) this.observe(record);
    const holder = spec.holderIdentity ?? '';
    const mine = holder === this.identity;
    if (holder && !mine) {
      // Someone else holds it: we are not the leader, whatever our deadline says.
      this.lose(`held by ${holder}`);
      const duration = (spec.leaseDurationSeconds ?? this.durationMs / 1000) * 1000;
      if (this.clocks.monotonicMs() - this.observedAt < duration) return false;
    }

    const next: LeaseObject['spec'] = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.durationMs / 1000,
      renewTime: microTime(now),
      ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    try {
      const updated = await this.client.request<LeaseObject>('PUT', `${this.path}/${this.cfg.name}`, {
        body: { ...lease, spec: next },
        timeoutMs,
      });
      this.observe(JSON.stringify(updated.spec));
      return true;
    } catch (err) {
      if (isStatus(err, 409)) return false; // someone else wrote it first
      throw err;
    }
  }

  private observe(record: string): void {
    this.observedRecord = record;
    this.observedAt = this.clocks.monotonicMs();
  }

  /** Stops campaigning; a leader releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    const wasLeading = this.isLeading();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (!wasLeading) return;
    this.leading = false;
    this.term?.abort(new Error('leadership released'));
    try {
      const lease = await this.client.request<LeaseObject>('GET', `${this.path}/${this.cfg.name}`, { timeoutMs: 5000 });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = this.clocks.wallNow();
      await this.client.request('PUT', `${this.path}/${this.cfg.name}`, {
        body: {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) },
        },
        timeoutMs: 5000,
      });
      this.logger.info('leader election: released the lease', { identity: this.identity });
    } catch (err) {
      this.logger.warn('leader election: could not release the lease', { error: (err as Error).message });
    }
  }
}
