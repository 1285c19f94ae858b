// The operator process (node src/main.ts) against the real control plane: labels, status,
// lapse Events exactly once across SIGKILL, zero writes on a converged restart, convergence after
// edits. Figures (lapse delay, restart writes) are printed for the issue notes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { eventName } from '../../src/kube/events.ts';
import { core, createNamespace, customObjects, eventually, kubeConfig, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { clusterChanges, clusterObjects, explainWrites } from '../harness/write-audit.ts';
import { createException, GROUP, PLURAL, VERSION } from '../harness/exceptions.ts';
import { EventsV1Api } from '@kubernetes/client-node';

type Exc = {
  metadata: { uid: string; resourceVersion: string };
  status?: { phase?: string; coveredPods?: number; announced?: Record<string, string> };
};
async function getException(ns: string, name: string): Promise<Exc> {
  return (await customObjects().getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: PLURAL,
    name,
  })) as Exc;
}

async function createPod(
  ns: string,
  name: string,
  labels: Record<string, string>,
  flags: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean },
) {
  return core().createNamespacedPod({
    namespace: ns,
    body: { metadata: { name, labels }, spec: { ...flags, containers: [{ name: 'c', image: 'busybox' }] } },
  });
}

async function podLabels(ns: string, name: string): Promise<Record<string, string>> {
  return (await core().readNamespacedPod({ namespace: ns, name })).metadata?.labels ?? {};
}

async function events(ns: string, reason?: string, regarding?: string) {
  const list = await kubeConfig().makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: ns });
  return list.items.filter((e) => (!reason || e.reason === reason) && (!regarding || e.regarding?.name === regarding));
}

let op: OperatorProcess;
beforeAll(async () => {
  op = await OperatorProcess.start();
});
afterAll(async () => {
  await op?.kill('SIGTERM');
});

