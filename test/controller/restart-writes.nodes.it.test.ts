// "A converged cluster sees zero writes from a restart": on a cluster with nodes and workload
// controllers, with everything that makes the operator write Events on workloads. A DaemonSet whose
// exception lapsed (its pods offenders, a violation Event on it) and whose pod for a new node is
// refused (FailedCreate, linked by our HostNamespaceExceptionLapsed Event), and a Deployment whose
// exception was deleted (its pods offenders, a violation Event on it; its ReplicaSet's new pod
// refused, for a reason no lapse explains). The real operator, SIGKILLed and restarted, then a
// leader change: no write request at all (creates answered 409 included), by the operator's own
// count and its debug log of every write, and still exactly one of each Event.
import type { CoreV1Event } from '@kubernetes/client-node';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createException, PLURAL } from '../harness/exceptions.ts';
import { clusterNodes, core, createNamespace, eventually, kubectl } from '../harness/clients.ts';
import { leaderElectionArgs, OperatorProcess } from '../harness/operator-process.ts';
import { clusterChanges, clusterObjects, loggedWrites, type ClusterObjects } from '../harness/write-audit.ts';
import {
  addNode,
  daemonSetManifest,
  deploymentManifest,
  eventOn,
  podsOf,
  removeNode,
  removeOtherWorkloads,
  runningPods,
} from '../harness/workloads.ts';
import { apply, buildAdmission, scopedForTest, scopedNamespace, uninstall } from '../admission/admission.ts';

const started: OperatorProcess[] = [];
let manifests: ReturnType<typeof buildAdmission>;
const added: string[] = [];
let ns: string;
let leaseNs: string;

async function operator(args: string[] = []): Promise<OperatorProcess> {
  const op = await OperatorProcess.start(['--log-level', 'debug', ...args]);
  started.push(op);
  return op;
}

beforeAll(async () => {
  ns = await scopedNamespace('rw-restart');
  // Created before any operator runs: a namespace appearing later is work (its grants object).
  leaseNs = await createNamespace('rw-lease');
  // Earlier files' workloads would make the operator write for reasons of their own.
  await removeOtherWorkloads(ns);
  manifests = scopedForTest(buildAdmission());
  apply(manifests);
});

afterAll(async () => {
  await Promise.all(started.map((p) => p.kill('SIGKILL')));
  for (const node of added) await removeNode(node).catch(() => undefined);
  if (manifests) uninstall(manifests);
});

/** Every Event in the namespace, oldest first. */
async function events(): Promise<CoreV1Event[]> {
  return (await core().listNamespacedEvent({ namespace: ns })).items;
}

