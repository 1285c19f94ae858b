// A small controller runtime (after controller-runtime's Manager): it owns the reflectors, leader
// election and one keyed work queue. Which change enqueues which keys is declared with watch()
// (controller-runtime's Watches + EnqueueRequestsFromMapFunc); a reconciler is a function of
// (key, now) over read-only caches that returns the writes to make and when to come back. The
// manager makes those writes in order, each at its lane, and applies their responses to the
// caches. Followers keep the caches warm but queue nothing: leading queues every key once.
import { performance } from 'node:perf_hooks';
import { DateTime } from 'luxon';
import type { Logger } from 'winston';
import type { KubeApi, WriteBounds } from '../kube/client.ts';
import { LeaderElector, type ElectionClocks, type LeaderElectionConfig } from '../kube/lease.ts';
import { Reflector, type ChangeOrigin, type ReflectorOptions, type WatchEventEffect } from '../kube/reflector.ts';
import { TerminalError, type ReconcileResult } from './result.ts';
import { QueuePaused, WorkQueue, type WorkContext } from './workqueue.ts';

/** One change of a cached object, as the map functions of watch() see it. */
export interface Change<T> {
  key: string;
  /** undefined: the object left the cache. */
  obj: T | undefined;
  /** undefined: the object is new to the cache. */
  previous: T | undefined;
  /** `observed`: the response of one of our own writes, applied before its watch event arrives. */
  origin: ChangeOrigin;
}

/** A key to reconcile, with the lane to queue it in and an optional throttle. */
export interface Request<K> {
  key: K;
  lane?: number;
  /** Coalesce: run at most once per this many milliseconds, however often it is asked for. */
  throttleMs?: number;
}

export type MapFunc<T, K> = (change: Change<T>) => Iterable<Request<K>>;

export interface ManagerObserver<K, W = unknown> {
  reconciled?(key: K, seconds: number, error: boolean): void;
  watchRestarted?(resource: string, reason: string): void;
  /** A cache was (re)listed in `seconds`: at start, and after a 410. */
  listed?(resource: string, seconds: number, objects: number): void;
  /** One watch event of `resource`, by what it did to the cache. */
  watchEvent?(resource: string, effect: WatchEventEffect): void;
  /** Reconciles a change of `resource` asked for (before the queue coalesces them). */
  requested?(resource: string, count: number): void;
  /** A write failed (the error is rethrown to the queue). */
  writeFailed?(write: W, err: unknown): void;
}

/** The longest a write may take when no leader term bounds it. */
const WRITE_TIMEOUT_MS = 30_000;

export interface SourceState {
  resource: string;
  /** A watch stream is open. */
  connected: boolean;
  /** The cache is current (no relist pending). */
  current: boolean;
  disconnectedForMs: number;
  /** Since the last list, watch opening, event or bookmark (Infinity: never). */
  lastSyncAgeMs: number;
}

export interface ManagerOptions<K, W> {
  client: KubeApi;
  logger: Logger;
  /** The Lease holder identity. */
  identity: string;
  /**
   * The clock reconciles decide on and requeueAfter timers are kept on: the API server's
   * (KubeClient.serverNow), so the operator and admission agree on every instant.
   */
  clock?: () => DateTime;
  /** Reconciles running at once (each does at most a few API calls). */
  maxConcurrentReconciles: number;
  leaderElection?: LeaderElectionConfig;
  /** The elector's clocks (tests inject them). */
  electionClocks?: ElectionClocks;
  pageSize?: number;
  keyId: (key: K) => string;
  /** The lane a key is queued in when its request names none. */
  laneOf: (key: K) => number;
  /** The lane a write is made at: a reconcile steps down to it before making the write. */
  writeLane: (write: W) => number;
  reconcile: (key: K, now: DateTime) => ReconcileResult<W>;
  /**
   * Makes one write, bounded by `bounds` (the leader's term); a thrown error fails the reconcile
   * (retried with backoff unless terminal).
   */
  execute: (write: W, now: DateTime, bounds: WriteBounds) => Promise<void>;
  /** Every key there is, queued once on becoming leader. */
  allKeys: () => Iterable<K>;
  observer?: ManagerObserver<K, W>;
}

type SourceOptions<T> = Omit<
  ReflectorOptions<T>,
  'client' | 'logger' | 'onChange' | 'onWatchRestart' | 'onListed' | 'onWatchEvent' | 'pageSize'
>;

export class Manager<K, W> {
  readonly queue: WorkQueue<K>;
  /** Each source with its name and the map functions of the watches declared on it. */
  private readonly sources: { reflector: Reflector<unknown>; resource: string; maps: MapFunc<unknown, K>[] }[] = [];
  private readonly opts: ManagerOptions<K, W>;
  private readonly clock: () => DateTime;
  private elector?: LeaderElector;
  private leading = false;
  private started = false;
  /** Until `start`'s prerequisite resolved, nothing is queued yet: not ready, though the caches may be. */
  private prerequisitePending = true;
  /** Aborted by stop(): releases reconciles waiting for a current cache. */
  private readonly stopping = new AbortController();

