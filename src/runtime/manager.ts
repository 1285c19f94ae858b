// A small controller runtime (after controller-runtime's Manager): it owns the reflectors, leader
// election and one keyed work queue. Which change enqueues which keys is declared with watch()
// (controller-runtime's Watches + EnqueueRequestsFromMapFunc); a reconciler is a function of
// (key, now) over read-only caches that returns the writes to make and when to come back. The
// manager makes those writes in order, each at its lane, and applies their responses to the
// caches. Followers keep the caches warm but queue nothing: leading queues every key once.
import { performance } from 'node:perf_hooks';
import { DateTime } from 'luxon';
import type { Logger } from 'winston';
import type { KubeApi } from '../kube/client.ts';
import { LeaderElector, type LeaderElectionConfig } from '../kube/lease.ts';
import { Reflector, type ChangeOrigin, type ReflectorOptions } from '../kube/reflector.ts';
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

export interface ManagerObserver<K> {
  reconciled?(key: K, seconds: number, error: boolean): void;
  watchRestarted?(resource: string, reason: string): void;
}

export interface ManagerOptions<K, W> {
  client: KubeApi;
  logger: Logger;
  /** The Lease holder identity. */
  identity: string;
  clock?: () => DateTime;
  /** Reconciles running at once (each does at most a few API calls). */
  maxConcurrentReconciles: number;
  leaderElection?: LeaderElectionConfig;
  pageSize?: number;
  keyId: (key: K) => string;
  /** The lane a key is queued in when its request names none. */
  laneOf: (key: K) => number;
  /** The lane a write is made at: a reconcile steps down to it before making the write. */
  writeLane: (write: W) => number;
  reconcile: (key: K, now: DateTime) => ReconcileResult<W>;
  /** Makes one write; a thrown error fails the reconcile (retried with backoff unless terminal). */
  execute: (write: W, now: DateTime) => Promise<void>;
  /** Every key there is, queued once on becoming leader. */
  allKeys: () => Iterable<K>;
  observer?: ManagerObserver<K>;
}

type SourceOptions<T> = Omit<ReflectorOptions<T>, 'client' | 'logger' | 'onChange' | 'onWatchRestart' | 'pageSize'>;

export class Manager<K, W> {
  readonly queue: WorkQueue<K>;
  /** Each source with its name and the map functions of the watches declared on it. */
  private readonly sources: { reflector: Reflector<unknown>; resource: string; maps: MapFunc<unknown, K>[] }[] = [];
  private readonly opts: ManagerOptions<K, W>;
  private readonly clock: () => DateTime;
  private elector?: LeaderElector;
  private leading = false;
  private started = false;

  constructor(opts: ManagerOptions<K, W>) {
    this.opts = opts;
    this.clock = opts.clock ?? (() => DateTime.utc());
    const { logger } = opts;
    this.queue = new WorkQueue<K>((key, ctx) => this.run(key, ctx), {
      concurrency: opts.maxConcurrentReconciles,
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
        for (const map of maps) for (const req of map({ key, obj, previous, origin })) this.enqueue(req);
      },
      onWatchRestart: (reason) => this.opts.observer?.watchRestarted?.(opts.resource, reason),
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

  get isLeader(): boolean {
    return this.leading;
  }

  /** Ready once every cache has completed its first list. */
  get isReady(): boolean {
    return this.sources.every((s) => s.reflector.hasSynced);
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const s of this.sources) s.reflector.start();
    await Promise.all(this.sources.map((s) => s.reflector.synced()));
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
      );
      this.elector.start();
    } else {
      this.lead();
    }
  }

  async stop(): Promise<void> {
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

  /** One reconcile: decide, then make each write at its lane; the time spent waiting for a lane is not counted. */
  private async run(key: K, ctx: WorkContext): Promise<void> {
    let busy = 0;
    let since = performance.now();
    let failed = false;
    try {
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
        await this.opts.execute(write, now);
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