/** Our Events, `Kind/name reason`, with how many of each. */
async function ourEvents(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const e of await events()) {
    if (e.reportingComponent !== 'hostns.io/operator') continue;
    const key = `${e.involvedObject.kind}/${e.involvedObject.name} ${e.reason}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The objects the operator writes, minus Events others write (the controllers keep counting refusals). */
function operatorsObjects(): ClusterObjects {
  const all = clusterObjects();
  for (const [key, obj] of all) {
    const e = obj as { kind?: string; reportingController?: string };
    if (e.kind === 'Event' && e.reportingController !== 'hostns.io/operator') all.delete(key);
  }
  return all;
}

/** Waits until converged, twice with a pause between (refusal Events keep arriving meanwhile). */
async function settled(op: OperatorProcess): Promise<void> {
  await op.converged(60_000);
  await new Promise((r) => setTimeout(r, 3_000));
  await op.converged(60_000);
}

/** Pod creations refused so far, by the controllers' count (an Event aggregates repeats). */
async function refusedCreations(): Promise<number> {
  return (await events()).filter((e) => e.reason === 'FailedCreate').reduce((n, e) => n + (e.count ?? 1), 0);
}

const iso = (t: DateTime) => t.toUTC().toISO({ suppressMilliseconds: true })!;

describe('a converged restart on a cluster with nodes and workloads', () => {
  let op: OperatorProcess;
  let converged: Map<string, number>;

  it('SIGKILL and restart: zero write requests (not even a create answered 409), one of each Event', async () => {
    op = await operator();
    const agent = { app: 'agent' };
    await createException(ns, 'agents', { podSelector: { matchLabels: agent } });
    await createException(ns, 'web', { podSelector: { matchLabels: { app: 'web' } } });
    const grantsFor = async (exception: string) =>
      (
        kubectl(['get', 'hostnamespacegrantsets', 'grants', '-n', ns, '-o', 'jsonpath={.spec.grants[*].exception}'])
          .stdout ?? ''
      )
        .split(' ')
        .includes(exception)
        ? true
        : undefined;
    await eventually(() => grantsFor('agents'), 30_000, 'grant of agents');
    await eventually(() => grantsFor('web'), 30_000, 'grant of web');
    const workloads = [
      daemonSetManifest('agent', agent, { hostNetwork: true }),
      deploymentManifest('web', { app: 'web' }, 2, { hostNetwork: true }),
    ];
    const created = kubectl(
      ['apply', '-n', ns, '-f', '-'],
      JSON.stringify({ apiVersion: 'v1', kind: 'List', items: workloads }),
    );
    expect(created.code, created.stderr).toBe(0);
    const [, web] = await Promise.all([
      runningPods(ns, agent, clusterNodes(), 90_000),
      runningPods(ns, { app: 'web' }, 2, 90_000),
    ]);

    // The Deployment's exception is deleted: its pods offend, a violation Event goes on the Deployment.
    kubectl(['delete', PLURAL, 'web', '-n', ns]);
    await eventOn(ns, 'Deployment', 'web', 'HostNamespaceViolation', 30_000);
    // Its ReplicaSet's replacement pod is refused: never allowed since, so no lapse to link.
    await core().deleteNamespacedPod({ namespace: ns, name: web[0]!.metadata!.name!, gracePeriodSeconds: 0 });
    const rsRefusal = await eventually(
      async () => (await events()).find((e) => e.reason === 'FailedCreate' && e.involvedObject.kind === 'ReplicaSet'),
      60_000,
      "the ReplicaSet's FailedCreate",
    );
    expect(rsRefusal.message).toContain("ValidatingAdmissionPolicy 'hostns-host-namespaces'");

    // The DaemonSet's exception lapses in 15 s: its pods offend, a violation Event goes on the DaemonSet.
    const expiresAt = DateTime.utc().plus({ seconds: 15 }).startOf('second');
    const lapse = JSON.stringify({ spec: { expiresAt: iso(expiresAt) } });
    const patched = kubectl(['patch', PLURAL, 'agents', `--namespace=${ns}`, '--type=merge', `--patch=${lapse}`]);
    expect(patched.code, patched.stderr).toBe(0);
    await eventOn(ns, 'DaemonSet', 'agent', 'HostNamespaceViolation', 60_000);
    // A node joins: its pod is refused (FailedCreate), and our Event links it to the lapse.
    added.push(await addNode('rw-node'));
    await eventOn(ns, 'DaemonSet', 'agent', 'FailedCreate', 60_000);
    await eventOn(ns, 'DaemonSet', 'agent', 'HostNamespaceExceptionLapsed', 30_000);
    await eventually(
      async () => {
        const pods = await podsOf(ns, agent);
        return pods.every((p) => p.metadata?.labels?.['hostns.io/violation'] === 'true') ? true : undefined;
      },
      30_000,
      'every DaemonSet pod labelled as an offender',
    );
    await settled(op);
    converged = await ourEvents();
    const refusals = (await events()).filter((e) => e.reason === 'FailedCreate');
    console.log(
      `[figures] converged: ${refusals.length} FailedCreate Events (counts ${refusals.map((e) => e.count).join(', ')}); ` +
        `our Events: ${JSON.stringify(Object.fromEntries(converged))}`,
    );
    for (const want of [
      'DaemonSet/agent HostNamespaceViolation',
      'DaemonSet/agent HostNamespaceExceptionLapsed',
      'Deployment/web HostNamespaceViolation',
    ])
      expect(converged.get(want), want).toBe(1);
    // One per pod and workload per cause (an exception's Activated is per expiresAt: the patch made a second).
    const onPodsAndWorkloads = [...converged].filter(([k]) => !k.startsWith('HostNamespaceException/'));
    expect(onPodsAndWorkloads.filter(([, n]) => n !== 1)).toEqual([]);
    expect(op.log).toContain('"api write"'); // the debug log does show writes: the check below is not vacuous

    const before = operatorsObjects();
    await op.kill('SIGKILL');
    op = await operator();
    await settled(op);
    // More refusals of the lapse while the new operator runs (another node joins; no pod of ours
    // changes): the linked Event exists, nothing is sent.
    const refused = await refusedCreations();
    added.push(await addNode('rw-node'));
    await eventually(
      async () => ((await refusedCreations()) > refused ? true : undefined),
      60_000,
      'the DaemonSet refused again',
    );
    await settled(op);
    const writes = loggedWrites(op.log);
    console.log(
      `[figures] after SIGKILL + restart: ${await op.writes()} writes, ${writes.length} logged, ` +
        `${await op.metric('hostns_api_requests_total')} requests`,
    );
    const changes = clusterChanges(before, operatorsObjects());
    expect(writes, writes.join('\n')).toEqual([]);
    expect(await op.writes()).toBe(0);
    expect(changes, changes.join('\n')).toEqual([]);
    expect(await ourEvents()).toEqual(converged);
  });

  it('a leader change: the standby takes over and writes nothing but its Lease', async () => {
    await op.kill('SIGKILL');
    const elect = (id: string) => operator(leaderElectionArgs(leaseNs, id));
    const a = await elect('replica-a');
    await eventually(async () => ((await a.metric('hostns_leader')) === 1 ? true : undefined), 15_000, 'a leads');
    await settled(a);
    const b = await elect('replica-b');
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await b.metric('hostns_leader')).toBe(0);
    await a.kill('SIGKILL');
    await eventually(async () => ((await b.metric('hostns_leader')) === 1 ? true : undefined), 30_000, 'b leads');
    await settled(b);
    const notLease = (w: string) => !w.includes('/leases');
    const writes = [...loggedWrites(a.log), ...loggedWrites(b.log)].filter(notLease);
    expect(writes, writes.join('\n')).toEqual([]);
    expect(loggedWrites(b.log).some((w) => w.includes('/leases'))).toBe(true); // it did take the Lease
    expect(await ourEvents()).toEqual(converged);
  });
});
