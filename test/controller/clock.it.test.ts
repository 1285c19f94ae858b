// Whose clock (issue 13.6): the operator decides lapses on the API server's clock, learnt from its
// responses, whatever this machine's wall clock says. Here this process's Date.now (and so luxon,
// the client's view of the local wall clock, everything but the monotonic clock) runs 10 minutes
// ahead; the API server, another process on this machine, keeps the true time. An operator on
// the local clock would see the exception lapsed at once (lapse Event, false violation Events)
// while admission still admits its pods; on the server's clock it lapses at expiresAt, not before.
import { EventsV1Api } from '@kubernetes/client-node';
import { DateTime } from 'luxon';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Operator } from '../../src/controller/operator.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { silentLogger } from '../../src/logging.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { createException, GROUP, PLURAL, VERSION } from '../harness/exceptions.ts';
import { core, createNamespace, customObjects, eventually, kubeConfig } from '../harness/clients.ts';

const AHEAD_MS = 10 * 60_000;
const realNow = Date.now.bind(Date);
let operator: Operator | undefined;
afterAll(async () => {
  await operator?.stop();
  vi.restoreAllMocks();
});

/** This process's wall clock off by `offsetMs`; an operator on the server clock, as main.ts makes it. */
async function operatorWithLocalClock(offsetMs: number): Promise<{ client: KubeClient; operator: Operator }> {
  await operator?.stop();
  vi.restoreAllMocks();
  vi.spyOn(Date, 'now').mockImplementation(() => realNow() + offsetMs);
  expect(Math.abs(DateTime.utc().toMillis() - realNow() - offsetMs)).toBeLessThan(1000); // the fault is in place
  const client = new KubeClient(kubeConfig());
  operator = new Operator({
    client,
    policy: DEFAULT_POLICY,
    logger: silentLogger(),
    identity: 'clock-skewed',
    clock: () => client.serverNotBefore(),
  });
  await client.calibrateClock();
  await operator.start();
  return { client, operator };
}

describe('the operator on the API server clock, whatever the local wall clock says', () => {
  it('10 min ahead: lapses at expiresAt by the server clock: nothing early, no false violation', async () => {
    const { client } = await operatorWithLocalClock(AHEAD_MS);
    const offset = client.serverTime().offsetMs;
    expect(Math.abs(offset + AHEAD_MS)).toBeLessThan(1000); // it knows its clock is 10 min ahead

    const ns = await createNamespace('clock-ahead');
    // expiresAt on the true (server) clock, a few seconds away; the local clock is past it already.
    const expiresAt = DateTime.fromMillis(realNow() + 8_000, { zone: 'utc' }).startOf('second');
    await createException(ns, 'short', { expiresAt: expiresAt.toISO({ suppressMilliseconds: true }) });
    await core().createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'agent', labels: { app: 'agent' } },
        spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    const events = async (reason: string) =>
      (await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items.filter(
        (e) => e.reason === reason,
      );
    const labels = async () =>
      (await core().readNamespacedPod({ namespace: ns, name: 'agent' })).metadata?.labels ?? {};

    // Before expiresAt: covered, no lapse, no violation.
    await eventually(
      async () => ((await labels())['hostns.io/exception'] === 'short' ? true : undefined),
      10_000,
      'covered',
    );
    const checkedAt = realNow();
    expect(checkedAt).toBeLessThan(expiresAt.toMillis());
    expect(await events('Expired')).toEqual([]);
    expect(await events('HostNamespaceViolation')).toEqual([]);
    expect((await labels())['hostns.io/violation']).toBeUndefined();

    // After: the lapse, decided on the server's clock at (not before) expiresAt.
    const [expired] = await eventually(
      async () => {
        const list = await events('Expired');
        return list.length ? list : undefined;
      },
      30_000,
      'the Expired Event',
    );
    const decidedAt = DateTime.fromJSDate(new Date(expired!.eventTime)).toMillis();
    const created = DateTime.fromJSDate(new Date(expired!.metadata!.creationTimestamp as unknown as string)).toMillis();
    expect(decidedAt).toBeGreaterThanOrEqual(expiresAt.toMillis());
    expect(created).toBeGreaterThanOrEqual(expiresAt.toMillis()); // the server stamps whole seconds
    await eventually(
      async () => ((await labels())['hostns.io/violation'] === 'true' ? true : undefined),
      10_000,
      'offender after the lapse',
    );
    const violations = await events('HostNamespaceViolation');
    expect(violations).toHaveLength(1);
    expect(
      DateTime.fromJSDate(new Date(violations[0]!.metadata!.creationTimestamp as unknown as string)).toMillis(),
    ).toBeGreaterThanOrEqual(expiresAt.toMillis());
    console.log(
      `[figures] local clock +10 min: offset learnt ${(offset / 1000).toFixed(2)} s; ` +
        `Expired decided ${decidedAt - expiresAt.toMillis()} ms after expiresAt (server clock)`,
    );
  });

  it('7 min behind: a risk acceptance made just now is not "in the future": Active, not Invalid', async () => {
    const { client } = await operatorWithLocalClock(-7 * 60_000);
    const ns = await createNamespace('clock-behind');
    const acceptedAt = DateTime.fromMillis(realNow(), { zone: 'utc' }).startOf('second');
    await createException(ns, 'renewed', {
      riskAcceptance: {
        justification: 'agent needs the node network to scrape kubelet',
        acceptedBy: 'security-board',
        acceptedAt: acceptedAt.toISO({ suppressMilliseconds: true }),
      },
    });
    const phase = await eventually(
      async () => {
        const e = (await customObjects().getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: PLURAL,
          name: 'renewed',
        })) as { status?: { phase?: string } };
        return e.status?.phase;
      },
      10_000,
      'a phase',
    );
    expect(phase).toBe('Active');
    const events = (await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns })).items;
    expect(events.map((e) => e.reason)).not.toContain('Invalid');
    console.log(
      `[figures] local clock -7 min: offset learnt ${(client.serverTime().offsetMs / 1000).toFixed(2)} s; phase ${phase}`,
    );
  });
});