  constructor(opts: ManagerOptions<K, W>) {
    this.opts = opts;
    this.clock = opts.clock ?? (() => DateTime.utc());
    const { logger } = opts;
    this.queue = new WorkQueue<K>((key, ctx) => this.run(key, ctx), {
      concurrency: opts.maxConcurrentReconciles,
      now: () => this.clock().toMillis(),
      laneOf: opts.laneOf,
      idOf: opts.keyId,
      onError: (key, err, attempt, terminal) => {
        const fields = { key: opts.keyId(key), attempt, error: err instanceof Error ? err.message : String(err) };
        if (terminal) logger.error('reconcile failed, not retried until something it reads changes', fields);
        else logger.warn('reconcile failed, will retry', fields);
      },
    });
  }

  /** A reflector owned by the manager: started with it; its changes go to the watches declared on it. */
  source<T>(opts: SourceOptions<T>): Reflector<T> {
    const maps: MapFunc<T, K>[] = [];
    const reflector = new Reflector<T>({
      ...opts,
      client: this.opts.client,
      logger: this.opts.logger,
      pageSize: this.opts.pageSize,
      onChange: (key, obj, previous, origin) => {
        // Followers keep caches warm but queue nothing: lead() queues everything on takeover.
        if (!this.leading) return;
        let count = 0;
        for (const map of maps) {
          for (const req of map({ key, obj, previous, origin })) {
            this.enqueue(req);
            count++;
          }
        }
        if (count) this.opts.observer?.requested?.(opts.resource, count);
      },
      onWatchRestart: (reason) => this.opts.observer?.watchRestarted?.(opts.resource, reason),
      onListed: (ms, objects) => this.opts.observer?.listed?.(opts.resource, ms / 1000, objects),
      onWatchEvent: (effect) => this.opts.observer?.watchEvent?.(opts.resource, effect),
    });
    this.sources.push({
      reflector: reflector as Reflector<unknown>,
      resource: opts.resource,
      maps: maps as MapFunc<unknown, K>[],
    });
    return reflector;
  }

  /** Declares that a change of an object of `source` enqueues the keys `map` returns. */
  watch<T>(source: Reflector<T>, map: MapFunc<T, K>): void {
    const found = this.sources.find((s) => s.reflector === (source as Reflector<unknown>));
    if (!found) throw new Error('watch(): not a source of this manager (create it with source())');
    found.maps.push(map as MapFunc<unknown, K>);
  }

  /** Leading now: the elector's answer is computed from its monotonic clock on every call. */
  get isLeader(): boolean {
    return this.leading && (this.elector?.isLeading() ?? true);
  }

  /**
   * The bounds of a write made now: the term's signal and what is left of it. Throws QueuePaused
   * (the key is queued again quietly) when this process may not write: a leader that lost or could
   * not renew its Lease stops before a standby could take it (renewDeadline < leaseDuration).
   */
  private writeBounds(): WriteBounds {
    if (!this.leading) throw new QueuePaused('not the leader');
    if (!this.elector) return { timeoutMs: WRITE_TIMEOUT_MS };
    if (!this.elector.isLeading()) throw new QueuePaused('leadership ended');
    return { signal: this.elector.signal, timeoutMs: Math.min(WRITE_TIMEOUT_MS, this.elector.remainingMs()) };
  }

  /** Ready once every cache has completed its first list. */
  get isReady(): boolean {
    return this.sources.every((s) => s.reflector.hasSynced);
  }

  /** Each source's watch: open or not, and how long since it last heard from the API. */
  watchStates(): SourceState[] {
    return this.sources.map(({ resource, reflector: r }) => ({
      resource,
      connected: r.connected,
      current: r.isCurrent,
      disconnectedForMs: r.disconnectedForMs(),
      lastSyncAgeMs: r.lastSyncAgeMs(),
    }));
  }

  /**
   * Why this replica is not ready (empty: ready): a cache never synced, or a watch that has been
   * down (or a relist unfinished) for longer than `maxDisconnectedMs`. A short reconnect is not
   * worth failing readiness for; an outage a load balancer or an alert must know about is.
   */
  unreadyReasons(maxDisconnectedMs: number): string[] {
    const reasons: string[] = [];
    if (this.prerequisitePending) reasons.push('starting: waiting for the start prerequisite (server clock)');
    for (const s of this.watchStates()) {
      const r = this.sources.find((x) => x.resource === s.resource)!.reflector;
      if (!r.hasSynced) reasons.push(`${s.resource}: cache not synced yet`);
      else if (s.disconnectedForMs > maxDisconnectedMs) {
        const why = r.relistPending ? 'relist not completed' : 'no watch open';
        reasons.push(`${s.resource}: ${why} for ${Math.round(s.disconnectedForMs / 1000)} s`);
      }
    }
    return reasons;
  }

