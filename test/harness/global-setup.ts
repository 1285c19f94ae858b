// Vitest global setup for the integration project: one real control plane per test run, with the
// project's CRDs installed. Tests find it through inject('kubeconfig') (see ./kube.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { ControlPlane } from '../../tools/controlplane/controlplane.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started = Date.now();
  const cp = await ControlPlane.start();
  process.stderr.write(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${cp.server}\n`);
  if (existsSync('crds') && readdirSync('crds').some((f) => f.endsWith('.yaml'))) {
    const kc = ['--kubeconfig', cp.kubeconfigPath];
    execFileSync('kubectl', [...kc, 'apply', '-f', 'crds/'], { stdio: ['ignore', 'ignore', 'inherit'] });
    execFileSync('kubectl', [...kc, 'wait', '--for=condition=Established', '--timeout=60s', 'crd', '-l', 'app.kubernetes.io/part-of=hostns-operator'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  project.provide('kubeconfig', cp.kubeconfigPath);
  process.env.KUBECONFIG = cp.kubeconfigPath;
  return async () => {
    await cp.stop();
  };
}
