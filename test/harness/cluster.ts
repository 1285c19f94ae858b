// Starts the cluster a vitest project's integration tests share (see the global setups) and
// installs the project's CRDs.
import { existsSync, readdirSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { ControlPlane } from '../../tools/controlplane/controlplane.ts';
import { installCrds } from '../../tools/controlplane/crds.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    /** Simulated nodes in the cluster: 0 for the control plane only (no scheduler, no kubelets). */
    nodes: number;
  }
}

export async function startCluster(project: TestProject, nodes: number): Promise<() => Promise<void>> {
  const started = Date.now();
  const cp = await ControlPlane.start({ nodes });
  const what = nodes ? `cluster with ${nodes} nodes` : 'control plane';
  process.stderr.write(`${what} ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cp.server}\n`);
  if (existsSync('crds') && readdirSync('crds').some((f) => f.endsWith('.yaml'))) {
    installCrds(cp.kubeconfigPath);
  }
  project.provide('kubeconfig', cp.kubeconfigPath);
  project.provide('nodes', nodes);
  // Child processes that read KUBECONFIG find the no-nodes control plane, as before the nodes
  // project existed; nodes-mode tests always pass kubeconfigPath().
  if (!nodes) process.env.KUBECONFIG = cp.kubeconfigPath;
  return async () => {
    await cp.stop();
  };
}