describe('operator: classification and labels', () => {
  it('labels an offender within seconds, a covered pod with its exception, and never writes a clean pod', async () => {
    const ns = await createNamespace('op-labels');
    await createException(ns, 'agent-net');
    const clean = await createPod(ns, 'clean', { app: 'agent' }, {});
    await createPod(ns, 'covered', { app: 'agent' }, { hostNetwork: true });
    const t0 = Date.now();
    await createPod(ns, 'offender', { app: 'agent' }, { hostNetwork: true, hostPID: true });

    const offender = await eventually(
      async () => {
        const l = await podLabels(ns, 'offender');
        return l['hostns.io/violation'] === 'true' ? l : undefined;
      },
      10_000,
      'offender label',
    );
    console.log(`[figures] create-to-label for an offender: ${Date.now() - t0} ms`);
    expect(offender['hostns.io/exception']).toBeUndefined();
    const offPod = await core().readNamespacedPod({ namespace: ns, name: 'offender' });
    expect(offPod.metadata?.annotations?.['hostns.io/violation']).toBe('hostPID');

    await eventually(
      async () => ((await podLabels(ns, 'covered'))['hostns.io/exception'] === 'agent-net' ? true : undefined),
      10_000,
      'covered label',
    );
    const covered = await core().readNamespacedPod({ namespace: ns, name: 'covered' });
    expect(covered.metadata?.annotations?.['hostns.io/exceptions']).toBe('agent-net');
    expect(covered.metadata?.labels?.['hostns.io/violation']).toBeUndefined();

    // kubectl lists exactly the offenders of this namespace.
    const listed = kubectl(['get', 'pods', '-n', ns, '-l', 'hostns.io/violation=true', '-o', 'name']);
    expect(listed.stdout.trim().split('\n')).toEqual(['pod/offender']);

    const violations = await events(ns, 'HostNamespaceViolation', 'offender');
    expect(violations).toHaveLength(1);
    expect(violations[0]!.type).toBe('Warning');
    expect(violations[0]!.reportingController).toBe('hostns.io/operator');
    expect(violations[0]!.regarding?.uid).toBe(offPod.metadata?.uid);
    expect(violations[0]!.note).toContain('uses hostPID');
    // kubectl describe shows it.
    expect(kubectl(['describe', 'pod', 'offender', '-n', ns]).stdout).toMatch(
      /HostNamespaceViolation\s+.*hostns\.io\/operator/,
    );

    await op.converged();
    const cleanNow = await core().readNamespacedPod({ namespace: ns, name: 'clean' });
    expect(cleanNow.metadata?.resourceVersion).toBe(clean.metadata?.resourceVersion);

    const exc = await eventually(
      async () => {
        const e = await getException(ns, 'agent-net');
        // The offender (hostNetwork + hostPID, hostNetwork allowed) is covered in part only: not counted.
        return e.status?.coveredPods === 1 ? e : undefined;
      },
      10_000,
      'coveredPods = 1',
    );
    expect(exc.status?.phase).toBe('Active');
    expect((await events(ns, 'Activated', 'agent-net')).length).toBe(1);
  });

  it('converges when exceptions are edited, added and deleted', async () => {
    const ns = await createNamespace('op-edit');
    await createPod(ns, 'p', { app: 'agent', tier: 'node' }, { hostNetwork: true, hostPID: true });
    await createException(ns, 'net');
    const labelsOf = () => podLabels(ns, 'p');
    await eventually(
      async () => ((await labelsOf())['hostns.io/violation'] === 'true' ? true : undefined),
      10_000,
      'offender (hostPID uncovered)',
    );

    // A second exception covering hostPID: together they cover the pod.
    await createException(ns, 'pid', {
      allow: ['hostPID'],
      podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['node'] }] },
    });
    await eventually(
      async () => ((await labelsOf())['hostns.io/exception'] === 'net' ? true : undefined),
      10_000,
      'covered by net+pid',
    );
    const pod = await core().readNamespacedPod({ namespace: ns, name: 'p' });
    expect(pod.metadata?.annotations?.['hostns.io/exceptions']).toBe('net,pid');
    expect(pod.metadata?.labels?.['hostns.io/violation']).toBeUndefined();

    // Editing the selector so it no longer matches: offender again.
    const edit = kubectl([
      'patch',
      'hnse',
      'pid',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { podSelector: { matchLabels: { tier: 'web' } } } }),
    ]);
    expect(edit.code, edit.stderr).toBe(0);
    await eventually(
      async () => ((await labelsOf())['hostns.io/violation'] === 'true' ? true : undefined),
      10_000,
      'offender after selector edit',
    );

    // Widening `allow` of the first exception: covered again, by one exception.
    const r = kubectl([
      'patch',
      'hnse',
      'net',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { allow: ['hostNetwork', 'hostPID'] } }),
    ]);
    expect(r.code, r.stderr).toBe(0);
    await eventually(
      async () => {
        const p = await core().readNamespacedPod({ namespace: ns, name: 'p' });
        return p.metadata?.annotations?.['hostns.io/exceptions'] === 'net' &&
          !p.metadata?.labels?.['hostns.io/violation']
          ? true
          : undefined;
      },
      10_000,
      'covered by net alone',
    );

    // Deleting it: offender, and the exception labels are removed.
    expect(kubectl(['delete', 'hnse', 'net', '-n', ns]).code).toBe(0);
    const final = await eventually(
      async () => {
        const l = await labelsOf();
        return l['hostns.io/violation'] === 'true' && !l['hostns.io/exception'] ? l : undefined;
      },
      10_000,
      'offender after delete',
    );
    expect(final.app).toBe('agent'); // other labels untouched
    // Every time it became an offender, one Event.
    expect((await events(ns, 'HostNamespaceViolation', 'p')).length).toBe(3);
  });

  it('survives malformed exceptions (schema-valid but semantically wrong): Invalid, with an Event', async () => {
    const ns = await createNamespace('op-invalid');
    await createException(ns, 'too-long', {
      expiresAt: DateTime.utc().plus({ days: 200 }).toISO({ suppressMilliseconds: true }),
    });
    const e = await eventually(
      async () => {
        const x = await getException(ns, 'too-long');
        return x.status?.phase === 'Invalid' ? x : undefined;
      },
      10_000,
      'Invalid phase',
    );
    expect(e.status?.announced?.invalid).toBe('generation-1');
    const ev = await events(ns, 'Invalid', 'too-long');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.note).toMatch(/over the maximum of 90 days/);
  });
});

