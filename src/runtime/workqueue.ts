// A keyed work queue in the manner of client-go's: a key is queued at most once, never processed
// by two workers at once (a key added while in flight runs again afterwards), a failing key is
// retried with per-key exponential backoff, and addAfter keeps the earliest deadline asked for.
// Keys go to priority lanes (0 first): when a thousand exceptions lapse together, their Events
// leave before the pod work they trigger. A running handler may also step down to a later lane
// (`continueAt`) for its remaining writes, so one reconcile can raise an Event at lane 0 and
// record it in status at lane 1 without holding a worker while lane 0 still has work.
import { TerminalError } from './result.ts';

export interface WorkQueueOptions<K> {
  concurrency: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Lane of a key when add() names none, 0 = most urgent (default: every key in lane 0). */
  laneOf?: (key: K) => number;
  /** Identity of a key (default String(key)): equal ids are one key. */
  idOf?: (key: K) => string;
  /** A failure; `attempt` counts consecutive failures, `terminal` ones are not retried. */
  onError?: (key: K, err: unknown, attempt: number, terminal: boolean) => void;
}

/** What a running handler may do with the queue. */
export interface WorkContext {
  /** The lane this run currently holds. */
  readonly lane: number;
  /**
   * Waits until no queued work of a lane before `lane` remains, then continues at `lane`
   * (the worker slot is free meanwhile). A lane at or before the current one returns at once.
   */
  continueAt(lane: number): Promise<void>;
}

/** Rejects parked handlers when the queue pauses or stops; their key is queued again quietly. */
export class QueuePaused extends Error {}

interface Entry<K> {
  id: string;
  key: K;
  lane: number;
}

