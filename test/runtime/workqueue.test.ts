import { describe, expect, it } from 'vitest';
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
