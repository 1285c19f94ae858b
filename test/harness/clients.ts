// Clients for integration tests: the run's control plane (kubeconfig, typed APIs), a namespace per test,
// kubectl as a user runs it.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { AppsV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

export function kubeconfigPath(): string {
  const path = inject('kubeconfig');
  if (!path) throw new Error('no control plane: integration tests run under test/harness/global-setup.ts');
  return path;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export function core(): CoreV1Api {
  return kubeConfig().makeApiClient(CoreV1Api);
}

export function customObjects(): CustomObjectsApi {
  return kubeConfig().makeApiClient(CustomObjectsApi);
}

export function apps(): AppsV1Api {
  return kubeConfig().makeApiClient(AppsV1Api);
}

export function batch(): BatchV1Api {
  return kubeConfig().makeApiClient(BatchV1Api);
}

/** Simulated nodes in the run's cluster: 0 without nodes (integration project). */
export function clusterNodes(): number {
  return inject('nodes') ?? 0;
}

/**
 * A fresh namespace for one test (namespaces are never reused, the control plane is per run).
 * With nodes, waits for its `default` ServiceAccount: the ServiceAccount admission plugin is on
 * there and refuses pods until the controller has created it.
 */
export async function createNamespace(prefix = 'it', labels: Record<string, string> = {}): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`.slice(0, 63);
  await core().createNamespace({ body: { metadata: { name, labels } } });
  if (clusterNodes() > 0) {
    const account = () => core().readNamespacedServiceAccount({ namespace: name, name: 'default' });
    await eventually(account, 30_000, `ServiceAccount ${name}/default`);
  }
  return name;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against the run's control plane. Never throws on a non-zero exit. */
export function kubectl(args: string[], input?: string, env: Record<string, string> = {}): KubectlResult {
  const r = spawnSync('kubectl', ['--kubeconfig', kubeconfigPath(), ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/**
 * A kubeconfig file at `file` for ServiceAccount `namespace/name` (a fresh token; the account and
 * its bindings are the caller's), to test what its rights allow.
 */
export function serviceAccountKubeconfig(namespace: string, name: string, file: string): string {
  const token = kubectl(['create', 'token', name, '-n', namespace]).stdout.trim();
  const admin = kubectl(['config', 'view', '--raw', '--minify', '-o', 'json']);
  const cfg = JSON.parse(admin.stdout) as {
    clusters: unknown[];
    contexts: { name: string; context: { cluster: string } }[];
  };
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: cfg.clusters,
      users: [{ name, user: { token } }],
      contexts: [{ name, context: { cluster: cfg.contexts[0]!.context.cluster, user: name } }],
      'current-context': name,
    }),
    { mode: 0o600 },
  );
  return file;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
