// The CLI's only contact with Kubernetes: kubeconfig loading, paged lists, one merge patch, and
// turning every failure into one clear line with a documented exit status.
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { EXCEPTION_PLURAL, GROUP, VERSION } from '../api/v1alpha1.ts';
import { KubeConfigError, loadKubeConfig as loadSharedKubeConfig } from '../kube/kubeconfig.ts';
import type { PodLike } from '../report/model.ts';
import { CliError, EXIT } from './errors.ts';

export interface KubeOptions {
  kubeconfig?: string;
  context?: string;
}

const CRD_NAME = `${EXCEPTION_PLURAL}.${GROUP}`;
/** kubectl's default --chunk-size. */
export const DEFAULT_CHUNK_SIZE = 500;

/** The shared kubeconfig loading (src/kube/kubeconfig.ts), its errors as CLI exit statuses. */
export function loadKubeConfig(options: KubeOptions, env = process.env): KubeConfig {
  try {
    return loadSharedKubeConfig(options, env);
  } catch (err) {
    if (err instanceof KubeConfigError) throw new CliError(err.kind === 'no-cluster' ? EXIT.cluster : EXIT.usage, err.message);
    throw err;
  }
}

/** Calls the API; every failure becomes a CliError with one readable line. */
async function call<T>(kc: KubeConfig, timeoutSeconds: number, what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CliError(EXIT.cluster, `${what}: no answer from the Kubernetes API at ${kc.getCurrentCluster()?.server} within ${timeoutSeconds}s`)),
      timeoutSeconds * 1000,
    );
  });
  try {
    return await Promise.race([fn(), timeout]);
  } catch (err) {
    throw describeApiError(err, kc, what);
  } finally {
    clearTimeout(timer);
  }
}

interface StatusBody {
  kind?: string;
  message?: string;
  reason?: string;
  details?: { name?: string; kind?: string };
}

function statusOf(err: ApiException<unknown>): StatusBody {
  const body = err.body;
  if (body && typeof body === 'object') return body as StatusBody;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as StatusBody;
    } catch {
      return { message: body.trim() };
    }
  }
  return {};
}

export function describeApiError(err: unknown, kc: KubeConfig, what: string): CliError {
  if (err instanceof CliError) return err;
  const server = kc.getCurrentCluster()?.server ?? '(unknown server)';
  if (err instanceof ApiException) {
    const status = statusOf(err);
    if (err.code === 404 && status.kind !== 'Status') {
      // not a Status object: the resource itself is unknown to the API server
      return new CliError(EXIT.cluster, `${what}: the HostNamespaceException CRD (${CRD_NAME}) is not installed in the cluster at ${server} (kubectl apply -k config/crd)`);
    }
    if (err.code === 404 && status.details?.name) {
      return new CliError(EXIT.usage, `${what}: ${status.message ?? 'not found'}`);
    }
    if (err.code === 404) {
      return new CliError(EXIT.cluster, `${what}: the HostNamespaceException CRD (${CRD_NAME}) is not installed in the cluster at ${server} (kubectl apply -k config/crd)`);
    }
    if (err.code === 401) return new CliError(EXIT.cluster, `${what}: the API server at ${server} did not accept our credentials (401 Unauthorized)`);
    if (err.code === 403) return new CliError(EXIT.cluster, `${what}: forbidden: ${status.message ?? 'RBAC refused the request'}`);
    if (err.code === 422 || err.code === 400) return new CliError(EXIT.usage, `${what}: the API refused the change: ${status.message ?? err.message}`);
    return new CliError(EXIT.cluster, `${what}: the API server answered ${err.code}: ${status.message ?? 'no message'}`);
  }
  const e = err as { code?: string; cause?: { code?: string; message?: string }; message?: string };
  const code = e.cause?.code ?? e.code;
  const detail = code ?? e.cause?.message ?? e.message ?? String(err);
  return new CliError(EXIT.cluster, `${what}: cannot reach the Kubernetes API at ${server} (${detail})`);
}

export interface ContinueList<T> {
  items: T[];
  metadata?: { _continue?: string; continue?: string };
}

/** Follows `continue` tokens until the list is complete, so big clusters are read in pages. */
async function listAll<T>(fetchPage: (token: string | undefined) => Promise<ContinueList<T>>): Promise<T[]> {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    all.push(...(page.items ?? []));
    token = page.metadata?._continue ?? page.metadata?.continue ?? undefined;
  } while (token);
  return all;
}

export class Cluster {
  readonly kc: KubeConfig;
  readonly timeoutSeconds: number;
  readonly chunkSize: number;
  constructor(kc: KubeConfig, timeoutSeconds: number, chunkSize = DEFAULT_CHUNK_SIZE) {
    this.kc = kc;
    this.timeoutSeconds = timeoutSeconds;
    this.chunkSize = chunkSize;
  }

  /** Pods of one namespace, or of all when namespace is undefined. */
  async listPods(namespace: string | undefined): Promise<PodLike[]> {
    const api = this.kc.makeApiClient(CoreV1Api);
    // the timeout applies per page: a big cluster may take longer in all
    return listAll<PodLike>((token) =>
      call(this.kc, this.timeoutSeconds, 'listing pods', async () =>
        (namespace
          ? await api.listNamespacedPod({ namespace, limit: this.chunkSize, _continue: token })
          : await api.listPodForAllNamespaces({ limit: this.chunkSize, _continue: token })) as unknown as ContinueList<PodLike>,
      ),
    );
  }

  async listExceptions(namespace: string | undefined): Promise<Record<string, unknown>[]> {
    const api = this.kc.makeApiClient(CustomObjectsApi);
    const base = { group: GROUP, version: VERSION, plural: EXCEPTION_PLURAL, limit: this.chunkSize };
    return listAll<Record<string, unknown>>((token) =>
      call(this.kc, this.timeoutSeconds, 'listing HostNamespaceExceptions', async () =>
        namespace
          ? await api.listNamespacedCustomObject({ ...base, namespace, _continue: token })
          : await api.listClusterCustomObject({ ...base, _continue: token }),
      ),
    );
  }

  /** JSON merge patch of the exception's spec.review; returns the updated object. */
  async markReviewed(namespace: string, name: string, review: { lastReviewedAt: string; reviewedBy: string }): Promise<Record<string, unknown>> {
    const api = this.kc.makeApiClient(CustomObjectsApi);
    return call(this.kc, this.timeoutSeconds, `recording the review on ${namespace}/${name}`, () =>
      api.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural: EXCEPTION_PLURAL, namespace, name, body: { spec: { review } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      ),
    );
  }
}
