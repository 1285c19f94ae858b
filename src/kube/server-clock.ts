// The API server's clock, as seen from its responses. Admission compares expiresAt with a pod's
// creationTimestamp, both on the API server's clock; the operator must decide lapses on that same
// clock, whatever its own wall clock says (10 minutes ahead, stepped back, a suspended VM).
//
// Every response carries an HTTP `Date` header: the server's time, truncated to the second, at
// some instant between our sending the request and receiving the headers. Mapped onto our
// MONOTONIC clock, one response bounds (server time - local monotonic time) to an interval of
// 1 s + round trip; intersecting the intervals of many responses (their sub-second phases differ)
// narrows it to tens of milliseconds. The local wall clock is never used once a response arrived.
import { DateTime } from 'luxon';

export interface LocalClocks {
  /** Milliseconds on a monotonic clock (performance.now()). */
  monotonicMs(): number;
  /** The local wall clock (Date.now()): only before the first response, and to report the offset. */
  wallMs(): number;
}

export const systemLocalClocks: LocalClocks = { monotonicMs: () => performance.now(), wallMs: () => Date.now() };

export interface ClockSample {
  /** The Date header as epoch ms (a whole second). */
  serverSecondMs: number;
  /** Local monotonic ms when the request was sent and when the response headers arrived. */
  sentMono: number;
  receivedMono: number;
}

/** Bounds on (server epoch ms - local monotonic ms). */
export interface OffsetBounds {
  lo: number;
  hi: number;
  /** Samples that agreed (newest first); older ones that disagree are dropped. */
  used: number;
}

/** Crystal oscillators drift well under 100 ppm; widen old samples by that much per ms elapsed. */
export const DRIFT_PER_MS = 100e-6;

/** One sample's bounds on (server epoch ms - local monotonic ms), widened by the drift since. */
function sampleBounds(s: ClockSample, nowMono: number): [lo: number, hi: number] {
  const drift = DRIFT_PER_MS * Math.max(0, nowMono - s.receivedMono);
  return [s.serverSecondMs - s.receivedMono - drift, s.serverSecondMs + 1000 - s.sentMono + drift];
}

/**
 * The intersection of the newest samples' intervals, newest first, stopping at the first sample
 * that contradicts the newer ones (the server's clock was stepped, or ours was suspended: CLOCK_
 * MONOTONIC stops during a suspend). Undefined without samples. Pure.
 */
export function offsetBounds(samples: readonly ClockSample[], nowMono: number): OffsetBounds | undefined {
  let lo = -Infinity;
  let hi = Infinity;
  let used = 0;
  for (let i = samples.length - 1; i >= 0; i--) {
    const [sLo, sHi] = sampleBounds(samples[i]!, nowMono);
    const nLo = Math.max(lo, sLo);
    const nHi = Math.min(hi, sHi);
    if (nLo > nHi) break;
    lo = nLo;
    hi = nHi;
    used++;
  }
  return used ? { lo, hi, used } : undefined;
}

/**
 * Which sample to drop when one too many are kept: the oldest, unless it is one of the two that
 * set the current bounds (the highest low and the lowest high of offsetBounds). Requests sent by
 * whole-second timers (Lease renewals, keepClockFresh) all bound the offset to the same ~1 s
 * window; dropping the calibration's samples for them widened the estimate to ~1 s, and every
 * lapse was decided that much late. A pinned sample goes once newer ones are tighter (its bounds
 * widen with drift) or contradict it (a clock step: offsetBounds stops before it). Pure.
 */
export function evictionIndex(samples: readonly ClockSample[], nowMono: number): number {
  let lo = -Infinity;
  let hi = Infinity;
  let loAt = -1;
  let hiAt = -1;
  for (let i = samples.length - 1; i >= 0; i--) {
    const [sLo, sHi] = sampleBounds(samples[i]!, nowMono);
    if (Math.max(lo, sLo) > Math.min(hi, sHi)) break;
    if (sLo > lo) [lo, loAt] = [sLo, i];
    if (sHi < hi) [hi, hiAt] = [sHi, i];
  }
  for (let i = 0; i < samples.length; i++) if (i !== loAt && i !== hiAt) return i;
  return 0;
}

export interface ServerTimeEstimate {
  /** The API server's time now. */
  now: DateTime;
  /** How far the server's clock is ahead of the local wall clock (negative: behind). */
  offsetMs: number;
  /** The true server time is within now +- errorMs (Infinity before the first response). */
  errorMs: number;
}

export class ServerClock {
  private readonly samples: ClockSample[] = [];
  private readonly clocks: LocalClocks;
  private readonly keep: number;
  /**
   * offsetBounds as last computed (every reconcile and queue operation reads the clock), valid
   * until the next sample: later, each bound only widens by the drift since (see bounds()).
   */
  private cached?: { bounds: OffsetBounds | undefined; atMono: number };

  constructor(clocks: LocalClocks = systemLocalClocks, keep = 64) {
    this.clocks = clocks;
    this.keep = keep;
  }

