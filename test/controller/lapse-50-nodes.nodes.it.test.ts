// Issue 15's lapse, at the size it names: a host-network DaemonSet on 50 simulated nodes, its
// exception lapses, a 51st node joins, the new pod is refused, and every message a person reads
// (kubectl describe daemonset and hnse, kubectl get events, each pod's own Event) names the cause.
// The 51 nodes are this file's own: labelled for its DaemonSet and tainted so no other file's
// DaemonSet spreads onto them (removed at the end, so the shared cluster has its 3 nodes again).
// The shipped admission policy (binding narrowed to this run's namespaces) and the real operator
// process decide.
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Pod } from '@kubernetes/client-node';
import type { NodePool } from '../../tools/controlplane/nodes.ts';
import { createException, readException } from '../harness/exceptions.ts';
import { apps, core, eventually, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import {
  addNode,
  addNodes,
  daemonSetManifest,
  eventOn,
  eventsAbout,
  podsOf,
  removeNode,
  runningPods,
} from '../harness/workloads.ts';
import { buildAdmission, scopedForTest, scopedNamespace, apply, uninstall } from '../admission/admission.ts';

const NODES = 50;
const OWNER = 'team-observability';
const labels = { app: 'node-exporter' };
/** This file's nodes: its DaemonSet selects and tolerates them; nothing else does. */
const POOL_KEY = 'hostns.io/test-pool';
const pool: NodePool = {
  labels: { [POOL_KEY]: 'lapse-50' },
  taints: [{ key: POOL_KEY, value: 'lapse-50', effect: 'NoSchedule' }],
};

let op: OperatorProcess | undefined;
let manifests: ReturnType<typeof buildAdmission> | undefined;
let ns = '';
const nodes: string[] = [];
let running: V1Pod[] = [];
let expiresAt: DateTime;
const started = Date.now();
const took = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const iso = (t: DateTime) => t.toUTC().toISO({ suppressMilliseconds: true })!;

async function phaseOf(name: string): Promise<string | undefined> {
  return (await readException<{ phase?: string }>(ns, name)).status?.phase;
}

/** Text a person reads, printed for the docs' captured output. */
function show(title: string, text: string): void {
  console.log(`[captured] ${title}\n${text}`);
}

beforeAll(async () => {
  // The nodes join while the admission policy, the operator and the namespace are set up.
  const t = Date.now();
  const joined = addNodes(NODES, 'lapse50', pool).then((names) => {
    nodes.push(...names);
    console.log(`[measured] ${NODES} nodes Ready in ${took(t)}`);
  });
  manifests = scopedForTest(buildAdmission());
  apply(manifests);
  op = await OperatorProcess.start();
  ns = await scopedNamespace('lapse50');
  await createException(ns, 'node-exporter', {
    owner: OWNER,
    podSelector: { matchLabels: labels },
    expiresAt: iso(DateTime.utc().plus({ days: 30 }).startOf('second')),
  });
  await joined;
  console.log(`[measured] set-up (admission policy, operator, namespace, ${NODES} nodes): ${took(t)}`);
  // The operator writes the namespace's grants: admission then admits the DaemonSet's pods.
  await eventually(async () => ((await phaseOf('node-exporter')) === 'Active' ? true : undefined), 30_000, 'Active');
  const ds = daemonSetManifest('node-exporter', labels, {
    hostNetwork: true,
    nodeSelector: pool.labels,
    tolerations: [{ key: POOL_KEY, operator: 'Equal', value: 'lapse-50', effect: 'NoSchedule' }],
  });
  const d = Date.now();
  await apps().createNamespacedDaemonSet({ namespace: ns, body: ds });
  running = await runningPods(ns, labels, NODES, 120_000);
  console.log(`[measured] DaemonSet: ${NODES} pods Running in ${took(d)}`);
}, 300_000);

afterAll(async () => {
  await op?.kill('SIGTERM');
  if (manifests) uninstall(manifests);
  const cleanup = Date.now();
  if (ns) {
    // Its pods go at once (no grace period to wait out: no container runs), before their nodes do.
    kubectl(['delete', 'daemonset', 'node-exporter', '-n', ns, '--cascade=orphan']);
    kubectl(['delete', 'pods', '-n', ns, '-l', 'app=node-exporter', '--grace-period=0', '--force', '--wait=false']);
    await eventually(async () => ((await podsOf(ns, labels)).length ? undefined : true), 90_000, 'DaemonSet pods gone');
  }
  await Promise.all(nodes.map((node) => removeNode(node).catch(() => undefined)));
  await eventually(
    async () => ((await core().listNode()).items.some((n) => nodes.includes(n.metadata!.name!)) ? undefined : true),
    60_000,
    "this file's nodes gone",
  );
  console.log(`[measured] clean-up (DaemonSet, its pods, 51 nodes): ${took(cleanup)}`);
  console.log(`[measured] whole file (51 nodes added and removed): ${took(started)}`);
}, 180_000);

describe(`an exception lapsing under a host-network DaemonSet on ${NODES} nodes`, () => {
  it('names the DaemonSet and its 50 pods on 50 nodes before the lapse', async () => {
    const covered = await eventually(
      async () => {
        const pods = await podsOf(ns, labels);
        return pods.length === NODES &&
          pods.every((p) => p.metadata?.labels?.['hostns.io/exception'] === 'node-exporter')
          ? pods
          : undefined;
      },
      60_000,
      'every pod labelled as covered by node-exporter',
    );
    expect(new Set(covered.map((p) => p.spec?.nodeName))).toEqual(new Set(nodes));
    const register = await eventually(
      () => {
        const r = kubectl(['get', 'hnse', '-n', ns]);
        return /node-exporter\s.*Active\s+\S+\s+50\s+1\s+True/.test(r.stdout) ? r.stdout : undefined;
      },
      30_000,
      'the register showing 50 pods, 1 workload',
    );
    expect(register.split('\n')[0]).toMatch(
      /^NAME\s+OWNER\s+ALLOWS\s+PHASE\s+EXPIRES\s+PODS\s+WORKLOADS\s+ENFORCED\s+AGE$/,
    );
    show(`kubectl get hnse -n ${ns}`, register);

    // The exception is cut short: it lapses in 15 s. ExpiringSoon names the blast radius.
    expiresAt = DateTime.utc().plus({ seconds: 15 }).startOf('second');
    const patch = JSON.stringify({ spec: { expiresAt: iso(expiresAt) } });
    const patched = kubectl(['patch', 'hnse', 'node-exporter', '-n', ns, '--type', 'merge', '-p', patch]);
    expect(patched.code, patched.stderr).toBe(0);
    const soon = await eventOn(ns, 'HostNamespaceException', 'node-exporter', 'ExpiringSoon', 15_000);
    expect(soon.message).toBe(
      `Exception expires at ${iso(expiresAt)}; renew it with a fresh risk acceptance ` +
        `(spec.riskAcceptance.acceptedAt) or let it lapse (owner: ${OWNER}). After ${iso(expiresAt)} ` +
        `DaemonSet ${ns}/node-exporter (50 pods on 50 nodes) can no longer create pods: new nodes get no ` +
        'node-exporter, and its pods evicted or deleted are not replaced.',
    );
  });

  it('at the lapse: the 50 pods keep running, relabelled, each with its Event; one on the DaemonSet', async () => {
    await eventually(
      async () => ((await phaseOf('node-exporter')) === 'Expired' ? true : undefined),
      45_000,
      'Expired',
    );
    const expired = await eventOn(ns, 'HostNamespaceException', 'node-exporter', 'Expired', 15_000);
    expect(expired.message).toBe(
      `Exception lapsed at ${iso(expiresAt)}: hostNetwork is no longer allowed for pods matching app=node-exporter; ` +
        `pods it covered are offenders unless another exception covers them (owner: ${OWNER}).`,
    );
    const offenders = await eventually(
      async () => {
        const pods = (await podsOf(ns, labels)).filter((p) => p.metadata?.labels?.['hostns.io/violation'] === 'true');
        return pods.length === NODES ? pods : undefined;
      },
      60_000,
      'all 50 pods labelled hostns.io/violation=true',
    );
    console.log(`[measured] expiresAt -> 50 pods relabelled: ${took(expiresAt.toMillis())}`);
    // Admission never evicts: the same 50 pods, still Running.
    expect((await runningPods(ns, labels, NODES)).map((p) => p.metadata?.uid).sort()).toEqual(
      running.map((p) => p.metadata?.uid).sort(),
    );
    expect(offenders.every((p) => p.metadata?.annotations?.['hostns.io/violation'] === 'hostNetwork')).toBe(true);
    await op!.converged(60_000);

    // Each pod's own Event: names its DaemonSet, the lapsed exception and its owner.
    const podEvents = (
      await core().listNamespacedEvent({ namespace: ns, fieldSelector: 'reason=HostNamespaceViolation' })
    ).items.filter((e) => e.involvedObject.kind === 'Pod');
    expect(new Set(podEvents.map((e) => e.involvedObject.name))).toEqual(
      new Set(running.map((p) => p.metadata!.name!)),
    );
    for (const e of podEvents)
      expect(e.message).toBe(
        `Pod ${e.involvedObject.name} (DaemonSet/node-exporter) uses hostNetwork, which no active ` +
          `HostNamespaceException in namespace ${ns} allows. Caused by the lapse of exception node-exporter ` +
          `(owner: ${OWNER}, expired ${iso(expiresAt)}).`,
      );

    // Exactly one on the DaemonSet, whichever of its 50 pods was found first.
    const onDs = (await eventsAbout(ns, 'DaemonSet', 'node-exporter')).filter(
      (e) => e.reason === 'HostNamespaceViolation',
    );
    expect(onDs).toHaveLength(1);
    expect(onDs[0]!.type).toBe('Warning');
    expect(onDs[0]!.message).toMatch(
      new RegExp(
        '^DaemonSet node-exporter has pods using hostNetwork \\(first: pod node-exporter-[a-z0-9]+\\), which no ' +
          `active HostNamespaceException in namespace ${ns} allows\\. Caused by the lapse of exception ` +
          `node-exporter \\(owner: ${OWNER}, expired ${iso(expiresAt)}\\)\\.$`,
      ),
    );
    const hnse = kubectl(['describe', 'hnse', 'node-exporter', '-n', ns]).stdout;
    expect(hnse).toMatch(/Warning\s+Expired\s+.*Exception lapsed at/);
    expect(hnse).toContain(`(owner: ${OWNER})`);
  });

  it('after the lapse: node 51 joins, its pod is refused, and the Event on the DaemonSet names the cause', async () => {
    const joined = Date.now();
    nodes.push(await addNode('lapse50-new', pool));
    const failed = await eventOn(ns, 'DaemonSet', 'node-exporter', 'FailedCreate', 60_000);
    expect(failed.message).toContain("ValidatingAdmissionPolicy 'hostns-host-namespaces'");
    expect(failed.message).toContain('hostNetwork');
    // The policy's own message names the lapsed exception (its non-granting entry in spec.lapsed).
    expect(failed.message).toContain(`(lapsed: node-exporter (owner: ${OWNER}, expired ${iso(expiresAt)}))`);
    const linked = await eventOn(ns, 'DaemonSet', 'node-exporter', 'HostNamespaceExceptionLapsed', 30_000);
    console.log(`[measured] node 51 added -> FailedCreate and the linked Event: ${took(joined)}`);
    expect(linked.type).toBe('Warning');
    // The refusal quoted is the first FailedCreate the operator saw (the DaemonSet controller retries,
    // each with a new pod name), cut with '…' where the note reaches its 1 KiB: the operator's own
    // sentences come first and are whole.
    const refusal = linked.message!.slice(linked.message!.indexOf(' Refusal: ') + ' Refusal: '.length);
    expect(linked.message).toBe(
      'DaemonSet node-exporter cannot create pods: the host namespace admission policy refuses them since ' +
        `exception node-exporter (owner: ${OWNER}, allowed hostNetwork) lapsed at ${iso(expiresAt)}: new nodes ` +
        'get no node-exporter, and its pods evicted or deleted are not replaced. Renew the exception (a fresh ' +
        'spec.riskAcceptance.acceptedAt and spec.expiresAt) or remove the host namespaces from the pod template. ' +
        `Refusal: ${refusal}`,
    );
    const podName = /Pod 'node-exporter-[a-z0-9]+'/g;
    const quoted = refusal.replace(/…$/, '').replace(podName, '');
    expect(quoted).toContain("ValidatingAdmissionPolicy 'hostns-host-namespaces'");
    expect(failed.message!.replace(podName, '').slice(0, quoted.length)).toBe(quoted);
    // No pod for node 51; the 50 still run.
    expect((await podsOf(ns, labels)).filter((p) => p.spec?.nodeName === nodes.at(-1))).toEqual([]);
    await runningPods(ns, labels, NODES);

    // What a person reads: kubectl describe daemonset, and kubectl get events.
    const describe = kubectl(['describe', 'daemonset', 'node-exporter', '-n', ns]);
    expect(describe.code, describe.stderr).toBe(0);
    const events = describe.stdout.slice(describe.stdout.indexOf('Events:'));
    expect(events).toMatch(/Warning\s+HostNamespaceViolation\s+.*DaemonSet node-exporter has pods using hostNetwork/);
    expect(events).toContain(
      `Caused by the lapse of exception node-exporter (owner: ${OWNER}, expired ${iso(expiresAt)})`,
    );
    expect(events).toMatch(/Warning\s+FailedCreate\s+.*ValidatingAdmissionPolicy 'hostns-host-namespaces'/);
    expect(events).toMatch(
      new RegExp(
        `Warning\\s+HostNamespaceExceptionLapsed\\s+.*exception node-exporter ` +
          `\\(owner: ${OWNER}, allowed hostNetwork\\) ` +
          `lapsed at ${iso(expiresAt)}: new nodes get no node-exporter`,
      ),
    );
    expect(events.match(/HostNamespaceViolation/g)).toHaveLength(1);
    expect(events.match(/HostNamespaceExceptionLapsed/g)).toHaveLength(1);
    show(`kubectl describe daemonset node-exporter -n ${ns} (Events)`, events);
    const get = kubectl(['get', 'events', '-n', ns, '--field-selector', 'involvedObject.kind=DaemonSet']);
    expect(get.stdout).toMatch(
      /HostNamespaceExceptionLapsed\s+daemonset\/node-exporter\s+DaemonSet node-exporter cannot/,
    );
    expect(get.stdout).toMatch(/HostNamespaceViolation\s+daemonset\/node-exporter\s+DaemonSet node-exporter has pods/);
    show(`kubectl get events -n ${ns} --field-selector involvedObject.kind=DaemonSet`, get.stdout);
    const register = kubectl(['get', 'hnse', '-n', ns]).stdout;
    expect(register).toMatch(new RegExp(`node-exporter\\s+${OWNER}\\s+hostNetwork\\s+Expired\\s+${iso(expiresAt)}`));
    show(`kubectl get hnse -n ${ns}`, register);
  });
});
