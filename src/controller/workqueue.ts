// A keyed work queue in the manner of client-go's: a key is queued at most once, never processed
// by two workers at once (a key added while in flight runs again afterwards), and a failing key
// is retried with per-key exponential backoff. Keys go to priority lanes (0 first): when a
// thousand exceptions lapse together, their Events leave before the pod work they trigger.

export interface WorkQueueOptions {
  concurrency: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Lane of a key, 0 = most urgent (default: every key in lane 0). */
  laneOf?: (key: string) => number;
  onError?: (key: string, err: unknown, attempt: number) => void;
}

/** A FIFO with amortised O(1) shift. */
class Fifo {
  private items: string[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(k: string): void {
    this.items.push(k);
  }
  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const k = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return k;
  }
}

export class WorkQueue {
  private readonly lanes: Fifo[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, NodeJS.Timeout>();
  /** Keys waiting out a throttle (counted as pending work, unlike transition timers). */
  private readonly throttled = new Map<string, NodeJS.Timeout>();
  private running = false;
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly handler: (key: string) => Promise<void>;
  private readonly opts: Required<Omit<WorkQueueOptions, 'onError'>> & Pick<WorkQueueOptions, 'onError'>;

  constructor(handler: (key: string) => Promise<void>, opts: WorkQueueOptions) {
    this.handler = handler;
    this.opts = { baseDelayMs: 200, maxDelayMs: 60_000, laneOf: () => 0, ...opts };
  }

  /** Keys queued (all lanes) plus keys waiting out a throttle. */
  get length(): number {
    return this.lanes.reduce((n, l) => n + l.length, 0) + this.throttled.size;
  }

  private get queuedLength(): number {
    return this.lanes.reduce((n, l) => n + l.length, 0);
  }

  get inFlight(): number {
    return this.active;
  }

  add(key: string): void {
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    const lane = Math.max(0, this.opts.laneOf(key));
    while (this.lanes.length <= lane) this.lanes.push(new Fifo());
    this.lanes[lane]!.push(key);
    this.pump();
  }

  /**
   * Adds `key` once `ms` have passed, unless it is already waiting: at most one run per `ms`
   * however often it is asked for (coalesces status writes under pod churn).
   */
  addThrottled(key: string, ms: number): void {
    if (this.throttled.has(key)) return;
    const t = setTimeout(() => {
      this.throttled.delete(key);
      this.add(key);
    }, ms);
    t.unref();
    this.throttled.set(key, t);
  }

  /** Adds `key` after `ms`; a later call for the same key replaces the earlier timer. */
  addAfter(key: string, ms: number): void {
    const existing = this.delayed.get(key);
    if (existing) clearTimeout(existing);
    // setTimeout holds at most ~24.8 days; a longer wait re-arms when it fires (the reconcile is a no-op).
    const t = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    t.unref();
    this.delayed.set(key, t);
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking work; in-flight work finishes. Queued keys stay queued for a later start(). */
  async pause(): Promise<void> {
    this.running = false;
    await this.drainActive();
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of [...this.delayed.values(), ...this.throttled.values()]) clearTimeout(t);
    this.delayed.clear();
    this.throttled.clear();
    await this.drainActive();
  }

  /** Resolves once nothing is queued, throttled or in flight (transition timers do not count). */
  idle(): Promise<void> {
    if (this.length === 0 && this.active === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
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

  private pump(): void {
    while (this.running && this.active < this.opts.concurrency && this.queuedLength > 0) {
      const key = this.lanes.find((l) => l.length > 0)!.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.active++;
      void this.process(key);
    }
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.length === 0 && this.active === 0) this.idleWaiters.splice(0).forEach((r) => r());
  }

  private async process(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (err) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.opts.onError?.(key, err, attempt);
      const delay = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
      this.addAfter(key, delay * (0.8 + Math.random() * 0.4));
    } finally {
      this.processing.delete(key);
      this.active--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
      this.notifyIdle();
    }
  }
}
