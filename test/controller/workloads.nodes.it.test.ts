// The operator in a cluster with nodes and workload controllers: a DaemonSet whose exception
// lapses. Before: the ExpiringSoon Event, status.workloads and review name the DaemonSet and what it
// will lose. At the lapse: running pods keep running and are relabelled; the DaemonSet gets one
// violation Event. After: a node joins, the DaemonSet's new pod is refused, and every message a
// person reads (the controller's FailedCreate, our Event on the DaemonSet, the register, review,
// audit) names the lapsed exception. The shipped admission policy (binding narrowed to this run's
// namespaces) and the real operator process decide, as in production.
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createException, readException } from '../harness/exceptions.ts';
import { apps, clusterNodes, eventually, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import {
  addNode,
  daemonSetManifest,
  deploymentManifest,
  eventOn,
  eventsAbout,
  removeNode,
  runningPods,
} from '../harness/workloads.ts';
import { buildAdmission, scopedForTest, scopedNamespace, apply, uninstall } from '../admission/admission.ts';
import { hostns, hostnsJson } from '../cli/run-cli.ts';

let op: OperatorProcess;
let manifests: ReturnType<typeof buildAdmission>;
const added: string[] = [];

beforeAll(async () => {
  manifests = scopedForTest(buildAdmission());
  apply(manifests);
  op = await OperatorProcess.start();
});

afterAll(async () => {
  await op?.kill('SIGTERM');
  for (const node of added) await removeNode(node).catch(() => undefined);
  if (manifests) uninstall(manifests);
});

type Status = {
  phase?: string;
  coveredPods?: number;
  workloads?: { kind: string; name: string; pods: number }[];
  workloadCount?: number;
};
async function statusOf(ns: string, name: string): Promise<Status> {
  return (await readException<Status>(ns, name)).status ?? {};
}

const iso = (t: DateTime) => t.toUTC().toISO({ suppressMilliseconds: true })!;

describe('an exception lapsing under a running DaemonSet', () => {
  it('names the workloads before the lapse, relabels at it, and links the refused pod creation after it', async () => {
    const ns = await scopedNamespace('wl-lapse');
    const labels = { app: 'node-exporter' };
    await createException(ns, 'node-exporter', { podSelector: { matchLabels: labels } });
    await createException(ns, 'web', { podSelector: { matchLabels: { app: 'web' } } });
    // The operator writes the namespace's grants: admission then admits the pods.
    await eventually(
      async () => ((await statusOf(ns, 'node-exporter')).phase === 'Active' ? true : undefined),
      30_000,
      'Active',
    );
    await apps().createNamespacedDaemonSet({
      namespace: ns,
      body: daemonSetManifest('node-exporter', labels, { hostNetwork: true }),
    });
    await apps().createNamespacedDeployment({
      namespace: ns,
      body: deploymentManifest('web', { app: 'web' }, 2, { hostNetwork: true }),
    });
    const nodes = clusterNodes();
    const running = await runningPods(ns, labels, nodes, 90_000);
    await runningPods(ns, { app: 'web' }, 2, 90_000);

    // status.workloads: attributed through the pod's controller, and the Deployment's through its ReplicaSet.
    await eventually(
      async () => {
        const [ne, web] = [await statusOf(ns, 'node-exporter'), await statusOf(ns, 'web')];
        return ne.workloads?.[0]?.pods === nodes && web.workloads?.[0]?.pods === 2 ? { ne, web } : undefined;
      },
      30_000,
      'status.workloads of both exceptions',
    ).then(({ ne, web }) => {
      expect(ne).toMatchObject({
        workloads: [{ kind: 'DaemonSet', name: 'node-exporter', pods: nodes }],
        workloadCount: 1,
      });
      expect(web).toMatchObject({ workloads: [{ kind: 'Deployment', name: 'web', pods: 2 }], workloadCount: 1 });
    });

    // audit by workload: one row per workload, through the ReplicaSets listed as metadata.
    const audit = hostnsJson<{
      workloads: { kind: string; name: string; pods: number; nodes: number; status: string }[];
    }>(['audit', '-n', ns]);
    expect(audit.workloads.map((w) => [w.kind, w.name, w.pods, w.nodes, w.status])).toEqual([
      ['DaemonSet', 'node-exporter', nodes, nodes, 'covered'],
      ['Deployment', 'web', 2, expect.any(Number), 'covered'],
    ]);
    expect(hostns(['audit', '-n', ns]).stdout).toContain(`${nodes} pods, covered by node-exporter`);

    // The exception is cut short: expiring now, lapsing in 40 s.
    const expiresAt = DateTime.utc().plus({ seconds: 40 }).startOf('second');
    const patched = kubectl([
      'patch',
      'hnse',
      'node-exporter',
      '-n',
      ns,
      '--type',
      'merge',
      '-p',
      JSON.stringify({ spec: { expiresAt: iso(expiresAt) } }),
    ]);
    expect(patched.code, patched.stderr).toBe(0);
    const soon = await eventOn(ns, 'HostNamespaceException', 'node-exporter', 'ExpiringSoon', 30_000);
    const blast = `DaemonSet ${ns}/node-exporter (${nodes} pods on ${nodes} nodes) can no longer create pods: new nodes get no node-exporter`;
    expect(soon.message).toContain(`After ${iso(expiresAt)} ${blast}`);
    const review = hostns(['review', '-n', ns]);
    expect(review.stdout).toContain(`after ${iso(expiresAt)} ${blast}`);
    console.log(`[captured] kubectl hostns review -n ${ns}\n${review.stdout}`);
    console.log(`[captured] ExpiringSoon: ${soon.message}`);
    const reviewJson = hostnsJson<{
      exceptions: { name: string; workloads: { kind: string; pods: number; nodes: number }[] }[];
    }>(['review', '-n', ns]);
    expect(reviewJson.exceptions.find((e) => e.name === 'node-exporter')!.workloads).toMatchObject([
      { kind: 'DaemonSet', pods: nodes, nodes },
    ]);

    // The lapse: the running pods keep running, relabelled; one violation Event on the DaemonSet.
    await eventually(
      async () => ((await statusOf(ns, 'node-exporter')).phase === 'Expired' ? true : undefined),
      60_000,
      'Expired',
    );
    const violation = await eventOn(ns, 'DaemonSet', 'node-exporter', 'HostNamespaceViolation', 30_000);
    expect(violation.message).toMatch(
      new RegExp(
        `^DaemonSet node-exporter has pods using hostNetwork \\(first: pod node-exporter-.+\\), which no active`,
      ),
    );
    expect(violation.message).toContain('Caused by the lapse of exception node-exporter (owner: team-observability');
    await eventually(
      async () => {
        const pods = await runningPods(ns, labels, nodes);
        return pods.every((p) => p.metadata?.labels?.['hostns.io/violation'] === 'true') ? pods : undefined;
      },
      30_000,
      'every DaemonSet pod relabelled as an offender',
    );
    expect((await runningPods(ns, labels, nodes)).map((p) => p.metadata?.uid).sort()).toEqual(
      running.map((p) => p.metadata?.uid).sort(),
    );

    // A node joins: the DaemonSet's pod for it is refused; our Event on the DaemonSet says why and whose.
    added.push(await addNode('wl-node'));
    const failed = await eventOn(ns, 'DaemonSet', 'node-exporter', 'FailedCreate', 60_000);
    // The policy's own message names the lapse (the grants object keeps it in spec.lapsed, read only
    // by the message); our Event, next to it, adds what the workload lost.
    expect(failed.message).toContain("ValidatingAdmissionPolicy 'hostns-host-namespaces'");
    expect(failed.message).toContain('(lapsed: node-exporter (owner: ');
    expect(failed.message).toContain('uses hostNetwork, and no active HostNamespaceException in namespace');
    const linked = await eventOn(ns, 'DaemonSet', 'node-exporter', 'HostNamespaceExceptionLapsed', 30_000);
    expect(linked.type).toBe('Warning');
    expect(linked.message).toMatch(
      new RegExp(
        '^DaemonSet node-exporter cannot create pods: the host namespace admission policy refuses them since ' +
          `exception node-exporter \\(owner: team-observability, allowed hostNetwork\\) lapsed at ${iso(expiresAt)}: ` +
          'new nodes get no node-exporter',
      ),
    );
    expect(linked.message).toContain('Refusal: Error creating: pods');

    console.log(`[captured] ${linked.reason}: ${linked.message}`);
    console.log(`[captured] ${violation.reason}: ${violation.message}`);
    console.log(`[captured] ${failed.reason}: ${failed.message}`);
    console.log(
      `[captured] kubectl describe daemonset\n${kubectl(['describe', 'daemonset', 'node-exporter', '-n', ns]).stdout}`,
    );

    // The register and review say it too.
    const register = kubectl(['get', 'hnse', 'node-exporter', '-n', ns, '--no-headers']);
    expect(register.stdout).toMatch(/node-exporter\s+team-observability\s+.*Expired/);
    const after = hostns(['review', '-n', ns]).stdout;
    expect(after).toContain(`since ${iso(expiresAt)} ${blast}`);
    console.log(`[captured] kubectl hostns review -n ${ns}\n${after}`);
    console.log(`[captured] kubectl get hnse -n ${ns}\n${kubectl(['get', 'hnse', '-n', ns]).stdout}`);
    const auditAfter = hostns(['audit', '-n', ns]).stdout;
    console.log(`[captured] kubectl hostns audit -n ${ns}\n${auditAfter}`);
    expect(auditAfter).toMatch(
      new RegExp(
        `DaemonSet/node-exporter\\s+${nodes}\\s+${nodes}\\s+hostNetwork\\s+offender.*expired: node-exporter \\(owner team-observability\\)`,
      ),
    );

    // Exactly once: the DaemonSet's Events after a restart and more refusals.
    await op.kill('SIGKILL');
    op = await OperatorProcess.start();
    await new Promise((r) => setTimeout(r, 5_000));
    const onDs = await eventsAbout(ns, 'DaemonSet', 'node-exporter');
    expect(onDs.filter((e) => e.reason === 'HostNamespaceViolation')).toHaveLength(1);
    expect(onDs.filter((e) => e.reason === 'HostNamespaceExceptionLapsed')).toHaveLength(1);
  });
});
