import { afterEach, describe, expect, it, vi } from 'vitest';
import { TerminalError } from '../../src/runtime/result.ts';
import { WorkQueue } from '../../src/runtime/workqueue.ts';

describe('WorkQueue', () => {
  it('deduplicates queued keys and never runs one key twice at once', async () => {
    const runs: string[] = [];
    let inFlight = 0;
    let maxSameKey = 0;
    const q = new WorkQueue(
      async (k) => {
        inFlight++;
        maxSameKey = Math.max(maxSameKey, inFlight);
        runs.push(k);
        await new Promise((r) => setTimeout(r, 20));
        inFlight--;
      },
      { concurrency: 4 },
    );
    q.add('a');
    q.add('a');
    q.add('a');
    q.start();
    await new Promise((r) => setTimeout(r, 5));
    q.add('a'); // while in flight: runs once more afterwards
    q.add('a');
    await q.idle();
    expect(runs).toEqual(['a', 'a']);
    expect(maxSameKey).toBe(1);
  });

  it('retries a failing key with backoff until it succeeds', async () => {
    let attempts = 0;
    const errors: number[] = [];
    const q = new WorkQueue(
      async () => {
        attempts++;
        if (attempts < 3) throw new Error('boom');
      },
      { concurrency: 1, baseDelayMs: 5, onError: (_k, _e, n) => errors.push(n) },
    );
    q.start();
    q.add('k');
    await new Promise((r) => setTimeout(r, 200));
    expect(attempts).toBe(3);
    expect(errors).toEqual([1, 2]);
  });

  it('respects concurrency and processes distinct keys in parallel', async () => {
    let active = 0;
    let peak = 0;
    const q = new WorkQueue(
      async () => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 10));
        active--;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    q.start();
    await q.idle();
    expect(peak).toBe(3);
  });

  it('paused queues keep keys for later', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(async (k) => void seen.push(k), { concurrency: 1 });
    q.add('x');
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([]);
    q.start();
    await q.idle();
    expect(seen).toEqual(['x']);
    await q.pause();
    q.add('y');
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual(['x']);
  });
});

describe('WorkQueue lanes and throttling', () => {
  it('drains lane 0 before lane 1 before lane 2, FIFO within a lane', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(async (k) => void seen.push(k), { concurrency: 1, laneOf: (k) => Number(k[0]) });
    for (const k of ['2a', '1a', '2b', '0a', '1b', '0b']) q.add(k);
    q.start();
    await q.idle();
    expect(seen).toEqual(['0a', '0b', '1a', '1b', '2a', '2b']);
  });

  it('addThrottled runs a key at most once per window, and counts as pending', async () => {
    const seen: string[] = [];
    const q = new WorkQueue(async (k) => void seen.push(k), { concurrency: 1 });
    q.start();
    for (let i = 0; i < 5; i++) q.addThrottled('s', 50);
    expect(q.length).toBe(1);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    await q.idle();
    expect(seen).toEqual(['s']);
    expect(q.length).toBe(0);
  });
});

