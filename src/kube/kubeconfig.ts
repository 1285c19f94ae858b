// Standard kubeconfig handling for the operator and the CLI alike: --kubeconfig (one file), else
// KUBECONFIG (a list of files, merged as kubectl merges them), else ~/.kube/config, else
// in-cluster. client-node would silently fall back to http://localhost:8080 when there is none:
// we refuse instead, with one clear line.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { KubeConfig, type Cluster, type Context, type User } from '@kubernetes/client-node';

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

/** The files of a KUBECONFIG value, in order: empty entries and repeats dropped, as kubectl does. */
export function kubeconfigFiles(value: string, pathDelimiter = delimiter): string[] {
  return [...new Set(value.split(pathDelimiter).filter((f) => f !== ''))];
}

/**
 * Merges kubeconfig files as kubectl does (client-go's loading rules): files that do not exist are
 * skipped; for every cluster, user and context name, and for current-context, the first file that
 * sets it wins. Relative paths in each file are resolved against that file's folder.
 */
export function mergeKubeConfigFiles(files: readonly string[]): KubeConfig {
  const clusters = new Map<string, Cluster>();
  const users = new Map<string, User>();
  const contexts = new Map<string, Context>();
  let currentContext = '';
  for (const file of files) {
    if (!existsSync(file)) continue;
    const one = new KubeConfig();
    one.loadFromFile(file);
    for (const c of one.getClusters()) if (!clusters.has(c.name)) clusters.set(c.name, c);
    for (const u of one.getUsers()) if (!users.has(u.name)) users.set(u.name, u);
    for (const c of one.getContexts()) if (!contexts.has(c.name)) contexts.set(c.name, c);
    if (!currentContext) currentContext = one.getCurrentContext() ?? '';
  }
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [...clusters.values()],
    users: [...users.values()],
    contexts: [...contexts.values()],
    currentContext,
  });
  return kc;
}

export function loadKubeConfig(options: KubeConfigOptions, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = readKubeConfig(options.kubeconfig, env);
  if (options.context) {
    if (!kc.getContextObject(options.context)) throw noSuchContext(kc, options.context);
    kc.setCurrentContext(options.context);
  }
  if (!kc.getCurrentCluster())
    throw new KubeConfigError(
      'usage',
      'the kubeconfig has no current context: pass --context or run `kubectl config use-context`',
    );
  return kc;
}

/** One kubeconfig for one context, for work across clusters. */
export interface ContextConfig {
  context: string;
  kc: KubeConfig;
}

/**
 * One KubeConfig per context: the named ones (each must exist; repeats dropped), or with `all` every
 * context of the kubeconfig, in its order. A context whose cluster or user is missing is returned
 * as is: work across clusters reports it as that cluster's failure, not the whole run's.
 */
export function loadKubeConfigContexts(
  options: { kubeconfig?: string; contexts: readonly string[] | 'all' },
  env: NodeJS.ProcessEnv = process.env,
): ContextConfig[] {
  const kc = readKubeConfig(options.kubeconfig, env);
  const names = options.contexts === 'all' ? kc.getContexts().map((c) => c.name) : [...new Set(options.contexts)];
  if (names.length === 0) throw new KubeConfigError('usage', 'the kubeconfig has no contexts');
  for (const name of names) if (!kc.getContextObject(name)) throw noSuchContext(kc, name);
  return names.map((context) => {
    const one = new KubeConfig();
    one.loadFromOptions({ clusters: kc.clusters, users: kc.users, contexts: kc.contexts, currentContext: context });
    return { context, kc: one };
  });
}

function noSuchContext(kc: KubeConfig, name: string): KubeConfigError {
  const have =
    kc
      .getContexts()
      .map((c) => c.name)
      .join(', ') || 'none';
  return new KubeConfigError('usage', `--context ${name}: no such context in the kubeconfig (have: ${have})`);
}

/** --kubeconfig, else KUBECONFIG, else ~/.kube/config, else in-cluster; no context chosen yet. */
function readKubeConfig(kubeconfig: string | undefined, env: NodeJS.ProcessEnv): KubeConfig {
  const options = { kubeconfig };
  let kc = new KubeConfig();
  const listed = kubeconfigFiles(env.KUBECONFIG ?? '');
  try {
    if (options.kubeconfig) {
      if (!existsSync(options.kubeconfig))
        throw new KubeConfigError('usage', `--kubeconfig ${options.kubeconfig}: no such file`);
      kc.loadFromFile(options.kubeconfig);
    } else if (listed.length > 0) {
      if (!listed.some((f) => existsSync(f))) {
        const which = listed.length > 1 ? ' (none of them exists)' : '';
        throw new KubeConfigError('usage', `KUBECONFIG=${env.KUBECONFIG}: no such file${which}`);
      }
      kc = mergeKubeConfigFiles(listed);
    } else {
      const home = join(homedir(), '.kube', 'config');
      if (existsSync(home)) kc.loadFromFile(home);
      else if (env.KUBERNETES_SERVICE_HOST) kc.loadFromCluster();
      else {
        throw new KubeConfigError(
          'no-cluster',
          'no cluster configured: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config, or run inside a cluster',
        );
      }
    }
  } catch (err) {
    if (err instanceof KubeConfigError) throw err;
    const source = options.kubeconfig
      ? `--kubeconfig ${options.kubeconfig}`
      : listed.length
        ? `KUBECONFIG=${env.KUBECONFIG}`
        : 'the kubeconfig';
    throw new KubeConfigError('usage', `cannot read ${source}: ${(err as Error).message}`);
  }
  return kc;
}
