// Churn is cheap, on a real cluster: KWOK updates the status of a host-network DaemonSet's running
// pods as a kubelet's probes do (pod-heartbeat.ts), and the real operator process, converged,
// receives those watch events and does nothing with them: no reconcile, no write, no request to
// reconcile. Deterministic: it waits for a number of status updates to reach the operator, not for
// a time.
import { afterAll, expect, it } from 'vitest';
import { HEARTBEAT_DELAY_ANNOTATION, HEARTBEAT_JITTER_ANNOTATION } from '../../tools/controlplane/pod-heartbeat.ts';
import { createException } from '../harness/exceptions.ts';
import { apps, clusterNodes, createNamespace, eventually } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { daemonSetManifest, podsOf, removeOtherWorkloads, runningPods } from '../harness/workloads.ts';

/** Status updates the operator must see while converged: about 10 s of heartbeats on 3 nodes. */
const UPDATES = 20;

let op: OperatorProcess | undefined;

afterAll(async () => {
  await op?.kill('SIGTERM');
});

it("a running DaemonSet's status heartbeats reach the operator and cost it no reconcile and no write", async () => {
  const ns = await createNamespace('churn');
  const labels = { app: 'agent' };
  await createException(ns, 'agents');
  const ds = daemonSetManifest('agent', labels, { hostNetwork: true });
  // Each pod asks KWOK for a status update every 1 to 2 s.
  ds.spec!.template.metadata!.annotations = {
    [HEARTBEAT_DELAY_ANNOTATION]: '1s',
    [HEARTBEAT_JITTER_ANNOTATION]: '2s',
  };
  await apps().createNamespacedDaemonSet({ namespace: ns, body: ds });
  await runningPods(ns, labels, clusterNodes());
  await removeOtherWorkloads(ns);

  op = await OperatorProcess.start();
  await eventually(
    async () => {
      const pods = await podsOf(ns, labels);
      return pods.every((p) => p.metadata?.labels?.['hostns.io/exception'] === 'agents') ? true : undefined;
    },
    60_000,
    'every DaemonSet pod labelled as covered by agents',
  );
  await op.converged(60_000);

  // Every pod watch event, whatever it did: a regression would show as reconciles, not as a stall.
  const podEvents = () => op!.metric('hostns_watch_events_total', 'resource="pods"');
  const before = {
    reconciles: await op.metric('hostns_reconcile_duration_seconds_count'),
    writes: await op.writes(),
    requested: await op.metric('hostns_reconcile_requests_total', 'resource="pods"'),
    podEvents: await podEvents(),
  };
  // The operator did work to get here: its counters are live.
  expect(before.reconciles).toBeGreaterThan(0);
  expect(before.writes).toBeGreaterThan(0);

  const seen = await eventually(
    async () => {
      const n = (await podEvents()) - before.podEvents;
      return n >= UPDATES ? n : undefined;
    },
    90_000,
    `${UPDATES} pod status updates received by the operator`,
  );
  const after = {
    reconciles: await op.metric('hostns_reconcile_duration_seconds_count'),
    writes: await op.writes(),
    requested: await op.metric('hostns_reconcile_requests_total', 'resource="pods"'),
  };
  const { podEvents: _, ...counters } = before;
  process.stderr.write(
    `[figures] churn: ${seen} pod watch events; before ${JSON.stringify(counters)}, after ${JSON.stringify(after)}\n`,
  );
  expect(after).toEqual(counters);
  // The pods' status did change (KWOK's updates are real writes the API server stored).
  const pods = await podsOf(ns, labels);
  for (const pod of pods) {
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.lastProbeTime, pod.metadata?.name).toBeTruthy();
  }
});
