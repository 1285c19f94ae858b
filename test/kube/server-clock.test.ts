// The API server's clock from Date headers, and timers on it, with injected clocks.
import { describe, expect, it } from 'vitest';
import {
  DeadlineTimer,
  offsetBounds,
  ServerClock,
  wakePlan,
  type ClockSample,
  type TimerApi,
} from '../../src/kube/server-clock.ts';

/** A simulated world: a monotonic clock, the server's true clock, a local wall clock that may be off. */
function world(opts: { serverMinusMono: number; localWallOffsetMs: number }) {
  let mono = 1_000;
  let serverMinusMono = opts.serverMinusMono;
  let localWallOffsetMs = opts.localWallOffsetMs;
  const clocks = { monotonicMs: () => mono, wallMs: () => mono + serverMinusMono + localWallOffsetMs };
  const clock = new ServerClock(clocks);
  return {
    clock,
    serverTrue: () => mono + serverMinusMono,
    advance: (ms: number) => void (mono += ms),
    /** The server's clock is stepped (or ours stopped during a suspend): the mapping changes. */
    shift: (ms: number) => void (serverMinusMono += ms),
    stepLocalWall: (ms: number) => void (localWallOffsetMs += ms),
    /** One request: the server stamps Date at a point within the round trip. */
    request(rttMs: number, atFraction: number) {
      const sent = mono;
      mono += rttMs * atFraction;
      const date = new Date(Math.floor((mono + serverMinusMono) / 1000) * 1000).toUTCString();
      mono += rttMs * (1 - atFraction);
      clock.observe(date, sent, mono);
    },
  };
}

