// The reflector's reconnect policy: back off while failing, start again from the floor once the
// API was healthy (a LIST succeeded, or a watch delivered an event or a bookmark).
import { describe, expect, it } from 'vitest';
import {
  BACKOFF_CEILING_MS,
  BACKOFF_FLOOR_MS,
  jitter,
  nextBackoff,
  type ReflectorOutcome,
} from '../../src/kube/backoff.ts';

const failed: ReflectorOutcome = { kind: 'failed' };
function run(outcomes: ReflectorOutcome[], from = 0): number[] {
  const waits: number[] = [];
  let level = from;
  for (const o of outcomes) {
    const d = nextBackoff(level, o);
    level = d.backoffMs;
    waits.push(d.waitMs);
  }
  return waits;
}

describe('nextBackoff', () => {
  it('failures wait 0.5 s, 1 s, 2 s ... up to 30 s', () => {
    expect(run(Array(9).fill(failed))).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
  it('a successful LIST resets: the next failure waits the floor', () => {
    expect(run([...Array(6).fill(failed), { kind: 'listed' }, failed])).toEqual([
      500, 1000, 2000, 4000, 8000, 16000, 0, 500,
    ]);
  });
  it('a watch that delivered events then broke (a second outage) retries after the floor', () => {
    const outage = Array(6).fill(failed);
    const healthyThenCut: ReflectorOutcome = { kind: 'watch-ended', delivered: 3, error: true, lastedMs: 2000 };
    const waits = run([...outage, healthyThenCut, failed, failed]);
    expect(waits.slice(6)).toEqual([BACKOFF_FLOOR_MS, 1000, 2000]);
  });
  it('a bookmark alone is enough: delivered counts bookmarks too', () => {
    expect(nextBackoff(16000, { kind: 'watch-ended', delivered: 1, error: false, lastedMs: 100 })).toEqual({
      backoffMs: 0,
      waitMs: 0,
    });
  });
  it('a clean server-side timeout of a quiet resource (nothing delivered, long open) reconnects at once', () => {
    expect(nextBackoff(8000, { kind: 'watch-ended', delivered: 0, error: false, lastedMs: 300_000 })).toEqual({
      backoffMs: 0,
      waitMs: 0,
    });
  });
  it('a watch closed or broken at once with nothing delivered is a failure: no tight reconnect loop', () => {
    expect(run(Array(4).fill({ kind: 'watch-ended', delivered: 0, error: false, lastedMs: 10 }))).toEqual([
      500, 1000, 2000, 4000,
    ]);
    expect(run(Array(3).fill({ kind: 'watch-ended', delivered: 0, error: true, lastedMs: 10 }))).toEqual([
      500, 1000, 2000,
    ]);
  });
  it('never exceeds the ceiling, never waits below the floor after a failure', () => {
    for (const from of [0, 1, 499, 500, 20_000, 30_000, 1e9]) {
      const d = nextBackoff(from, failed);
      expect(d.waitMs).toBeGreaterThanOrEqual(BACKOFF_FLOOR_MS);
      expect(d.waitMs).toBeLessThanOrEqual(BACKOFF_CEILING_MS);
    }
  });
  it('jitter stays within +-20 %', () => {
    expect(jitter(1000, () => 0)).toBe(800);
    expect(jitter(1000, () => 1)).toBeCloseTo(1200, 6);
  });
});