  /** Records one response's Date header (ignored when absent or unparsable). */
  observe(dateHeader: string | null | undefined, sentMono: number, receivedMono: number): void {
    if (!dateHeader) return;
    const serverSecondMs = Date.parse(dateHeader);
    if (!Number.isFinite(serverSecondMs) || receivedMono < sentMono) return;
    this.samples.push({ serverSecondMs, sentMono, receivedMono });
    while (this.samples.length > this.keep) this.samples.splice(evictionIndex(this.samples, receivedMono), 1);
    this.cached = undefined;
  }

  /**
   * offsetBounds(samples, mono), from the last computation when no sample arrived since: every
   * sample's interval widens by the same drift, so the intersection widens by exactly that (it
   * is never narrower than a fresh computation, which might also keep an older sample).
   */
  private bounds(mono: number): OffsetBounds | undefined {
    const c = this.cached;
    if (c && mono >= c.atMono) {
      if (!c.bounds) return undefined;
      const drift = DRIFT_PER_MS * (mono - c.atMono);
      return { lo: c.bounds.lo - drift, hi: c.bounds.hi + drift, used: c.bounds.used };
    }
    const bounds = offsetBounds(this.samples, mono);
    this.cached = { bounds, atMono: mono };
    return bounds;
  }

  /** The estimate in epoch ms (the local wall clock before the first response: error Infinity). */
  private estimateMs(): { serverMs: number; offsetMs: number; errorMs: number } {
    const mono = this.clocks.monotonicMs();
    const wall = this.clocks.wallMs();
    const b = this.bounds(mono);
    if (!b) return { serverMs: wall, offsetMs: 0, errorMs: Infinity };
    const serverMs = mono + (b.lo + b.hi) / 2;
    return { serverMs, offsetMs: serverMs - wall, errorMs: (b.hi - b.lo) / 2 };
  }

  estimate(): ServerTimeEstimate {
    const { serverMs, offsetMs, errorMs } = this.estimateMs();
    return { now: DateTime.fromMillis(serverMs, { zone: 'utc' }), offsetMs, errorMs };
  }

  /** The API server's time now (the local wall clock until the first response). */
  now(): DateTime {
    return this.estimate().now;
  }

  /**
   * The earliest the API server's time can be now (the local wall clock until the first
   * response): a deadline reached on this clock has certainly passed on the server's. Decisions
   * made on it are never early, and late by at most twice the error bound (tens of ms once a
   * few responses at different sub-second phases arrived).
   */
  notBefore(): DateTime {
    return DateTime.fromMillis(this.notBeforeMs(), { zone: 'utc' });
  }

  /** notBefore() in epoch ms. */
  notBeforeMs(): number {
    const e = this.estimateMs();
    return Number.isFinite(e.errorMs) ? e.serverMs - e.errorMs : e.serverMs;
  }

  /** Samples kept; the estimate narrows as responses at different sub-second phases arrive. */
  get sampleCount(): number {
    return this.samples.length;
  }
}

/** What a deadline timer does when it wakes: fire, or sleep again (never longer than maxSleepMs). Pure. */
export function wakePlan(
  nowMs: number,
  deadlineMs: number,
  maxSleepMs: number,
): { fire: true } | { fire: false; sleepMs: number } {
  const left = deadlineMs - nowMs;
  return left <= 0 ? { fire: true } : { fire: false, sleepMs: Math.min(left, maxSleepMs) };
}

export interface TimerApi {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const systemTimers: TimerApi = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Fires once `now()` (server time) reaches a deadline. It does not trust one long setTimeout: it
 * sleeps at most `maxSleepMs` at a time and re-checks the clock on each wake, so a server-time
 * estimate corrected after a suspend or a clock step makes it fire within `maxSleepMs` of the true
 * instant, and it never fires before the deadline by the clock it is given.
 */
export class DeadlineTimer {
  private handle: unknown;
  private deadlineMs?: number;
  private fire?: () => void;
  private readonly now: () => number;
  private readonly maxSleepMs: number;
  private readonly timers: TimerApi;

  constructor(now: () => number, maxSleepMs = 10_000, timers: TimerApi = systemTimers) {
    this.now = now;
    this.maxSleepMs = maxSleepMs;
    this.timers = timers;
  }

  /** Replaces any pending deadline. */
  at(deadlineMs: number, fire: () => void): void {
    this.cancel();
    this.deadlineMs = deadlineMs;
    this.fire = fire;
    this.wake();
  }

  cancel(): void {
    if (this.handle !== undefined) this.timers.clear(this.handle);
    this.handle = undefined;
    this.deadlineMs = undefined;
    this.fire = undefined;
  }

  get pending(): boolean {
    return this.deadlineMs !== undefined;
  }

  private wake(): void {
    this.handle = undefined;
    if (this.deadlineMs === undefined) return;
    const plan = wakePlan(this.now(), this.deadlineMs, this.maxSleepMs);
    if (plan.fire) {
      const fire = this.fire!;
      this.deadlineMs = undefined;
      this.fire = undefined;
      fire();
      return;
    }
    this.handle = this.timers.set(() => this.wake(), plan.sleepMs);
  }
}