  /**
   * Starts the reflectors; once every cache synced and `prerequisite` (e.g. the server clock's
   * calibration, which runs meanwhile instead of before the first LIST) resolved, leads or elects.
   */
  async start(prerequisite?: Promise<void>): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const s of this.sources) s.reflector.start();
    await Promise.all([
      ...this.sources.map((s) => s.reflector.synced()),
      prerequisite?.then(() => {
        this.prerequisitePending = false;
      }),
    ]);
    this.prerequisitePending = false;
    this.opts.logger.info(
      'caches synced',
      Object.fromEntries(this.sources.map((s) => [s.resource, s.reflector.store.size])),
    );
    if (this.opts.leaderElection) {
      this.elector = new LeaderElector(
        this.opts.client,
        this.opts.leaderElection,
        this.opts.identity,
        this.opts.logger,
        {
          onStartedLeading: () => this.lead(),
          onStoppedLeading: () => void this.follow(),
        },
        this.opts.electionClocks,
      );
      this.elector.start();
    } else {
      this.lead();
    }
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.queue.stop();
    await this.elector?.stop();
    await Promise.all(this.sources.map((s) => s.reflector.stop()));
  }

  /** Resolves when no reconcile is queued or running (tests and benchmarks). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private enqueue(req: Request<K>): void {
    if (req.throttleMs !== undefined) this.queue.addThrottled(req.key, req.throttleMs, req.lane);
    else this.queue.add(req.key, req.lane);
  }

  private lead(): void {
    this.leading = true;
    this.opts.logger.info('leading: reconciling everything once', { identity: this.opts.identity });
    for (const key of this.opts.allKeys()) this.queue.add(key);
    this.queue.start();
  }

  private async follow(): Promise<void> {
    this.leading = false;
    this.opts.logger.warn('lost leadership: pausing writes', { identity: this.opts.identity });
    await this.queue.pause();
  }

  /**
   * Waits until every cache is current. From a failed watch (an outage) until the watch resumed
   * or, after a 410, the relist replayed what changed meanwhile, a cache may miss changes; a
   * reconcile deciding then could undo them (label a pod as an offender for an exception that was
   * renewed meanwhile, raise an Event twice for a pod whose resourceVersion moved on). A
   * reconcile reads several caches, so it waits for all of them.
   */
  private async caughtUp(): Promise<void> {
    const stopped = new Promise<never>((_, reject) => {
      const fail = () => reject(new QueuePaused('manager stopping'));
      if (this.stopping.signal.aborted) fail();
      else this.stopping.signal.addEventListener('abort', fail, { once: true });
    });
    stopped.catch(() => {});
    await Promise.race([Promise.all(this.sources.map((s) => s.reflector.whenCurrent())), stopped]);
  }

  /** One reconcile: decide, then make each write at its lane; the time spent waiting for a lane is not counted. */
  private async run(key: K, ctx: WorkContext): Promise<void> {
    let busy = 0;
    let since = performance.now();
    let failed = false;
    try {
      if (!this.sources.every((s) => s.reflector.isCurrent)) {
        await this.caughtUp();
        since = performance.now();
      }
      const now = this.clock();
      let result: ReconcileResult<W>;
      try {
        result = this.opts.reconcile(key, now);
      } catch (err) {
        // A reconciler is pure: what it throws is a bug no retry can fix.
        throw err instanceof TerminalError
          ? err
          : new TerminalError(`reconcile: ${(err as Error)?.message ?? err}`, { cause: err });
      }
      for (const write of result.writes) {
        const lane = this.opts.writeLane(write);
        if (lane > ctx.lane) {
          busy += performance.now() - since;
          await ctx.continueAt(lane);
          since = performance.now();
        }
        const bounds = this.writeBounds();
        try {
          await this.opts.execute(write, now, bounds);
        } catch (err) {
          // Cut short by the end of the term: not a failure, the next leader redoes it.
          if (bounds.signal?.aborted) throw new QueuePaused('leadership ended during a write', { cause: err });
          this.opts.observer?.writeFailed?.(write, err);
          throw err;
        }
      }
      if (result.requeueAfter !== undefined) this.queue.addAfter(key, result.requeueAfter);
    } catch (err) {
      failed = !(err instanceof QueuePaused);
      throw err;
    } finally {
      busy += performance.now() - since;
      this.opts.observer?.reconciled?.(key, busy / 1000, failed);
    }
  }
}