describe('ServerClock', () => {
  it('before any response: the local wall clock, with an unbounded error', () => {
    const w = world({ serverMinusMono: 1.7e12, localWallOffsetMs: 600_000 });
    expect(w.clock.estimate().errorMs).toBe(Infinity);
    expect(w.clock.now().toMillis()).toBe(w.serverTrue() + 600_000);
  });
  for (const localWallOffsetMs of [600_000, -420_000, 0, 3_600_000]) {
    it(`wall clock off by ${localWallOffsetMs / 1000} s: within the error bound, < 100 ms after 30`, () => {
      const w = world({ serverMinusMono: 1.7e12 + 123, localWallOffsetMs });
      for (let i = 0; i < 30; i++) {
        w.request(5 + (i % 7), (i * 0.37) % 1);
        w.advance(137 + i * 31); // requests at different sub-second phases
        const e = w.clock.estimate();
        expect(Math.abs(e.now.toMillis() - w.serverTrue())).toBeLessThanOrEqual(e.errorMs + 1e-6);
        expect(e.errorMs).toBeLessThanOrEqual(510);
      }
      const e = w.clock.estimate();
      expect(e.errorMs).toBeLessThan(100);
      expect(Math.abs(e.offsetMs - -localWallOffsetMs)).toBeLessThan(100);
    });
  }
  it('notBefore(): never after the true server time, from the first response on, and within 2x the error bound', () => {
    const w = world({ serverMinusMono: 1.7e12 + 871, localWallOffsetMs: 600_000 });
    for (let i = 0; i < 20; i++) {
      w.request(3 + (i % 5), (i * 0.61) % 1);
      w.advance(97 + i * 43);
      const e = w.clock.estimate();
      const early = w.clock.notBefore().toMillis();
      expect(early).toBeLessThanOrEqual(w.serverTrue() + 1e-6);
      expect(w.serverTrue() - early).toBeLessThanOrEqual(2 * e.errorMs + 1e-6);
    }
  });
  it('read again and again without a new response: the same bounds as computed afresh, widened only by drift', () => {
    const w = world({ serverMinusMono: 1.7e12 + 389, localWallOffsetMs: 250 });
    const samples: ClockSample[] = [];
    const observe = w.clock.observe.bind(w.clock);
    w.clock.observe = (date, sent, received) => {
      if (date) samples.push({ serverSecondMs: Date.parse(date), sentMono: sent, receivedMono: received });
      observe(date, sent, received);
    };
    for (let i = 0; i < 12; i++) {
      w.request(4 + (i % 3), (i * 0.43) % 1);
      // Between responses the clock is read many times (each reconcile, each queue operation).
      for (let k = 0; k < 5; k++) {
        w.advance(50 + k * 1000);
        const e = w.clock.estimate();
        const fresh = offsetBounds(samples, w.serverTrue() - (1.7e12 + 389))!;
        // Within 1e-3 ms: epoch milliseconds near 1.7e12 carry about 2e-4 ms of rounding.
        expect(e.errorMs).toBeGreaterThanOrEqual((fresh.hi - fresh.lo) / 2 - 1e-3);
        expect(e.errorMs).toBeLessThanOrEqual((fresh.hi - fresh.lo) / 2 + 1e-3);
        const early = w.clock.notBeforeMs();
        expect(early).toBeLessThanOrEqual(w.serverTrue() + 1e-6);
        expect(w.clock.notBefore().toMillis()).toBe(early);
      }
    }
  });
  it('a step of the local wall clock changes nothing (it is not used once a response arrived)', () => {
    const w = world({ serverMinusMono: 1.7e12, localWallOffsetMs: 0 });
    for (let i = 0; i < 10; i++) {
      w.request(4, 0.5);
      w.advance(333);
    }
    const before = w.clock.now().toMillis();
    w.stepLocalWall(-3_600_000);
    expect(w.clock.now().toMillis()).toBe(before);
    expect(w.clock.estimate().offsetMs).toBeGreaterThan(3_599_000);
  });
  it('a suspend (monotonic clock stopped while the server went on) is corrected by the next response', () => {
    const w = world({ serverMinusMono: 1.7e12, localWallOffsetMs: 0 });
    for (let i = 0; i < 10; i++) {
      w.request(4, 0.5);
      w.advance(333);
    }
    w.shift(25_000); // 25 s of suspend: CLOCK_MONOTONIC did not advance
    w.request(4, 0.5);
    const e = w.clock.estimate();
    expect(Math.abs(e.now.toMillis() - w.serverTrue())).toBeLessThanOrEqual(e.errorMs);
    expect(e.errorMs).toBeLessThanOrEqual(510);
  });
  it('a step of the server clock back by an hour: the new samples win', () => {
    const w = world({ serverMinusMono: 1.7e12, localWallOffsetMs: 0 });
    for (let i = 0; i < 10; i++) {
      w.request(4, 0.5);
      w.advance(333);
    }
    w.shift(-3_600_000);
    for (let i = 0; i < 3; i++) {
      w.request(4, 0.5);
      w.advance(333);
    }
    const e = w.clock.estimate();
    expect(Math.abs(e.now.toMillis() - w.serverTrue())).toBeLessThanOrEqual(e.errorMs);
  });
  it('a quiet hour of requests at one sub-second phase (Lease renewals every 2 s) keeps the calibrated bounds', () => {
    // Timers at whole-second intervals send every request at the same sub-second phase: each
    // Date header bounds the offset to the same ~1 s window. Once such samples filled the window
    // of kept ones, the estimate widened to ~1 s and every lapse was decided ~1 s late.
    const w = world({ serverMinusMono: 1.7e12 + 613, localWallOffsetMs: 0 });
    for (let i = 0; i < 8; i++) {
      w.request(4, 0.5);
      w.advance(137); // the start-up calibration: different phases
    }
    const calibrated = w.clock.estimate().errorMs;
    expect(calibrated).toBeLessThan(100);
    for (let i = 0; i < 1800; i++) {
      w.request(4, 0.5);
      w.advance(2000 - 4);
      const e = w.clock.estimate();
      expect(Math.abs(e.now.toMillis() - w.serverTrue())).toBeLessThanOrEqual(e.errorMs + 1e-6);
    }
    // Only drift widened it: 100 ppm over the hour is 360 ms at most, on each side; far less than
    // the ~1 s a same-phase window gives after 128 s.
    const after = w.clock.estimate().errorMs;
    expect(after).toBeLessThan(calibrated + 400);
    expect(w.serverTrue() - w.clock.notBefore().toMillis()).toBeLessThanOrEqual(2 * after + 1e-6);
    // And after two minutes (the bench's lapse lead), still within tens of ms.
    const w2 = world({ serverMinusMono: 1.7e12 + 613, localWallOffsetMs: 0 });
    for (let i = 0; i < 8; i++) {
      w2.request(4, 0.5);
      w2.advance(137);
    }
    for (let i = 0; i < 70; i++) {
      w2.request(4, 0.5);
      w2.advance(2000 - 4);
    }
    expect(w2.clock.estimate().errorMs).toBeLessThan(100);
    expect(w2.serverTrue() - w2.clock.notBefore().toMillis()).toBeLessThan(200);
  });
  it('a server clock step after a calibration and a full window: the new samples win, the pinned ones go', () => {
    const w = world({ serverMinusMono: 1.7e12 + 250, localWallOffsetMs: 0 });
    for (let i = 0; i < 8; i++) {
      w.request(4, 0.5);
      w.advance(137);
    }
    for (let i = 0; i < 100; i++) {
      w.request(4, 0.5);
      w.advance(1996);
    }
    w.shift(-3_600_000);
    for (let i = 0; i < 100; i++) {
      w.request(4, 0.5);
      w.advance(1996);
      const e = w.clock.estimate();
      expect(Math.abs(e.now.toMillis() - w.serverTrue())).toBeLessThanOrEqual(e.errorMs + 1e-6);
      expect(w.clock.notBefore().toMillis()).toBeLessThanOrEqual(w.serverTrue() + 1e-6);
    }
    expect(w.clock.sampleCount).toBe(64);
  });
  it('ignores responses without a usable Date header', () => {
    const w = world({ serverMinusMono: 1.7e12, localWallOffsetMs: 5000 });
    w.clock.observe(null, 0, 1);
    w.clock.observe('not a date', 0, 1);
    w.clock.observe('Fri, 27 Nov 2026 16:51:50 GMT', 10, 5); // received before sent: nonsense
    expect(w.clock.estimate().errorMs).toBe(Infinity);
  });
});

