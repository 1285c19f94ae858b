// Vitest global setup for the `integration` project: one real control plane per test run (no
// nodes), with the project's CRDs installed. Tests find it through inject('kubeconfig') (./clients.ts).
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.ts';

export default function setup(project: TestProject): Promise<() => Promise<void>> {
  return startCluster(project, 0);
}
