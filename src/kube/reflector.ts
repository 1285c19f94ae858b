// List (paged) then watch (with bookmarks) one resource into a lean in-memory store, forever:
// on 410 Gone it relists; on any other error it backs off and reconnects. It never throws out of
// its loop and never exits the process (client-node's informer stops for good on most errors).
import type { Logger } from 'winston';
import { jitter, nextBackoff, type ReflectorOutcome } from './backoff.ts';
import { ApiError, isStatus, PARTIAL_METADATA, PARTIAL_METADATA_LIST, type KubeApi } from './client.ts';
import { listPages } from './list.ts';
import { StoreWriter, type Store } from './store.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface RawObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
  [k: string]: unknown;
}

export interface ReflectorOptions<T> {
  client: KubeApi;
  /** Collection path, e.g. `/api/v1/pods`. */
  path: string;
  /** Name for logs and metrics. */
  resource: string;
  /**
   * Keeps only what the controller needs from an object; `undefined` means "not worth caching"
   * (or malformed), which removes it from the store.
   */
  transform: (raw: RawObject) => T | undefined;
  /**
   * Called after the store changed for `key`. `obj` is undefined when the key left the store;
   * `origin` says whether the object came from the API (list/watch) or from applyObserved.
   */
  onChange: (key: string, obj: T | undefined, previous: T | undefined, origin: ChangeOrigin) => void;
  logger: Logger;
  pageSize?: number;
  onWatchRestart?: (reason: string) => void;
  /** A LIST (start or relist) replaced the store: its duration, first page asked -> store replaced. */
  onListed?: (ms: number, objects: number) => void;
  /** The resourceVersion kept in a cached object, so a PATCH response never overwrites a newer watch event. */
  versionOf?: (obj: T) => string | undefined;
  /** Narrows both the list and the watch, e.g. `{ fieldSelector: 'reason=FailedCreate' }`. */
  selector?: { fieldSelector?: string; labelSelector?: string };
  /**
   * Ask for metadata only (PartialObjectMetadata): for caches that keep nothing of spec or status,
   * e.g. the owners of ReplicaSets and Jobs. `transform` then sees metadata alone.
   */
  metadataOnly?: boolean;
  /** Server-side watch timeout range in seconds (jittered), default 300..600. */
  watchTimeoutSeconds?: [number, number];
  /**
   * `next` holds nothing `cached` does not (say, only its resourceVersion moved: a pod's status
   * update): the store keeps `cached` and emits no change, so the update costs no reconcile.
   */
  unchanged?: (cached: T, next: T) => boolean;
  /** Each watch event (bookmarks aside), by what it did to the store. */
  onWatchEvent?: (effect: WatchEventEffect) => void;
  /**
   * How long a watch re-opened after an error must stay open, with no ERROR, before the store
   * counts as current again (default RESUME_SETTLE_MS).
   */
  resumeSettleMs?: number;
}

/**
 * What a watch event did: `changed` the store (handlers ran), left it `unchanged` (nothing kept
 * differs), or concerned an object that is not worth caching and was not cached (`uncached`).
 */
export type WatchEventEffect = 'changed' | 'unchanged' | 'uncached';

/**
 * A watch re-opened at our resourceVersion after an error is answered 200 either way; when that
 * version was compacted meanwhile, a 410 ERROR event follows at once (from etcd or the watch
 * cache). Until this long has passed without one, the store is not known to be current.
 */
export const RESUME_SETTLE_MS = 2_000;

/** `observed`: a write's response handed to applyObserved (the watch will echo it later). */
export type ChangeOrigin = 'watch' | 'observed';

