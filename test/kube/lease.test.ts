// Leader election timing on an injected monotonic clock and a fake Lease API: wall-clock steps
// and pauses never extend leadership, and two electors never lead at once.
import { DateTime } from 'luxon';
import { createLogger, transports } from 'winston';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/kube/client.ts';
import { LeaderElector, type ElectionClocks } from '../../src/kube/lease.ts';

const logger = createLogger({ transports: [new transports.Console({ silent: true })] });
const cfg = {
  namespace: 'ns',
  name: 'lease',
  leaseDurationSeconds: 15,
  renewDeadlineSeconds: 10,
  retryPeriodSeconds: 2,
};

/** One Lease in memory with optimistic concurrency, shared by every elector of a test. */
class FakeLeaseApi {
  lease?: { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  private rv = 0;
  writes = 0;
  async request<T>(method: string, _path: string, opts: { body?: unknown } = {}): Promise<T> {
    const clone = <V>(v: V): V => JSON.parse(JSON.stringify(v));
    if (method === 'GET') {
      if (!this.lease) throw new ApiError(404, 'NotFound', 'not found', {});
      return clone(this.lease) as T;
    }
    const body = clone(opts.body) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
    if (method === 'POST') {
      if (this.lease) throw new ApiError(409, 'AlreadyExists', 'exists', {});
    } else if (method === 'PUT') {
      if (body.metadata.resourceVersion !== this.lease?.metadata.resourceVersion)
        throw new ApiError(409, 'Conflict', 'conflict', {});
    }
    this.writes++;
    this.lease = { ...body, metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
    return clone(this.lease) as T;
  }
}

/** A client of the fake API that can be cut off (a partition) or slowed (the clock moves during the call). */
class Link {
  down = false;
  delayMs = 0;
  private readonly api: FakeLeaseApi;
  private readonly world: World;
  constructor(api: FakeLeaseApi, world: World) {
    this.api = api;
    this.world = world;
  }
  async request<T>(method: string, path: string, opts: { body?: unknown } = {}): Promise<T> {
    if (this.down) throw new TypeError('fetch failed');
    if (this.delayMs) this.world.advance(this.delayMs);
    return this.api.request<T>(method, path, opts);
  }
}

/** Real time for everyone; each process has its own wall-clock error. */
class World {
  t = 0;
  advance(ms: number) {
    this.t += ms;
  }
  clocks(wallOffset: { ms: number }): ElectionClocks {
    return {
      monotonicMs: () => this.t,
      wallNow: () => DateTime.fromMillis(1.8e12 + this.t + wallOffset.ms, { zone: 'utc' }),
    };
  }
}

function setup(n = 2) {
  const world = new World();
  const api = new FakeLeaseApi();
  const replicas = Array.from({ length: n }, (_, i) => {
    const wall = { ms: 0 };
    const link = new Link(api, world);
    const events: string[] = [];
    const signals: AbortSignal[] = [];
    const elector = new LeaderElector(
      link,
      cfg,
      `r${i}`,
      logger,
      {
        onStartedLeading: (s) => (events.push('start'), signals.push(s)),
        onStoppedLeading: () => events.push('stop'),
      },
      world.clocks(wall),
    );
    return { elector, link, wall, events, signals };
  });
  /** Runs `ms` of real time in 100 ms steps; electors in `running` tick every retry period. */
  const run = async (ms: number, running = replicas) => {
    for (let left = ms; left > 0; left -= 100) {
      world.advance(100);
      if (world.t % 2000 === 0) for (const r of running) await r.elector.tryOnce();
      expect(replicas.filter((r) => r.elector.isLeading()).length, `at ${world.t} ms`).toBeLessThanOrEqual(1);
    }
  };
  return { world, api, replicas, run };
}

describe('LeaderElector timing', () => {
  it('one leader; a standby does not take over while the leader renews', async () => {
    const { replicas, run } = setup();
    await replicas[0]!.elector.tryOnce();
    expect(replicas[0]!.elector.isLeading()).toBe(true);
    await run(60_000);
    expect(replicas.map((r) => r.elector.isLeading())).toEqual([true, false]);
    expect(replicas[0]!.events).toEqual(['start']);
  });

  it('paused 25 s, wall clock -1 h: stops leading at once on resume, never overlaps', async () => {
    const { replicas, run } = setup();
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    await a.elector.tryOnce();
    await run(10_000);
    // The pause: a runs nothing; its wall clock is stepped back an hour meanwhile.
    a.wall.ms = -3_600_000;
    await run(25_000, [b]);
    // On resume, before a's own timers run: it knows it is not leading.
    expect(a.elector.isLeading()).toBe(false);
    expect(a.events).toEqual(['start', 'stop']);
    expect(a.signals[0]!.aborted).toBe(true);
    expect(b.elector.isLeading()).toBe(true);
    await run(60_000);
    expect(replicas.map((r) => r.elector.isLeading())).toEqual([false, true]);
  });

  it('wall clock +-1 h while unable to renew: leads no longer than it renewed', async () => {
    for (const step of [3_600_000, -3_600_000]) {
      const { replicas, run } = setup();
      const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
      await a.elector.tryOnce();
      a.wall.ms = step;
      a.link.down = true; // and from now on it cannot renew
      let lostAt = -1;
      let takenAt = -1;
      for (let t = 0; t < 40_000; t += 100) {
        await run(100);
        if (lostAt < 0 && !a.elector.isLeading()) lostAt = t;
        if (takenAt < 0 && b.elector.isLeading()) takenAt = t;
      }
      expect(lostAt).toBeLessThanOrEqual(10_000);
      expect(takenAt).toBeGreaterThanOrEqual(15_000 - 2_000); // b saw the last renewal up to a retry period late
      expect(takenAt).toBeGreaterThan(lostAt);
    }
  });

  it('healthy leader, wall clock -1 h: nothing; +1 h (a possible suspend): one re-acquisition', async () => {
    const { replicas, run } = setup();
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    await a.elector.tryOnce();
    a.wall.ms = -3_600_000;
    await run(30_000);
    expect(a.events).toEqual(['start']);
    a.wall.ms = 0; // +1 h back to normal: looks like a suspend, the term ends at once
    expect(a.elector.isLeading()).toBe(false);
    await run(2_000); // the next renewal: the Lease is still a's, a new term
    expect(a.elector.isLeading()).toBe(true);
    expect(a.events).toEqual(['start', 'stop', 'start']);
    expect(b.elector.isLeading()).toBe(false);
  });

  it('a candidate whose wall clock jumps 1 h ahead does not take over early', async () => {
    const { replicas, run } = setup();
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    await a.elector.tryOnce();
    b.wall.ms = 3_600_000;
    await run(6_000);
    a.link.down = true;
    let takenAt = -1;
    for (let t = 0; t < 30_000 && takenAt < 0; t += 100) {
      await run(100);
      if (b.elector.isLeading()) takenAt = t;
    }
    // b last saw a change at the renewal at ~6 s; it waits a full lease duration from then.
    expect(takenAt).toBeGreaterThanOrEqual(15_000 - 6_000 - 100);
  });

  it('a renewal that lands after the renew deadline does not extend the term', async () => {
    const { replicas } = setup(1);
    const a = replicas[0]!;
    await a.elector.tryOnce();
    a.link.delayMs = 5_500; // GET and PUT: 11 s in flight
    await a.elector.tryOnce();
    expect(a.elector.isLeading()).toBe(false);
    expect(a.events).toEqual(['start', 'stop']);
    a.link.delayMs = 0;
    await a.elector.tryOnce(); // the Lease is still ours: a new term
    expect(a.elector.isLeading()).toBe(true);
    expect(a.events).toEqual(['start', 'stop', 'start']);
    expect(a.signals[0]!.aborted).toBe(true);
    expect(a.signals[1]!.aborted).toBe(false);
  });

  it('remainingMs bounds a write by the rest of the term; signal is aborted outside a term', async () => {
    const { world, replicas } = setup(1);
    const a = replicas[0]!;
    expect(a.elector.remainingMs()).toBe(0);
    expect(a.elector.signal.aborted).toBe(true);
    await a.elector.tryOnce();
    world.advance(4_000);
    expect(a.elector.remainingMs()).toBe(6_000);
    expect(a.elector.signal.aborted).toBe(false);
    world.advance(6_000);
    expect(a.elector.remainingMs()).toBe(0);
    expect(a.elector.signal.aborted).toBe(true);
  });

  it('a suspend (monotonic clock stopped, wall clock and others went on) ends the term', async () => {
    const { replicas } = setup(1);
    const a = replicas[0]!;
    await a.elector.tryOnce();
    a.wall.ms = 25_000; // 25 s passed for the world, not for CLOCK_MONOTONIC
    expect(a.elector.isLeading()).toBe(false);
  });

  it('a monotonic clock that goes back (a faked one) ends the term rather than extending it', async () => {
    const { world, replicas } = setup(1);
    const a = replicas[0]!;
    await a.elector.tryOnce();
    world.advance(1_000);
    expect(a.elector.isLeading()).toBe(true);
    world.t -= 3_600_000; // wall and monotonic clocks both faked back an hour
    expect(a.elector.isLeading()).toBe(false);
  });

  it('sees another holder: stops leading at once', async () => {
    const { api, replicas } = setup(1);
    const a = replicas[0]!;
    await a.elector.tryOnce();
    api.lease!.spec.holderIdentity = 'someone-else';
    await a.elector.tryOnce();
    expect(a.elector.isLeading()).toBe(false);
  });

  it('refuses timings that cannot be safe', () => {
    const world = new World();
    const link = new Link(new FakeLeaseApi(), world);
    const cb = { onStartedLeading: () => {}, onStoppedLeading: () => {} };
    expect(() => new LeaderElector(link, { ...cfg, renewDeadlineSeconds: 15 }, 'x', logger, cb)).toThrow(
      /leaseDuration > renewDeadline/,
    );
    expect(() => new LeaderElector(link, { ...cfg, retryPeriodSeconds: 9 }, 'x', logger, cb)).toThrow(
      /1.2 x retryPeriod/,
    );
  });
});
