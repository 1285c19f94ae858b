// Workload templates at admission, end to end on the cluster with simulated nodes: the shipped
// policy (config/admission, binding narrowed to this run's namespaces) decides on the templates
// people write AND on the pods and Jobs the workload controllers create from them later. The
// grants singleton is written as the operator writes it for an exception (no operator runs here):
// after a lapse, a grant whose expiresAt has passed (until the operator moves it, or while it is
// down) or the lapsed entry the operator keeps in spec.lapsed, named with its owner.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Grant, HostNamespace } from '../../src/api/v1alpha1.ts';
import { apps, batch, clusterNodes, core, eventually, kubectl } from '../harness/clients.ts';
import {
  addNode,
  daemonSetManifest,
  deploymentManifest,
  eventOn,
  podSpec,
  podsOf,
  removeNode,
  runningPods,
  type Labels,
} from '../harness/workloads.ts';
import {
  FUTURE,
  PAST,
  POLICY,
  apply,
  buildAdmission,
  expectedRefusal,
  podManifest,
  scopedForTest,
  scopedNamespace,
  setGrants,
  sortLabels,
  tryCreate,
  uninstall,
} from './admission.ts';

let manifests: ReturnType<typeof buildAdmission>;
let sentinelNs = '';
/** Every test's grants, by namespace (each namespace has its own grants object). */
const grants: Record<string, Grant[]> = {};

/** What the operator writes for an exception `name` allowing `allow` to pods with `labels`. */
async function grantInNamespace(ns: string, name: string, allow: HostNamespace[], labels: Labels, expiresAt = FUTURE) {
  grants[ns] = [{ exception: name, allow, expiresAt, selector: { matchLabels: labels, matchExpressions: [] } }];
  await setGrants({ [ns]: grants[ns] });
}

/** The policy's refusal in a controller's Event: `Error creating: pods "<name>" is forbidden: ... <message>`. */
const REFUSAL = new RegExp(
  String.raw`^Error creating(?: job)?: (?:pods|jobs\.batch) "([^"]+)" is forbidden: ` +
    String.raw`ValidatingAdmissionPolicy '${POLICY}' with binding '${POLICY}' denied request: (.*)$`,
  's',
);

function refusalIn(eventMessage: string): { name: string; policyMessage: string } {
  const m = REFUSAL.exec(eventMessage);
  if (!m) throw new Error(`not a refusal by the host namespace policy: ${eventMessage}`);
  return { name: m[1]!, policyMessage: sortLabels(m[2]!) };
}

beforeAll(async () => {
  sentinelNs = await scopedNamespace('wl-sentinel');
  manifests = scopedForTest(buildAdmission());
  apply(manifests);
  await setGrants({ [sentinelNs]: [] });
  // A binding takes a moment to become effective: wait for a known refusal.
  await eventually(
    async () =>
      (await tryCreate(podManifest('probe', { app: 'probe' }, ['hostNetwork']), sentinelNs, true)).admitted
        ? undefined
        : true,
    60_000,
    'the admission policy to refuse a hostNetwork pod',
  );
});

afterAll(async () => {
  if (manifests) uninstall(manifests);
});