export function objectKey(raw: RawObject): string | undefined {
  const name = raw.metadata?.name;
  if (typeof name !== 'string' || !name) return undefined;
  const ns = raw.metadata?.namespace;
  return ns ? `${ns}/${name}` : name;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

export class Reflector<T> {
  private readonly writer = new StoreWriter<T>();
  /** What readers see: no way to change the cache from outside. */
  readonly store: Store<T> = this.writer;
  private resourceVersion = '';
  private readonly abort = new AbortController();
  private syncedOnce = false;
  private readonly syncedWaiters: (() => void)[] = [];
  private loop?: Promise<void>;
  /** Events and bookmarks the current watch delivered: proof the connection was healthy. */
  private delivered = 0;
  /** A relist is due (start, 410): until it completes the store may hold what no longer is. */
  private relisting = true;
  /**
   * A watch or list failed (an outage, a cut connection): changes may have been missed until a
   * relist completes or a watch re-opened at our resourceVersion settled (RESUME_SETTLE_MS).
   */
  private resuming = false;
  private readonly currentWaiters: (() => void)[] = [];
  /** Monotonic ms since which no watch is open (undefined: one is). */
  private disconnectedSince: number | undefined = performance.now();
  /** Monotonic ms of the last complete list, watch opening, event or bookmark. */
  private lastSyncMono?: number;
  private readonly opts: ReflectorOptions<T>;

  constructor(opts: ReflectorOptions<T>) {
    this.opts = opts;
  }

  get hasSynced(): boolean {
    return this.syncedOnce;
  }

  /** Resolves after the first complete list. */
  synced(): Promise<void> {
    if (this.syncedOnce) return Promise.resolve();
    return new Promise((r) => this.syncedWaiters.push(r));
  }

  /**
   * The store reflects the API as of a complete list and the watch since: false from the start or
   * a 410 (watch history compacted) until the relist completed. Acting on a store that is not
   * current could undo what happened meanwhile.
   */
  get isCurrent(): boolean {
    return !this.relisting && !this.resuming;
  }

  /** A relist is due and not completed (start, 410); see isCurrent for the other reason to wait. */
  get relistPending(): boolean {
    return this.relisting;
  }

  /** Resolves when the store is current (at once when it is). */
  whenCurrent(): Promise<void> {
    if (this.isCurrent) return Promise.resolve();
    return new Promise((r) => this.currentWaiters.push(r));
  }

  private notifyCurrent(): void {
    if (this.isCurrent) this.currentWaiters.splice(0).forEach((r) => r());
  }

  /** A watch stream is open now. */
  get connected(): boolean {
    return this.disconnectedSince === undefined;
  }

  /** How long no watch has been open (0 while one is). */
  disconnectedForMs(): number {
    return this.disconnectedSince === undefined ? 0 : performance.now() - this.disconnectedSince;
  }

  /** Milliseconds since the last complete list, watch opening, event or bookmark (Infinity: none yet). */
  lastSyncAgeMs(): number {
    return this.lastSyncMono === undefined ? Infinity : performance.now() - this.lastSyncMono;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { logger, resource } = this.opts;
    let backoffMs = 0;
    let needList = true;
    while (!this.abort.signal.aborted) {
      let outcome: ReflectorOutcome = { kind: 'failed' };
      let failure: unknown;
      try {
        if (needList) {
          await this.list();
          needList = false;
          // A successful list is a healthy API: the next failure starts from the floor.
          backoffMs = nextBackoff(backoffMs, { kind: 'listed' }).backoffMs;
        }
        const started = performance.now();
        const ended = (error: boolean): ReflectorOutcome => ({
          kind: 'watch-ended',
          delivered: this.delivered,
          error,
          lastedMs: performance.now() - started,
        });
        this.delivered = 0;
        try {
          await this.watch();
          outcome = ended(false);
        } catch (err) {
          if (this.delivered > 0) outcome = ended(true);
          throw err;
        } finally {
          this.disconnectedSince ??= performance.now();
        }
        this.opts.onWatchRestart?.('closed');
      } catch (err) {
        if (this.abort.signal.aborted) break;
        if (isStatus(err, 410) || (err instanceof ApiError && err.reason === 'Expired')) {
          logger.info('watch expired, relisting', { resource });
          needList = true;
          this.relisting = true;
          this.opts.onWatchRestart?.('expired');
          continue;
        }
        failure = err;
        // Blind since the failure: nothing decides on this store until it is known current.
        this.resuming = true;
      }
      const decision = nextBackoff(backoffMs, outcome);
      backoffMs = decision.backoffMs;
      if (failure === undefined && decision.waitMs === 0) continue;
      const waitMs = jitter(decision.waitMs);
      if (failure !== undefined) {
        const error = String((failure as Error)?.message ?? failure);
        logger.warn('list/watch failed, retrying', { resource, error, retryInMs: Math.round(waitMs) });
        this.opts.onWatchRestart?.('error');
      }
      await sleep(waitMs, this.abort.signal);
    }
  }

  /**
   * Paged LIST into a fresh map, then reconcile the store with it (emitting changes). On a relist,
   * an object whose resourceVersion is the cached one's is the cached object: it is kept as it is,
   * not transformed again, so a relist holds one copy of what did not change, not two (a bench
   * operator with 9,614 exceptions ran out of its 128 MiB heap relisting them after a 410).
   */
  private async list(): Promise<void> {
    const { client, path, transform, versionOf, pageSize = 500 } = this.opts;
    const listStarted = performance.now();
    const fresh = new Map<string, T>();
    let rv = '';
    for await (const page of listPages<RawObject>(client, path, {
      pageSize,
      signal: this.abort.signal,
      timeoutMs: 120_000,
      ...(this.opts.selector ? { query: this.opts.selector } : {}),
      ...(this.opts.metadataOnly ? { accept: PARTIAL_METADATA_LIST } : {}),
    })) {
      for (const raw of page.items ?? []) {
        const key = objectKey(raw);
        if (!key) continue;
        const had = versionOf ? this.writer.get(key) : undefined;
        const version = raw.metadata?.resourceVersion;
        if (had !== undefined && version && versionOf?.(had) === version) {
          fresh.set(key, had);
          continue;
        }
        let obj: T | undefined;
        try {
          obj = transform(raw);
        } catch (err) {
          this.opts.logger.warn('ignoring malformed object', { resource: this.opts.resource, key, error: String(err) });
        }
        if (obj !== undefined) fresh.set(key, obj);
      }
      rv = page.metadata?.resourceVersion ?? rv;
    }

    const previous = this.writer.snapshot();
    const { unchanged } = this.opts;
    const kept = new Set<string>();
    for (const [k, v] of fresh) {
      const had = previous.get(k);
      if (had === undefined || (had !== v && !unchanged?.(had, v))) continue;
      fresh.set(k, had);
      kept.add(k);
    }
    this.writer.replace(fresh);
    this.resourceVersion = rv;
    // Replay the difference so handlers see what happened while we were not watching.
    for (const [k, v] of fresh) if (!kept.has(k)) this.opts.onChange(k, v, previous.get(k), 'watch');
    for (const [k, v] of previous) if (!fresh.has(k)) this.opts.onChange(k, undefined, v, 'watch');
    this.lastSyncMono = performance.now();
    this.opts.onListed?.(this.lastSyncMono - listStarted, this.store.size);
    this.relisting = false;
    this.resuming = false;
    this.notifyCurrent();
    if (!this.syncedOnce) {
      this.syncedOnce = true;
      this.syncedWaiters.splice(0).forEach((r) => r());
    }
    this.opts.logger.debug('listed', { resource: this.opts.resource, cached: this.store.size, resourceVersion: rv });
  }

  private async watch(): Promise<void> {
    const { client, path, watchTimeoutSeconds = [300, 600] } = this.opts;
    const [lo, hi] = watchTimeoutSeconds;
    const timeoutSeconds = Math.round(lo + Math.random() * (hi - lo));
    let watchError: ApiError | undefined;
    const ctl = new AbortController();
    const signal = AbortSignal.any([this.abort.signal, ctl.signal]);
    let settle: NodeJS.Timeout | undefined;
    await client
      .watch(
        path,
        { ...this.opts.selector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (ev) => {
          if (watchError) return;
          const raw = (ev.object ?? {}) as RawObject;
          if (ev.type === 'ERROR') {
            const s = raw as { code?: number; reason?: string; message?: string };
            watchError = new ApiError(s.code ?? 500, s.reason ?? '', `watch ${path}: ${s.message ?? 'error event'}`, s);
            ctl.abort();
            return;
          }
          this.delivered++;
          this.lastSyncMono = performance.now();
          const rv = raw.metadata?.resourceVersion;
          if (rv) this.resourceVersion = rv;
          if (ev.type === 'BOOKMARK') return;
          this.apply(ev.type as WatchEventType, raw);
        },
        signal,
        // Bookmarks arrive about once a minute: silence for much longer means a dead connection.
        150_000,
        () => {
          this.disconnectedSince = undefined;
          this.lastSyncMono = performance.now();
          if (!this.resuming) return;
          settle = setTimeout(() => {
            if (watchError || signal.aborted) return;
            this.resuming = false;
            this.notifyCurrent();
          }, this.opts.resumeSettleMs ?? RESUME_SETTLE_MS);
          settle.unref();
        },
        this.opts.metadataOnly ? PARTIAL_METADATA : undefined,
      )
      .catch((err) => {
        if (!watchError) throw err;
      })
      .finally(() => clearTimeout(settle));
    if (watchError) throw watchError;
  }

  /** Applies one object seen outside a watch (e.g. a PATCH response) when it is newer. */
  applyObserved(raw: RawObject): void {
    const key = objectKey(raw);
    const cached = key ? this.writer.get(key) : undefined;
    const have = cached !== undefined ? this.opts.versionOf?.(cached) : undefined;
    const got = raw.metadata?.resourceVersion;
    // resourceVersions are etcd revisions in practice; compare only when both are plain integers.
    const atOrBefore = (rv: string | undefined) =>
      !!rv && !!got && /^\d+$/.test(rv) && /^\d+$/.test(got) && BigInt(got) <= BigInt(rv);
    if (atOrBefore(have)) return;
    // The watch already delivered this revision or a later one, so the store reflects it. A write's
    // response travels on its own connection and can arrive after the watch's DELETED event of the
    // same object: applied then, it brought a deleted exception back, and the namespace's grants
    // kept granting it (test/controller/grants-isolation.it.test.ts, test/kube/reflector-observed.test.ts).
    if (atOrBefore(this.resourceVersion)) return;
    this.apply('MODIFIED', raw, 'observed');
  }

  private apply(type: WatchEventType, raw: RawObject, origin: ChangeOrigin = 'watch'): void {
    const effect = this.storeEvent(type, raw, origin);
    if (effect && origin === 'watch') this.opts.onWatchEvent?.(effect);
  }

  /** Brings the store to one event; undefined for an object without a name. */
  private storeEvent(type: WatchEventType, raw: RawObject, origin: ChangeOrigin): WatchEventEffect | undefined {
    const key = objectKey(raw);
    if (!key) return undefined;
    const previous = this.writer.get(key);
    let obj: T | undefined;
    if (type !== 'DELETED') {
      try {
        obj = this.opts.transform(raw);
      } catch (err) {
        this.opts.logger.warn('ignoring malformed object', { resource: this.opts.resource, key, error: String(err) });
      }
    }
    if (obj === undefined) {
      if (!this.writer.delete(key)) return 'uncached';
      this.opts.onChange(key, undefined, previous, origin);
      return 'changed';
    }
    // The cached object stays, with its older resourceVersion: the change is not worth knowing.
    if (previous !== undefined && this.opts.unchanged?.(previous, obj)) return 'unchanged';
    this.writer.set(key, obj);
    this.opts.onChange(key, obj, previous, origin);
    return 'changed';
  }
}
