// Two electors on the real API server. The leader's Lease traffic is cut (as a pause or a
// partition would) while its wall clock is stepped back an hour and it keeps writing through a
// second, healthy connection: exactly one leader at any sample, and every write of the old leader
// lands before the new leader's acquisition in etcd's order (resourceVersion).
import { KubeConfig } from '@kubernetes/client-node';
import { DateTime } from 'luxon';
import { createLogger, transports } from 'winston';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeClient, type RequestOptions } from '../../src/kube/client.ts';
import { LeaderElector, type ElectionClocks } from '../../src/kube/lease.ts';
import { createNamespace, eventually, kubeconfigPath } from '../harness/clients.ts';

const logger = createLogger({ transports: [new transports.Console({ silent: true })] });
const electors: LeaderElector[] = [];
afterAll(async () => {
  await Promise.all(electors.map((e) => e.stop()));
});

function client(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new KubeClient(kc);
}

/** The Lease traffic of one replica: can be cut; records the resourceVersion at which it acquired. */
class LeaseLink {
  cut = false;
  acquiredAtRv?: bigint;
  private readonly inner = client();
  private readonly identity: string;
  constructor(identity: string) {
    this.identity = identity;
  }
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (this.cut) {
      // A hung connection, as during a pause or a partition: answered only by the timeout.
      await new Promise((r) => setTimeout(r, Math.min(opts.timeoutMs ?? 1000, 1000)));
      throw new TypeError('fetch failed');
    }
    const res = await this.inner.request<T>(method, path, opts);
    const out = res as { metadata?: { resourceVersion?: string }; spec?: { holderIdentity?: string } };
    // The first write that names us holder is the acquisition (later ones are renewals).
    if (method !== 'GET' && out.spec?.holderIdentity === this.identity && this.acquiredAtRv === undefined) {
      this.acquiredAtRv = BigInt(out.metadata!.resourceVersion!);
    }
    return res;
  }
}

describe('leader election on the real API server', () => {
  it('leader cut off, wall clock -1 h: one leader at a time, its writes end first', async () => {
    const ns = await createNamespace('lease-clock');
    const cfg = {
      namespace: ns,
      name: 'it-lease',
      leaseDurationSeconds: 3,
      renewDeadlineSeconds: 2,
      retryPeriodSeconds: 0.5,
    };
    const wallOffset = { a: 0, b: 0 };
    const clocks = (who: 'a' | 'b'): ElectionClocks => ({
      monotonicMs: () => performance.now(),
      wallNow: () => DateTime.utc().plus({ milliseconds: wallOffset[who] }),
    });
    const linkA = new LeaseLink('a');
    const linkB = new LeaseLink('b');
    const cb = { onStartedLeading: () => {}, onStoppedLeading: () => {} };
    const a = new LeaderElector(linkA, cfg, 'a', logger, cb, clocks('a'));
    const b = new LeaderElector(linkB, cfg, 'b', logger, cb, clocks('b'));
    electors.push(a, b);

    // Sample leadership every 10 ms for the whole test.
    let both = 0;
    let samples = 0;
    const sampler = setInterval(() => {
      samples++;
      if (a.isLeading() && b.isLeading()) both++;
    }, 10);

    // a's writes go through a healthy connection, guarded as the runtime guards them.
    const data = client();
    const writes: bigint[] = [];
    const errors: string[] = [];
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        if (a.isLeading()) {
          try {
            const cm = await data.request<{ metadata: { resourceVersion: string } }>(
              'POST',
              `/api/v1/namespaces/${ns}/configmaps`,
              {
                body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `a-${i}` } },
                signal: a.signal,
                timeoutMs: Math.max(1, a.remainingMs()),
              },
            );
            writes.push(BigInt(cm.metadata.resourceVersion));
          } catch (err) {
            // Aborted at the end of the term: expected. Anything else is a broken test.
            if (!a.signal.aborted) errors.push(String(err));
          }
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    a.start();
    await eventually(() => (a.isLeading() ? true : undefined), 10_000, 'a leads');
    b.start();
    await new Promise((r) => setTimeout(r, 2000));
    expect(b.isLeading()).toBe(false);
    expect(errors).toEqual([]);
    expect(writes.length).toBeGreaterThan(0);

    // The fault: a's Lease requests hang, and its wall clock goes back an hour.
    linkA.cut = true;
    wallOffset.a = -3_600_000;
    await eventually(() => (b.isLeading() ? true : undefined), 15_000, 'b takes over');
    expect(a.isLeading()).toBe(false);
    linkA.cut = false; // a comes back: it sees b's Lease and stays a follower
    await new Promise((r) => setTimeout(r, 3000));
    writing = false;
    await writer;
    clearInterval(sampler);

    expect(a.isLeading()).toBe(false);
    expect(b.isLeading()).toBe(true);
    expect(samples).toBeGreaterThan(200);
    expect(both).toBe(0);
    // Every write a made landed before b acquired, in etcd's own order.
    expect(linkB.acquiredAtRv).toBeDefined();
    const late = writes.filter((rv) => rv > linkB.acquiredAtRv!);
    expect(late).toEqual([]);
    console.log(
      `[figures] lease handover: ${samples} samples, 0 with two leaders; ` +
        `a wrote ${writes.length} objects, all before b acquired`,
    );
  });
});