describe('workload templates at admission, end to end', () => {
  it("the policy type-checks against the grants CRD's schema without a warning (spec.lapsed and owner included)", async () => {
    // kube-controller-manager's validatingadmissionpolicy-status-controller type-checks it against
    // the param CRD's schema (only this cluster runs it); no warning leaves typeChecking empty.
    type Policy = {
      metadata: { generation: number };
      status?: { observedGeneration?: number; typeChecking?: { expressionWarnings?: unknown[] } };
    };
    const policy = await eventually(
      async () => {
        const p = JSON.parse(kubectl(['get', 'validatingadmissionpolicy', POLICY, '-o', 'json']).stdout) as Policy;
        return p.status?.observedGeneration === p.metadata.generation ? p : undefined;
      },
      30_000,
      'the type checking of the policy',
    );
    expect(policy.status?.typeChecking?.expressionWarnings ?? []).toEqual([]);
  });
  it('a Deployment rollout adding hostNetwork, with and without an exception, and after its lapse', async () => {
    const ns = await scopedNamespace('wl-deploy');
    await setGrants({ [ns]: [] }); // its grants object, as the operator writes it
    const labels = { app: 'agent' };
    await apps().createNamespacedDeployment({ namespace: ns, body: deploymentManifest('agent', labels, 2) });
    const before = await runningPods(ns, labels, 2);
    const rollout = JSON.stringify(deploymentManifest('agent', labels, 2, { hostNetwork: true }));

    // Without an exception: the template change is refused at the API, the old pods keep running.
    const refused = kubectl(['apply', '-n', ns, '-f', '-'], rollout);
    expect(refused.code).not.toBe(0);
    expect(sortLabels(refused.stderr)).toContain(expectedRefusal('Deployment', 'agent', ns, ['hostNetwork'], labels));
    expect((await apps().listNamespacedReplicaSet({ namespace: ns })).items.length).toBe(1);
    expect((await runningPods(ns, labels, 2)).map((p) => p.metadata?.name).sort()).toEqual(
      before.map((p) => p.metadata?.name).sort(),
    );

    // With one: the new ReplicaSet's pods are admitted and replace the old ones.
    await grantInNamespace(ns, 'agent', ['hostNetwork'], labels);
    const admitted = kubectl(['apply', '-n', ns, '-f', '-'], rollout);
    expect(admitted.code, admitted.stderr).toBe(0);
    const rolledOut = await eventually(
      async () => {
        const pods = await runningPods(ns, labels, 2);
        return pods.every((p) => p.spec?.hostNetwork) ? pods : undefined;
      },
      90_000,
      'the rollout to hostNetwork pods',
    );
    for (const pod of rolledOut) expect(pod.status?.podIP).toBe(pod.status?.hostIP);
    const newRs = (await apps().listNamespacedReplicaSet({ namespace: ns })).items.find(
      (rs) => rs.spec?.template?.spec?.hostNetwork,
    )!;
    expect(newRs.status?.readyReplicas).toBe(2);

    // The exception lapses: running pods keep running; the ReplicaSet cannot replace a pod.
    await grantInNamespace(ns, 'agent', ['hostNetwork'], labels, PAST);
    await core().deleteNamespacedPod({ namespace: ns, name: rolledOut[0]!.metadata!.name!, gracePeriodSeconds: 1 });
    const event = await eventOn(ns, 'ReplicaSet', newRs.metadata!.name!, 'FailedCreate');
    expect(event.type).toBe('Warning');
    const { name, policyMessage } = refusalIn(event.message!);
    const podLabels = { ...labels, 'pod-template-hash': newRs.metadata!.labels!['pod-template-hash']! };
    expect(policyMessage).toBe(
      expectedRefusal('Pod', name, ns, ['hostNetwork'], podLabels, [`agent (expired ${PAST})`]),
    );
    const left = (await podsOf(ns, labels)).filter((p) => !p.metadata?.deletionTimestamp);
    expect(left.map((p) => p.metadata?.name)).toEqual([rolledOut[1]!.metadata!.name]);
  });

  it("a DaemonSet's pod on a new node: created with an exception, refused after its lapse", async () => {
    const ns = await scopedNamespace('wl-ds');
    await setGrants({ [ns]: [] }); // its grants object, as the operator writes it
    const labels = { app: 'node-exporter' };
    const flags: HostNamespace[] = ['hostNetwork', 'hostPID'];
    await grantInNamespace(ns, 'node-exporter', flags, labels);
    const ds = daemonSetManifest('node-exporter', labels, { hostNetwork: true, hostPID: true });
    await apps().createNamespacedDaemonSet({ namespace: ns, body: ds });
    const first = await runningPods(ns, labels, clusterNodes());
    const added: string[] = [];
    try {
      added.push(await addNode());
      const withNew = await runningPods(ns, labels, clusterNodes() + 1);
      expect(withNew.map((p) => p.spec?.nodeName)).toContain(added[0]);

      // What the operator writes once the exception has lapsed: no grant, a lapsed entry.
      const selector = { matchLabels: labels, matchExpressions: [] };
      const lapsed = {
        exception: 'node-exporter',
        owner: 'team-observability',
        allow: flags,
        expiresAt: PAST,
        selector,
      };
      await setGrants({ [ns]: [] }, { [ns]: [lapsed] });
      added.push(await addNode());
      const event = await eventOn(ns, 'DaemonSet', 'node-exporter', 'FailedCreate');
      console.log(`[captured] FailedCreate: ${event.message}`);
      const { name, policyMessage } = refusalIn(event.message!);
      const { 'controller-revision-hash': revision, 'pod-template-generation': generation } =
        first[0]!.metadata!.labels!;
      const podLabels = { ...labels, 'controller-revision-hash': revision!, 'pod-template-generation': generation! };
      expect(policyMessage).toBe(
        expectedRefusal('Pod', name, ns, flags, podLabels, [
          `node-exporter (owner: team-observability, expired ${PAST})`,
        ]),
      );
      // The pods already running keep running; the new node has none.
      const pods = await runningPods(ns, labels, clusterNodes() + 1);
      expect(pods.map((p) => p.spec?.nodeName)).not.toContain(added[1]);
    } finally {
      for (const node of added) await removeNode(node);
    }
  });

  it("a CronJob's Job: created with an exception, the next scheduled one refused after its lapse", async () => {
    const ns = await scopedNamespace('wl-cron');
    await setGrants({ [ns]: [] }); // its grants object, as the operator writes it
    const labels = { app: 'backup' };
    await grantInNamespace(ns, 'backup', ['hostNetwork'], labels);
    await batch().createNamespacedCronJob({
      namespace: ns,
      body: {
        metadata: { name: 'backup' },
        spec: {
          schedule: '* * * * *',
          jobTemplate: {
            spec: { template: { metadata: { labels }, spec: podSpec({ hostNetwork: true, restartPolicy: 'Never' }) } },
          },
        },
      },
    });
    // A Job made from the CronJob's template now, as `kubectl create job --from` does: admitted, runs.
    const now = kubectl(['create', 'job', '-n', ns, 'backup-now', '--from=cronjob/backup']);
    expect(now.code, now.stderr).toBe(0);
    await eventually(
      async () => {
        const job = await batch().readNamespacedJob({ namespace: ns, name: 'backup-now' });
        return job.status?.succeeded === 1 ? true : undefined;
      },
      60_000,
      'Job backup-now succeeded',
    );

    await grantInNamespace(ns, 'backup', ['hostNetwork'], labels, PAST);
    const later = kubectl(['create', 'job', '-n', ns, 'backup-later', '--from=cronjob/backup']);
    expect(later.code).not.toBe(0);
    expect(later.stderr).toContain(
      `Job 'backup-later' pod template uses hostNetwork, and no active HostNamespaceException in namespace ${ns}` +
        ` allows that for its labels (lapsed: backup (expired ${PAST})).`,
    );
    // The CronJob controller's next Job (schedule: every minute) is refused the same way.
    const event = await eventOn(ns, 'CronJob', 'backup', 'FailedCreate', 90_000);
    const { name, policyMessage } = refusalIn(event.message!);
    expect(name).toMatch(/^backup-\d+$/);
    expect(policyMessage).toContain(
      `Job '${name}' pod template uses hostNetwork, and no active HostNamespaceException in namespace ${ns}` +
        ` allows that for its labels (lapsed: backup (expired ${PAST})).`,
    );
  });
});