describe('WorkQueue: typed keys, priorities, deadlines, terminal errors', () => {
  type Key = { kind: string; name: string };
  const idOf = (k: Key) => `${k.kind}/${k.name}`;

  it('typed keys are deduplicated by id; a more urgent add moves a queued key forward', async () => {
    const seen: string[] = [];
    const q = new WorkQueue<Key>(async (k) => void seen.push(idOf(k)), {
      concurrency: 1,
      idOf,
      laneOf: (k) => (k.kind === 'pod' ? 2 : 0),
    });
    q.add({ kind: 'pod', name: 'a' });
    q.add({ kind: 'pod', name: 'b' });
    q.add({ kind: 'pod', name: 'b' }, 1); // promoted to lane 1
    q.add({ kind: 'pod', name: 'b' }, 2); // a less urgent add changes nothing
    q.add({ kind: 'exception', name: 'e' });
    expect(q.length).toBe(3);
    q.start();
    await q.idle();
    expect(seen).toEqual(['exception/e', 'pod/b', 'pod/a']);
  });

  it('continueAt: a run steps down to a later lane and waits there while earlier lanes have work', async () => {
    const log: string[] = [];
    const q = new WorkQueue<string>(
      async (k, ctx) => {
        log.push(`${k}:event`);
        await ctx.continueAt(1);
        log.push(`${k}:status`);
      },
      { concurrency: 1 },
    );
    for (const k of ['a', 'b', 'c']) q.add(k);
    q.start();
    await q.idle();
    expect(log).toEqual(['a:event', 'b:event', 'c:event', 'a:status', 'b:status', 'c:status']);
  });

  it('continueAt frees the worker slot: parked runs do not count against concurrency', async () => {
    let peakActive = 0;
    const q = new WorkQueue<string>(
      async (_k, ctx) => {
        peakActive = Math.max(peakActive, q.inFlight);
        await ctx.continueAt(1);
        peakActive = Math.max(peakActive, q.inFlight);
      },
      { concurrency: 2 },
    );
    for (let i = 0; i < 10; i++) q.add(`k${i}`);
    q.start();
    await q.idle();
    expect(peakActive).toBeLessThanOrEqual(2);
  });

  it('addAfter keeps the earliest deadline asked for', async () => {
    const seen: number[] = [];
    const start = Date.now();
    const q = new WorkQueue<string>(async () => void seen.push(Date.now() - start), { concurrency: 1 });
    q.start();
    q.addAfter('k', 10_000);
    q.addAfter('k', 20);
    q.addAfter('k', 5_000); // later than the pending one: ignored
    await new Promise((r) => setTimeout(r, 80));
    expect(seen).toHaveLength(1);
    await q.stop();
  });

  it('a TerminalError is reported once and not retried; a plain error is retried', async () => {
    const errors: [string, number, boolean][] = [];
    let runs = 0;
    const q = new WorkQueue<string>(
      async (k) => {
        runs++;
        if (k === 'bad') throw new TerminalError('refused as invalid');
      },
      { concurrency: 1, baseDelayMs: 1, onError: (k, _e, attempt, terminal) => errors.push([k, attempt, terminal]) },
    );
    q.start();
    q.add('bad');
    await new Promise((r) => setTimeout(r, 30));
    expect(runs).toBe(1);
    expect(errors).toEqual([['bad', 1, true]]);
  });

  it('pause releases parked runs, which are queued again without counting as failures', async () => {
    const errors: unknown[] = [];
    const statusWrites: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue<string>(
      async (k, ctx) => {
        if (k === 'blocker') return gate;
        await ctx.continueAt(1);
        statusWrites.push(k);
      },
      { concurrency: 1, onError: (...e) => errors.push(e) },
    );
    q.add('a');
    q.add('blocker'); // runs once 'a' steps down, and holds the only worker: 'a' waits parked at lane 1
    q.start();
    await new Promise((r) => setTimeout(r, 5));
    expect(statusWrites).toEqual([]);
    const paused = q.pause();
    release();
    await paused;
    expect(errors).toEqual([]);
    expect(statusWrites).toEqual([]);
    expect(q.length).toBe(1); // 'a' queued again
    q.start();
    await q.idle();
    expect(statusWrites).toEqual(['a']);
  });

  describe("addAfter on an injected clock (the API server's), re-checked at every wake", () => {
    afterEach(() => vi.useRealTimers());

    /** A queue whose delayed keys are measured on `clock.ms`, with the runs it made. */
    function queueOn(clock: { ms: number }) {
      const runs: string[] = [];
      const q = new WorkQueue<string>(async (k) => void runs.push(k), {
        concurrency: 1,
        now: () => clock.ms,
        maxSleepMs: 10_000,
      });
      q.start();
      return { q, runs };
    }

    it('a clock that jumps ahead (a suspend, a corrected estimate) fires within one sleep, not at the old timer', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const clock = { ms: 1_000_000 };
      const { q, runs } = queueOn(clock);
      q.addAfter('lapse', 3_600_000); // an hour on the clock
      clock.ms += 3_600_000; // the clock says the hour passed (the local timers did not run)
      await vi.advanceTimersByTimeAsync(9_999);
      expect(runs).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(runs).toEqual(['lapse']);
    });

    it('a clock that steps back never fires early: the timer sleeps again until the clock reaches the deadline', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'], now: 1_000_000 });
      let offset = 0;
      const runs: string[] = [];
      const q = new WorkQueue<string>(async (k) => void runs.push(k), {
        concurrency: 1,
        now: () => Date.now() + offset,
      });
      q.start();
      q.addAfter('lapse', 5_000);
      offset = -600_000; // the clock steps back 10 minutes
      await vi.advanceTimersByTimeAsync(604_999);
      expect(runs).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect(runs).toEqual(['lapse']);
    });

    it('a deadline beyond what one setTimeout holds (24.8 days) is reached by sleeping in steps', async () => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const clock = { ms: 0 };
      const { q, runs } = queueOn(clock);
      q.addAfter('far', 40 * 86_400_000);
      clock.ms = 40 * 86_400_000 - 1;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(runs).toEqual([]);
      clock.ms += 1;
      await vi.advanceTimersByTimeAsync(10_000);
      expect(runs).toEqual(['far']);
    });
  });

  it('counts keys waiting to retry and the age of the oldest, separately from the depth', async () => {
    let fail = true;
    const q = new WorkQueue<string>(
      async () => {
        if (fail) throw new Error('API refused');
      },
      { concurrency: 2, baseDelayMs: 50 },
    );
    q.start();
    expect(q.retrying).toBe(0);
    expect(q.oldestRetryAgeMs()).toBe(0);
    q.add('a');
    q.add('b');
    await new Promise((r) => setTimeout(r, 10));
    expect(q.retrying).toBe(2);
    expect(q.length).toBe(0); // waiting out a backoff: not in the depth
    expect(q.oldestRetryAgeMs()).toBeGreaterThan(0);
    fail = false;
    await new Promise((r) => setTimeout(r, 150));
    expect(q.retrying).toBe(0);
    expect(q.oldestRetryAgeMs()).toBe(0);
  });

  it('a terminal failure is not counted as retrying', async () => {
    const q = new WorkQueue<string>(
      async () => {
        throw new TerminalError('422: refused');
      },
      { concurrency: 1 },
    );
    q.start();
    q.add('a');
    await q.idle();
    expect(q.retrying).toBe(0);
  });
});
