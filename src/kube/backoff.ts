// The reflector's reconnect policy as a pure function. Exponential backoff protects an API server
// that is failing; it must not punish the next, unrelated outage: once a LIST succeeded or a watch
// delivered anything (an event or a bookmark), the connection was healthy and the backoff starts
// again from its floor. (It used to reset only after a clean watch close longer than 5 s, so a
// second short outage 40 s after a first one waited 28 s for its first retry.)

export const BACKOFF_FLOOR_MS = 500;
export const BACKOFF_CEILING_MS = 30_000;

export type ReflectorOutcome =
  /** A complete LIST: the store is current. */
  | { kind: 'listed' }
  /** A watch ended (cleanly or not) after delivering `delivered` events or bookmarks. */
  | { kind: 'watch-ended'; delivered: number; error: boolean; lastedMs: number }
  /** A LIST or a watch that failed before delivering anything. */
  | { kind: 'failed' };

export interface BackoffDecision {
  /** The backoff level kept for the next failure (0: healthy). */
  backoffMs: number;
  /** How long to wait before reconnecting now, before jitter. */
  waitMs: number;
}

/**
 * The next backoff after `outcome`, from the current `backoffMs`. Healthy outcomes reset to 0 and
 * reconnect at once; a failure waits floor, 2x, 4x ... up to the ceiling. A watch that failed after
 * being healthy reconnects after the floor (the server may be restarting), not at once.
 */
export function nextBackoff(backoffMs: number, outcome: ReflectorOutcome): BackoffDecision {
  const grow = (from: number) => Math.min(BACKOFF_CEILING_MS, Math.max(BACKOFF_FLOOR_MS, from * 2));
  switch (outcome.kind) {
    case 'listed':
      return { backoffMs: 0, waitMs: 0 };
    case 'watch-ended': {
      // A clean close with nothing delivered but open for a while is a server-side timeout of a
      // quiet resource: healthy too.
      const healthy = outcome.delivered > 0 || (!outcome.error && outcome.lastedMs > 5_000);
      if (healthy)
        return outcome.error ? { backoffMs: BACKOFF_FLOOR_MS, waitMs: BACKOFF_FLOOR_MS } : { backoffMs: 0, waitMs: 0 };
      // Closed or broken at once: the server is not serving watches; back off like any failure.
      const next = grow(backoffMs);
      return { backoffMs: next, waitMs: next };
    }
    case 'failed': {
      const next = grow(backoffMs);
      return { backoffMs: next, waitMs: next };
    }
  }
}

/** +-20 % so replicas and resources do not reconnect in lockstep. */
export function jitter(ms: number, random: () => number = Math.random): number {
  return ms * (0.8 + random() * 0.4);
}
