// Standard kubeconfig handling for the operator and the CLI alike: --kubeconfig, else KUBECONFIG
// (colon-separated list), else ~/.kube/config, else in-cluster. client-node would silently fall
// back to http://localhost:8080 when there is none: we refuse instead, with one clear line.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export class KubeConfigError extends Error {
  /** `no-cluster`: nothing configured at all; `usage`: a flag or file is wrong. */
  readonly kind: 'no-cluster' | 'usage';
  constructor(kind: 'no-cluster' | 'usage', message: string) {
    super(message);
    this.name = 'KubeConfigError';
    this.kind = kind;
  }
}

export interface KubeConfigOptions {
  kubeconfig?: string;
  context?: string;
}

export function loadKubeConfig(options: KubeConfigOptions, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) {
      if (!existsSync(options.kubeconfig)) throw new KubeConfigError('usage', `--kubeconfig ${options.kubeconfig}: no such file`);
      kc.loadFromFile(options.kubeconfig);
    } else {
      const sources = Boolean(env.KUBECONFIG) || existsSync(join(homedir(), '.kube', 'config')) || Boolean(env.KUBERNETES_SERVICE_HOST);
      if (!sources) {
        throw new KubeConfigError('no-cluster', 'no cluster configured: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run inside a cluster');
      }
      kc.loadFromDefault();
    }
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    const source = options.kubeconfig ? `--kubeconfig ${options.kubeconfig}` : env.KUBECONFIG ? `KUBECONFIG=${env.KUBECONFIG}` : 'the kubeconfig';
    throw new KubeConfigError('usage', `cannot read ${source}: ${(err as Error).message}`);
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      throw new KubeConfigError('usage', `--context ${options.context}: no such context in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    }
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster()) throw new KubeConfigError('usage', 'the kubeconfig has no current context: pass --context or run `kubectl config use-context`');
  return kc;
}
