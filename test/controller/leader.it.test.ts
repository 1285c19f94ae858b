// Two replicas with --leader-elect: exactly one writes; a clean shutdown hands over at once; a
// killed leader is replaced once its Lease runs out, and no Event is doubled by the takeover; a
// leader paused (SIGSTOP) in the middle of its work and resumed after a standby took over writes
// nothing more.
import { afterAll, describe, expect, it } from 'vitest';
import { EventsV1Api } from '@kubernetes/client-node';
import { KubeClient } from '../../src/kube/client.ts';
import { silentLogger } from '../../src/logging.ts';
import { Reflector, type RawObject } from '../../src/kube/reflector.ts';
import { core, createNamespace, eventually, kubeConfig, kubectl } from '../harness/clients.ts';
import { leaderElectionArgs, OperatorProcess } from '../harness/operator-process.ts';

const started: OperatorProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.kill('SIGKILL')));
});

async function replica(ns: string, id: string, extra: string[] = []): Promise<OperatorProcess> {
  const p = await OperatorProcess.start([...leaderElectionArgs(ns, id), ...extra]);
  started.push(p);
  return p;
}

describe('leader election through a Lease', () => {
  it('one leader at a time; SIGTERM hands over; SIGKILL is taken over after the lease duration', async () => {
    const leaseNs = await createNamespace('op-lease');
    const a = await replica(leaseNs, 'replica-a');
    await eventually(async () => ((await a.metric('hostns_leader')) === 1 ? true : undefined), 10_000, 'a leads');
    const b = await replica(leaseNs, 'replica-b');
    await new Promise((r) => setTimeout(r, 2500));
    expect(await b.metric('hostns_leader')).toBe(0);
    expect(await b.get('/readyz')).toBe('ok\n'); // a standby is ready (caches warm) but does not write
    const lease = JSON.parse(kubectl(['get', 'lease', 'hostns-operator', '-n', leaseNs, '-o', 'json']).stdout);
    expect(lease.spec.holderIdentity).toBe('replica-a');

    // Work done by the leader only.
    const ns = await createNamespace('op-lease-work');
    await core().createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'p1', labels: { app: 'x' } },
        spec: { hostIPC: true, containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await eventually(
      async () =>
        (await core().readNamespacedPod({ namespace: ns, name: 'p1' })).metadata?.labels?.['hostns.io/violation']
          ? true
          : undefined,
      10_000,
      'p1 labelled',
    );
    expect(await b.writes()).toBe(0);

    // Clean shutdown releases the Lease: b takes over within a couple of retry periods.
    const t0 = Date.now();
    await a.kill('SIGTERM');
    await eventually(
      async () => ((await b.metric('hostns_leader')) === 1 ? true : undefined),
      10_000,
      'b leads after SIGTERM',
    );
    console.log(`[figures] leader handover after SIGTERM: ${Date.now() - t0} ms`);
    await core().createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'p2', labels: { app: 'x' } },
        spec: { hostIPC: true, containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await eventually(
      async () =>
        (await core().readNamespacedPod({ namespace: ns, name: 'p2' })).metadata?.labels?.['hostns.io/violation']
          ? true
          : undefined,
      10_000,
      'p2 labelled by b',
    );

    // A killed leader keeps its Lease until it runs out; then c takes over.
    const c = await replica(leaseNs, 'replica-c');
    const t1 = Date.now();
    await b.kill('SIGKILL');
    await eventually(
      async () => ((await c.metric('hostns_leader')) === 1 ? true : undefined),
      20_000,
      'c leads after SIGKILL',
    );
    console.log(`[figures] leader takeover after SIGKILL (lease 4s): ${Date.now() - t1} ms`);
    await c.converged();
    const evs = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    // One violation Event per pod, whichever replica raised it.
    expect(
      evs.items
        .filter((e) => e.reason === 'HostNamespaceViolation')
        .map((e) => e.regarding?.name)
        .sort(),
    ).toEqual(['p1', 'p2']);
    const final = JSON.parse(kubectl(['get', 'lease', 'hostns-operator', '-n', leaseNs, '-o', 'json']).stdout);
    expect(final.spec.holderIdentity).toBe('replica-c');
    expect(final.spec.leaseTransitions).toBeGreaterThanOrEqual(2);
  });

  it('a leader paused mid-work and resumed after the takeover writes nothing more: every Event it made precedes the takeover', async () => {
    // The replicas of the first test (another Lease) would write here too.
    await Promise.all(started.splice(0).map((p) => p.kill('SIGKILL')));
    const leaseNs = await createNamespace('op-pause');
    const ns = await createNamespace('op-pause-work');
    // Where the Lease changed hands, in etcd's own order: a watch sees every version of it.
    let takeoverRv: bigint | undefined;
    const leases = new Reflector<RawObject>({
      client: new KubeClient(kubeConfig()),
      path: `/apis/coordination.k8s.io/v1/namespaces/${leaseNs}/leases`,
      resource: 'leases',
      transform: (raw) => raw,
      onChange: (_key, obj) => {
        const holder = (obj?.spec as { holderIdentity?: string } | undefined)?.holderIdentity;
        if (holder === 'pause-b' && takeoverRv === undefined) takeoverRv = BigInt(obj!.metadata!.resourceVersion!);
      },
      logger: silentLogger(),
    });
    leases.start();
    try {
      // One worker on the leader, so it is still busy when it is paused.
      const a = await replica(leaseNs, 'pause-a', ['--max-concurrent-reconciles', '1']);
      await eventually(async () => ((await a.metric('hostns_leader')) === 1 ? true : undefined), 10_000, 'a leads');
      const b = await replica(leaseNs, 'pause-b');
      const pods = Array.from({ length: 60 }, (_, i) => `p${i}`);
      const createPods = (names: string[]) =>
        Promise.all(
          names.map((name) =>
            core().createNamespacedPod({
              namespace: ns,
              body: {
                metadata: { name, labels: { app: 'x' } },
                spec: { hostPID: true, containers: [{ name: 'c', image: 'busybox' }] },
              },
            }),
          ),
        );
      await createPods(pods.slice(0, 40));
      const eventsBy = async (instance: string) =>
        (await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items.filter(
          (e) => e.reportingInstance === instance,
        );
      await eventually(async () => ((await eventsBy('pause-a')).length >= 3 ? true : undefined), 20_000, 'a at work');
      a.child.kill('SIGSTOP');
      // More work while a is paused: its watch events wait in its socket, to be acted on when it resumes.
      await createPods(pods.slice(40));
      await eventually(
        async () => ((await b.metric('hostns_leader')) === 1 ? true : undefined),
        20_000,
        'b takes over',
      );
      await b.converged();
      a.child.kill('SIGCONT');
      // a resumes: whatever it had queued or in flight meets a term that has ended.
      await eventually(async () => ((await a.metric('hostns_leader')) === 0 ? true : undefined), 10_000, 'a follows');
      await new Promise((r) => setTimeout(r, 3000));

      expect(takeoverRv).toBeDefined();
      const fromA = await eventsBy('pause-a');
      const late = fromA
        .filter((e) => BigInt(e.metadata!.resourceVersion!) > takeoverRv!)
        .map((e) => e.regarding?.name);
      expect(late).toEqual([]);
      // Each pod labelled, with exactly one violation Event, whichever replica raised it.
      const all = (await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items;
      const perPod = new Map<string, number>();
      for (const e of all.filter((e) => e.reason === 'HostNamespaceViolation'))
        perPod.set(e.regarding!.name!, (perPod.get(e.regarding!.name!) ?? 0) + 1);
      expect([...perPod.keys()].sort()).toEqual([...pods].sort());
      expect([...perPod.values()].every((n) => n === 1)).toBe(true);
      const listed = await core().listNamespacedPod({ namespace: ns, labelSelector: 'hostns.io/violation=true' });
      expect(listed.items.length).toBe(pods.length);
      console.log(
        `[figures] leader paused mid-work: a made ${fromA.length} of ${pods.length} violation Events before the pause, ` +
          `0 after b took over (Lease resourceVersion ${takeoverRv})`,
      );
    } finally {
      await leases.stop();
    }
  });
});
