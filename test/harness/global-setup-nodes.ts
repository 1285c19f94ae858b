// Vitest global setup for the `integration-nodes` project (files named *.nodes.it.test.ts): one
// local cluster per test run with NODES simulated nodes, kube-scheduler and the workload
// controllers, the CRDs installed. Tests read the node count through inject('nodes').
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.ts';

/** Enough to see a DaemonSet spread and a pod rescheduled; each node costs KWOK almost nothing. */
const NODES = 3;

export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return startCluster(project, NODES);
}