describe('operator: lapse, exactly once, restarts', () => {
  it('lapses on time: Expired phase, one Expired Event, covered pods relabelled with one violation Event naming the exception', async () => {
    const ns = await createNamespace('op-lapse');
    const expiresAt = DateTime.utc().plus({ seconds: 6 }).startOf('second');
    await createException(ns, 'short', { expiresAt: expiresAt.toISO({ suppressMilliseconds: true }) });
    await createPod(ns, 'a1', { app: 'agent' }, { hostNetwork: true });
    await createPod(ns, 'a2', { app: 'agent' }, { hostNetwork: true });
    await eventually(
      async () => ((await podLabels(ns, 'a2'))['hostns.io/exception'] === 'short' ? true : undefined),
      10_000,
      'covered before lapse',
    );

    const expired = await eventually(
      async () => {
        const ev = await events(ns, 'Expired', 'short');
        return ev.length ? ev : undefined;
      },
      20_000,
      'Expired event',
    );
    const delayMs = DateTime.fromISO(String(expired[0]!.eventTime)).toMillis() - expiresAt.toMillis();
    console.log(`[figures] expiresAt -> Expired Event: ${delayMs} ms`);
    expect(delayMs).toBeGreaterThanOrEqual(0);
    expect(delayMs).toBeLessThan(1000);
    expect(expired[0]!.type).toBe('Warning');

    for (const pod of ['a1', 'a2']) {
      await eventually(
        async () => ((await podLabels(ns, pod))['hostns.io/violation'] === 'true' ? true : undefined),
        10_000,
        `${pod} offender after lapse`,
      );
      const v = await eventually(
        async () => {
          const ev = await events(ns, 'HostNamespaceViolation', pod);
          return ev.length ? ev : undefined;
        },
        10_000,
        `${pod} violation event`,
      );
      expect(v).toHaveLength(1);
      expect(v[0]!.note).toContain('Caused by the lapse of exception short (owner: team-observability');
      const relabelMs = DateTime.fromISO(String(v[0]!.eventTime)).toMillis() - expiresAt.toMillis();
      console.log(`[figures] expiresAt -> ${pod} violation Event: ${relabelMs} ms`);
    }
    const exc = await getException(ns, 'short');
    expect(exc.status?.phase).toBe('Expired');
    expect(exc.status?.coveredPods).toBe(0);
    expect(kubectl(['get', 'hnse', 'short', '-n', ns, '--no-headers']).stdout).toMatch(/Expired/);

    // SIGKILL right after the lapse, start again: no second Event for any transition.
    await op.kill('SIGKILL');
    op = await OperatorProcess.start();
    await op.converged();
    expect(await events(ns, 'Expired', 'short')).toHaveLength(1);
    expect(await events(ns, 'HostNamespaceViolation', 'a1')).toHaveLength(1);
    expect(await events(ns, 'HostNamespaceViolation', 'a2')).toHaveLength(1);
    expect(await events(ns, 'Activated', 'short')).toHaveLength(1);
  });

  it('a crash between Event and status write never doubles the Event (deterministic names)', async () => {
    const ns = await createNamespace('op-crash');
    await op.kill('SIGKILL');
    // The state a crash leaves: the Expired Event exists, status does not record it yet.
    // An exception that lapsed while no operator ran: created valid, then shortened (always
    // allowed) to a time after its creation that is already past.
    const created = (await createException(ns, 'lapsed', {})) as { metadata: { uid: string } };
    await new Promise((r) => setTimeout(r, 2500));
    const expiresAt = DateTime.utc().minus({ seconds: 1 }).startOf('second');
    const r = kubectl([
      'patch',
      'hnse',
      'lapsed',
      '-n',
      ns,
      '--type=merge',
      '-p',
      JSON.stringify({ spec: { expiresAt: expiresAt.toISO({ suppressMilliseconds: true }) } }),
    ]);
    expect(r.code, r.stderr).toBe(0);
    const key = expiresAt.toUTC().toISO({ suppressMilliseconds: true });
    const name = eventName({
      regarding: {
        apiVersion: 'hostns.io/v1alpha1',
        kind: 'HostNamespaceException',
        namespace: ns,
        name: 'lapsed',
        uid: created.metadata.uid,
      },
      reason: 'Expired',
      key,
    });
    await kubeConfig()
      .makeApiClient(EventsV1Api)
      .createNamespacedEvent({
        namespace: ns,
        body: {
          metadata: { name, namespace: ns },
          eventTime: DateTime.utc().toFormat("yyyy-MM-dd'T'HH:mm:ss.SSS'000Z'") as never,
          type: 'Warning',
          reason: 'Expired',
          action: 'Lapse',
          note: 'raised by the previous leader before it crashed',
          reportingController: 'hostns.io/operator',
          reportingInstance: 'crashed-leader',
          regarding: {
            apiVersion: 'hostns.io/v1alpha1',
            kind: 'HostNamespaceException',
            namespace: ns,
            name: 'lapsed',
            uid: created.metadata.uid,
          },
        },
      });
    op = await OperatorProcess.start();
    const exc = await eventually(
      async () => {
        const e = await getException(ns, 'lapsed');
        return e.status?.announced?.expired ? e : undefined;
      },
      10_000,
      'status records the Expired announcement',
    );
    expect(exc.status?.announced?.expired).toBe(key);
    const ev = await events(ns, 'Expired', 'lapsed');
    expect(ev).toHaveLength(1);
    expect(ev[0]!.reportingInstance).toBe('crashed-leader');
    expect(await op.metric('hostns_events_total', 'reason="Expired",outcome="exists"')).toBeGreaterThanOrEqual(1);
  });

  it('a restart on a converged cluster performs zero writes', async () => {
    await op.converged();
    // Every object the operator could write (or reads to decide), before the restart.
    const before = clusterObjects();
    op = await op.restart(['--log-level', 'debug']);
    const writes = await op.writes();
    console.log(
      `[figures] writes after a restart on a converged cluster: ${writes} (requests: ${await op.metric('hostns_api_requests_total')})`,
    );
    const after = clusterObjects();
    // A failure names each write (verb, path) and what changed in the cluster, field by field.
    const explained = () => explainWrites(op.log, before, after);
    expect(writes, explained()).toBe(0);
    expect(clusterChanges(before, after), explained()).toEqual([]);
  });
});