/** A FIFO with amortised O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(k: T): void {
    this.items.push(k);
  }
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const k = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return k;
  }
}

interface Parked {
  resume: () => void;
  abort: (err: Error) => void;
}

export class WorkQueue<K = string> {
  private readonly lanes: Fifo<Entry<K>>[] = [];
  /** Queued ids and the lane their live entry is in (an entry in another lane is stale). */
  private readonly queued = new Map<string, number>();
  private readonly processing = new Set<string>();
  /** Added while in flight: run again afterwards, at the most urgent lane asked for. */
  private readonly dirty = new Map<string, Entry<K>>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  /** Keys waiting out a throttle (counted as pending work, unlike transition timers). */
  private readonly throttled = new Map<string, NodeJS.Timeout>();
  /** Running handlers waiting for their lane (continueAt). */
  private readonly parked: Fifo<Parked>[] = [];
  private parkedCount = 0;
  private running = false;
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly handler: (key: K, ctx: WorkContext) => Promise<void>;
  private readonly opts: Required<Omit<WorkQueueOptions<K>, 'onError'>> & Pick<WorkQueueOptions<K>, 'onError'>;

  constructor(handler: (key: K, ctx: WorkContext) => Promise<void>, opts: WorkQueueOptions<K>) {
    this.handler = handler;
    this.opts = { baseDelayMs: 200, maxDelayMs: 60_000, laneOf: () => 0, idOf: (k) => String(k), ...opts };
  }

  /** Keys queued (all lanes), keys waiting out a throttle, and runs waiting for their lane. */
  get length(): number {
    return this.queued.size + this.throttled.size + this.parkedCount;
  }

  get inFlight(): number {
    return this.active;
  }

  add(key: K, lane = this.opts.laneOf(key)): void {
    const id = this.opts.idOf(key);
    lane = Math.max(0, lane);
    if (this.processing.has(id)) {
      const again = this.dirty.get(id);
      if (!again || lane < again.lane) this.dirty.set(id, { id, key, lane });
      return;
    }
    const queuedAt = this.queued.get(id);
    // Already queued at this lane or a more urgent one; a more urgent add moves it forward.
    if (queuedAt !== undefined && queuedAt <= lane) return;
    this.queued.set(id, lane);
    this.laneFifo(lane).push({ id, key, lane });
    this.pump();
  }

  /**
   * Adds `key` once `ms` have passed, unless it is already waiting: at most one run per `ms`
   * however often it is asked for (coalesces status writes under pod churn).
   */
  addThrottled(key: K, ms: number, lane = this.opts.laneOf(key)): void {
    const id = this.opts.idOf(key);
    if (this.throttled.has(id)) return;
    const t = setTimeout(() => {
      this.throttled.delete(id);
      this.add(key, lane);
    }, ms);
    t.unref();
    this.throttled.set(id, t);
  }

  /** Adds `key` after `ms`; while a timer for the key is pending, the earlier deadline wins. */
  addAfter(key: K, ms: number, lane = this.opts.laneOf(key)): void {
    const id = this.opts.idOf(key);
    // setTimeout holds at most ~24.8 days; a longer wait re-arms when it fires (the reconcile is a no-op).
    const wait = Math.max(0, Math.min(ms, 2 ** 31 - 1));
    const at = Date.now() + wait;
    const existing = this.delayed.get(id);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.delayed.delete(id);
      this.add(key, lane);
    }, wait);
    timer.unref();
    this.delayed.set(id, { timer, at });
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking work; in-flight work finishes. Queued keys stay queued for a later start(). */
  async pause(): Promise<void> {
    this.running = false;
    this.abortParked();
    await this.drainActive();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    for (const t of this.throttled.values()) clearTimeout(t);
    this.delayed.clear();
    this.throttled.clear();
    this.abortParked();
    await this.drainActive();
  }

  /** Resolves once nothing is queued, throttled or in flight (transition timers do not count). */
  idle(): Promise<void> {
    if (this.length === 0 && this.active === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private laneFifo(lane: number): Fifo<Entry<K>> {
    while (this.lanes.length <= lane) this.lanes.push(new Fifo());
    return this.lanes[lane]!;
  }

  private parkedFifo(lane: number): Fifo<Parked> {
    while (this.parked.length <= lane) this.parked.push(new Fifo());
    return this.parked[lane]!;
  }

  /** A parked run is resumed with an error: it finishes as an active run and requeues its key. */
  private abortParked(): void {
    for (const lane of this.parked) {
      for (let p = lane.shift(); p; p = lane.shift()) {
        this.parkedCount--;
        this.active++;
        p.abort(new QueuePaused('queue paused'));
      }
    }
  }

  private drainActive(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const check = setInterval(() => {
        if (this.active === 0) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
  }

  /** The next live entry of a lane (stale entries of keys moved to a more urgent lane are dropped). */
  private head(lane: number): Entry<K> | undefined {
    const fifo = this.lanes[lane];
    if (!fifo) return undefined;
    for (let e = fifo.peek(); e; e = fifo.peek()) {
      if (this.queued.get(e.id) === e.lane) return e;
      fifo.shift();
    }
    return undefined;
  }

  private pump(): void {
    while (this.running && this.active < this.opts.concurrency) {
      const lanes = Math.max(this.lanes.length, this.parked.length);
      let started = false;
      for (let lane = 0; lane < lanes && !started; lane++) {
        // A parked run at this lane goes before new keys of the lane: it started earlier.
        const parked = this.parked[lane]?.shift();
        if (parked) {
          this.parkedCount--;
          this.active++;
          parked.resume();
          started = true;
          continue;
        }
        const entry = this.head(lane);
        if (!entry) continue;
        this.lanes[lane]!.shift();
        this.queued.delete(entry.id);
        this.processing.add(entry.id);
        this.active++;
        void this.process(entry);
        started = true;
      }
      if (!started) break;
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.length === 0 && this.active === 0) this.idleWaiters.splice(0).forEach((r) => r());
  }

  private async process(entry: Entry<K>): Promise<void> {
    const { id, key } = entry;
    const ctx = {
      lane: entry.lane,
      continueAt: (lane: number): Promise<void> => {
        if (lane <= ctx.lane) return Promise.resolve();
        ctx.lane = lane;
        return new Promise<void>((resume, abort) => {
          this.active--;
          this.parkedCount++;
          this.parkedFifo(lane).push({ resume, abort });
          this.pump();
        });
      },
    };
    try {
      await this.handler(key, ctx);
      this.failures.delete(id);
    } catch (err) {
      if (err instanceof QueuePaused) {
        if (!this.dirty.has(id)) this.dirty.set(id, entry);
      } else if (err instanceof TerminalError) {
        const attempt = (this.failures.get(id) ?? 0) + 1;
        this.failures.delete(id);
        this.opts.onError?.(key, err, attempt, true);
      } else {
        const attempt = (this.failures.get(id) ?? 0) + 1;
        this.failures.set(id, attempt);
        this.opts.onError?.(key, err, attempt, false);
        const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
        this.addAfter(key, delay * (0.8 + Math.random() * 0.4), entry.lane);
      }
    } finally {
      this.processing.delete(id);
      this.active--;
      const again = this.dirty.get(id);
      if (again) {
        this.dirty.delete(id);
        this.add(again.key, again.lane);
      }
      this.pump();
      this.notifyIdle();
    }
  }
}
