// Two replicas with --leader-elect: exactly one writes; a clean shutdown hands over at once; a
// killed leader is replaced once its Lease runs out, and no Event is doubled by the takeover.
import { afterAll, describe, expect, it } from 'vitest';
import { EventsV1Api } from '@kubernetes/client-node';
import { core, createNamespace, eventually, kubeConfig, kubectl } from '../harness/kube.ts';
import { OperatorProcess } from '../harness/operator-process.ts';

const started: OperatorProcess[] = [];
afterAll(async () => {
  await Promise.all(started.map((p) => p.kill('SIGKILL')));
});

async function replica(ns: string, id: string): Promise<OperatorProcess> {
  const p = await OperatorProcess.start(['--leader-elect', '--lease-namespace', ns, '--identity', id, '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '1s']);
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
    await core().createNamespacedPod({ namespace: ns, body: { metadata: { name: 'p1', labels: { app: 'x' } }, spec: { hostIPC: true, containers: [{ name: 'c', image: 'busybox' }] } } });
    await eventually(async () => ((await core().readNamespacedPod({ namespace: ns, name: 'p1' })).metadata?.labels?.['hostns.io/violation'] ? true : undefined), 10_000, 'p1 labelled');
    expect(await b.writes()).toBe(0);

    // Clean shutdown releases the Lease: b takes over within a couple of retry periods.
    const t0 = Date.now();
    await a.kill('SIGTERM');
    await eventually(async () => ((await b.metric('hostns_leader')) === 1 ? true : undefined), 10_000, 'b leads after SIGTERM');
    console.log(`[figures] leader handover after SIGTERM: ${Date.now() - t0} ms`);
    await core().createNamespacedPod({ namespace: ns, body: { metadata: { name: 'p2', labels: { app: 'x' } }, spec: { hostIPC: true, containers: [{ name: 'c', image: 'busybox' }] } } });
    await eventually(async () => ((await core().readNamespacedPod({ namespace: ns, name: 'p2' })).metadata?.labels?.['hostns.io/violation'] ? true : undefined), 10_000, 'p2 labelled by b');

    // A killed leader keeps its Lease until it runs out; then c takes over.
    const c = await replica(leaseNs, 'replica-c');
    const t1 = Date.now();
    await b.kill('SIGKILL');
    await eventually(async () => ((await c.metric('hostns_leader')) === 1 ? true : undefined), 20_000, 'c leads after SIGKILL');
    console.log(`[figures] leader takeover after SIGKILL (lease 4s): ${Date.now() - t1} ms`);
    await c.converged();
    const evs = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
    // One violation Event per pod, whichever replica raised it.
    expect(evs.items.filter((e) => e.reason === 'HostNamespaceViolation').map((e) => e.regarding?.name).sort()).toEqual(['p1', 'p2']);
    const final = JSON.parse(kubectl(['get', 'lease', 'hostns-operator', '-n', leaseNs, '-o', 'json']).stdout);
    expect(final.spec.holderIdentity).toBe('replica-c');
    expect(final.spec.leaseTransitions).toBeGreaterThanOrEqual(2);
  });
});