describe('offsetBounds', () => {
  it('one sample: the second of the Date header and the round trip', () => {
    const s: ClockSample = { serverSecondMs: 10_000, sentMono: 100, receivedMono: 150 };
    expect(offsetBounds([s], 150)).toEqual({ lo: 10_000 - 150, hi: 11_000 - 100, used: 1 });
    expect(offsetBounds([], 0)).toBeUndefined();
  });
  it('old samples widen with drift', () => {
    const s: ClockSample = { serverSecondMs: 10_000, sentMono: 0, receivedMono: 0 };
    const b = offsetBounds([s], 1_000_000)!;
    expect(b.hi - b.lo).toBeCloseTo(1000 + 2 * 100, 6);
  });
});

/** Timers driven by hand: `run(ms)` advances the monotonic clock and fires what is due. */
function manualTimers() {
  let t = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  let id = 0;
  const api: TimerApi = {
    set: (fn, ms) => (pending.set(++id, { at: t + ms, fn }), id),
    clear: (h) => void pending.delete(h as number),
  };
  return {
    api,
    now: () => t,
    sleeps: [] as number[],
    run(ms: number) {
      const end = t + ms;
      for (;;) {
        const next = [...pending.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        pending.delete(next[0]);
        t = next[1].at;
        next[1].fn();
      }
      t = end;
    },
  };
}

describe('DeadlineTimer', () => {
  it('wakePlan: fire at or after the deadline, else sleep at most maxSleep', () => {
    expect(wakePlan(100, 100, 10)).toEqual({ fire: true });
    expect(wakePlan(101, 100, 10)).toEqual({ fire: true });
    expect(wakePlan(0, 100, 10)).toEqual({ fire: false, sleepMs: 10 });
    expect(wakePlan(95, 100, 10)).toEqual({ fire: false, sleepMs: 5 });
  });
  it('fires once, at the deadline of the server clock, never before', () => {
    const m = manualTimers();
    const serverOffset = 1_000_000;
    const fired: number[] = [];
    const timer = new DeadlineTimer(() => m.now() + serverOffset, 10_000, m.api);
    timer.at(1_000_000 + 60_000, () => fired.push(m.now() + serverOffset));
    m.run(59_999);
    expect(fired).toEqual([]);
    m.run(1);
    expect(fired).toEqual([1_060_000]);
    m.run(100_000);
    expect(fired).toHaveLength(1);
    expect(timer.pending).toBe(false);
  });
  it('the server-time estimate jumps forward (a suspend corrected): fires within maxSleep, not a minute late', () => {
    const m = manualTimers();
    let serverOffset = 0;
    const fired: number[] = [];
    const timer = new DeadlineTimer(() => m.now() + serverOffset, 5_000, m.api);
    timer.at(60_000, () => fired.push(m.now()));
    m.run(1_000);
    serverOffset = 58_000; // we learn that the server is 58 s further than we thought
    m.run(5_000);
    expect(fired).toEqual([5_000]);
  });
  it('the estimate jumps back: it does not fire early, it sleeps again', () => {
    const m = manualTimers();
    let serverOffset = 0;
    const fired: number[] = [];
    const timer = new DeadlineTimer(() => m.now() + serverOffset, 5_000, m.api);
    timer.at(10_000, () => fired.push(m.now() + serverOffset));
    m.run(4_000);
    serverOffset = -20_000;
    m.run(20_000);
    expect(fired).toEqual([]);
    m.run(10_000);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toBeGreaterThanOrEqual(10_000);
  });
  it('at() replaces the pending deadline; cancel() drops it', () => {
    const m = manualTimers();
    const fired: string[] = [];
    const timer = new DeadlineTimer(m.now, 1_000, m.api);
    timer.at(5_000, () => fired.push('first'));
    timer.at(2_000, () => fired.push('second'));
    m.run(10_000);
    expect(fired).toEqual(['second']);
    timer.at(20_000, () => fired.push('third'));
    timer.cancel();
    m.run(20_000);
    expect(fired).toEqual(['second']);
  });
});
