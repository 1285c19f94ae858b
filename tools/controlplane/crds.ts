// The project's CRDs on a cluster: what the dev cluster, the test harness and the bench each need
// before anything else. kubectl's errors go to stderr.
import { execFileSync } from 'node:child_process';

/** Applies `dir` (crds/) and waits until the operator's CRDs are Established. */
export function installCrds(kubeconfig: string, dir = 'crds/'): void {
  const kc = ['--kubeconfig', kubeconfig];
  const stdio: ['ignore', 'ignore', 'inherit'] = ['ignore', 'ignore', 'inherit'];
  execFileSync('kubectl', [...kc, 'apply', '-f', dir], { stdio });
  execFileSync(
    'kubectl',
    [
      ...kc,
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '-l',
      'app.kubernetes.io/part-of=hostns-operator',
    ],
    { stdio },
  );
}
