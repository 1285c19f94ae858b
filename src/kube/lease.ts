// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: optimistic updates
// (resourceVersion), and a candidate takes over only after leaseDuration has passed since it
// last saw the record change on its own clock (no trust in other machines' clocks).
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

export interface LeaderCallbacks {
  onStartedLeading(): void;
  onStoppedLeading(): void;
}

export class LeaderElector {
  private readonly path: string;
  private readonly duration: number;
  private readonly renewDeadline: number;
  private readonly retry: number;
  private observedRecord = '';
  private observedAt = 0;
  private leading = false;
  private lastRenew = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private readonly client: KubeApi;
  private readonly cfg: LeaderElectionConfig;
  private readonly identity: string;
  private readonly logger: Logger;
  private readonly callbacks: LeaderCallbacks;

  constructor(client: KubeApi, cfg: LeaderElectionConfig, identity: string, logger: Logger, callbacks: LeaderCallbacks) {
    this.client = client;
    this.cfg = cfg;
    this.identity = identity;
    this.logger = logger;
    this.callbacks = callbacks;
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${cfg.namespace}/leases`;
    this.duration = cfg.leaseDurationSeconds ?? 15;
    this.renewDeadline = cfg.renewDeadlineSeconds ?? 10;
    this.retry = cfg.retryPeriodSeconds ?? 2;
    if (!(this.duration > this.renewDeadline && this.renewDeadline > 1.2 * this.retry)) {
      throw new Error('leader election: need leaseDuration > renewDeadline > 1.2 x retryPeriod');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    // Jitter while candidate so replicas do not collide; steady cadence while leading.
    const ms = this.retry * 1000 * (this.leading ? 1 : 1 + Math.random() * 0.2);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.logger.warn('leader election: request failed', { error: (err as Error).message });
    }
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.logger.info('leader election: acquired', { lease: `${this.cfg.namespace}/${this.cfg.name}`, identity: this.identity });
        this.callbacks.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew > this.renewDeadline * 1000) {
      this.leading = false;
      this.logger.warn('leader election: lost the lease (renew deadline passed)', { identity: this.identity });
      this.callbacks.onStoppedLeading();
    }
    this.schedule();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = DateTime.utc();
    let lease: LeaseObject | undefined;
    try {
      lease = await this.client.request<LeaseObject>('GET', `${this.path}/${this.cfg.name}`, { timeoutMs: this.renewDeadline * 1000 });
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    if (!lease) {
      await this.client.request('POST', this.path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.cfg.name, namespace: this.cfg.namespace },
          spec: {
            holderIdentity: this.identity,
            leaseDurationSeconds: this.duration,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        },
        timeoutMs: this.renewDeadline * 1000,
      });
      this.observe(JSON.stringify({ holder: this.identity, at: now.toMillis() }));
      return true;
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify(spec);
    if (record !== this.observedRecord) this.observe(record);
    const holder = spec.holderIdentity ?? '';
    const mine = holder === this.identity;
    const duration = (spec.leaseDurationSeconds ?? this.duration) * 1000;
    if (holder && !mine && Date.now() - this.observedAt < duration) return false;

    const next: LeaseObject['spec'] = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.duration,
      renewTime: microTime(now),
      ...(mine ? {} : { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    try {
      const updated = await this.client.request<LeaseObject>('PUT', `${this.path}/${this.cfg.name}`, {
        body: { ...lease, spec: next },
        timeoutMs: this.renewDeadline * 1000,
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
    this.observedAt = Date.now();
  }

  /** Stops campaigning; a leader releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.client.request<LeaseObject>('GET', `${this.path}/${this.cfg.name}`, { timeoutMs: 5000 });
      if (lease.spec?.holderIdentity !== this.identity) return;
      const now = DateTime.utc();
      await this.client.request('PUT', `${this.path}/${this.cfg.name}`, {
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) } },
        timeoutMs: 5000,
      });
      this.logger.info('leader election: released the lease', { identity: this.identity });
    } catch (err) {
      this.logger.warn('leader election: could not release the lease', { error: (err as Error).message });
    }
  }
}
