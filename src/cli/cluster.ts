// The CLI's contact with Kubernetes, through the operator's own client (src/kube/client.ts): the
// kubeconfig loading, paged lists (src/kube/list.ts), one merge patch, and every failure (read
// by src/kube/errors.ts) turned into one clear line with a documented exit status.
import type { KubeConfig } from '@kubernetes/client-node';
import { EXCEPTION_PLURAL, GRANT_INDEX_NAME, GRANT_INDEX_PLURAL, GROUP, VERSION } from '../api/v1alpha1.ts';
import { KubeClient, PARTIAL_METADATA_LIST } from '../kube/client.ts';
import { kubeFailure } from '../kube/errors.ts';
import {
  KubeConfigError,
  loadKubeConfig as loadSharedKubeConfig,
  loadKubeConfigContexts as loadSharedContexts,
  type ContextConfig,
} from '../kube/kubeconfig.ts';
import { listAll } from '../kube/list.ts';
import type { PodLike } from '../report/model.ts';
import type { OwnedObject } from '../report/workloads.ts';
import { ANNOTATION_POLICY_SETTINGS, readPolicySettings } from '../policy/settings.ts';
import { CliError, EXIT, oneLine } from './errors.ts';
import type { SettingsSource } from './settings.ts';

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
    if (err instanceof KubeConfigError)
      throw new CliError(err.kind === 'no-cluster' ? EXIT.cluster : EXIT.usage, err.message);
    throw err;
  }
}

/** One KubeConfig per context (--context repeated, or --all-contexts), errors as exit statuses. */
export function loadKubeConfigContexts(
  options: { kubeconfig?: string; contexts: readonly string[] | 'all' },
  env = process.env,
): ContextConfig[] {
  try {
    return loadSharedContexts(options, env);
  } catch (err) {
    if (err instanceof KubeConfigError)
      throw new CliError(err.kind === 'no-cluster' ? EXIT.cluster : EXIT.usage, err.message);
    throw err;
  }
}

/** What one cluster gave: its value, or the one-line error that kept it from answering. */
export type ClusterOutcome<T> = { context: string; server: string } & ({ value: T } | { error: CliError });

/**
 * Runs `work` on every cluster at once and waits for all: a cluster that fails (unreachable,
 * refused, CRD missing, a context naming no cluster) is an outcome, not the run's failure. Only a
 * bug (an error that is not a CliError) fails the run.
 */
export function acrossClusters<T>(
  targets: readonly ContextConfig[],
  work: (target: ContextConfig) => Promise<T>,
): Promise<ClusterOutcome<T>[]> {
  return Promise.all(
    targets.map(async (target): Promise<ClusterOutcome<T>> => {
      const cluster = target.kc.getCurrentCluster();
      const server = cluster?.server ?? '';
      try {
        if (!cluster) {
          const named = target.kc.getContextObject(target.context)?.cluster;
          const why = `the context names cluster ${JSON.stringify(named)}, which the kubeconfig does not define`;
          throw new CliError(EXIT.usage, why);
        }
        return { context: target.context, server, value: await work(target) };
      } catch (err) {
        if (err instanceof CliError) return { context: target.context, server, error: err };
        throw err;
      }
    }),
  );
}

/**
 * The exit status of work across clusters: 3 when no cluster answered (as for one cluster that
 * cannot answer), 2 when some did not (the result is incomplete; it wins over findings, as a
 * partial scan does), else 1 for findings the caller fails on, else 0.
 */
export function acrossClustersExitCode(outcomes: readonly ClusterOutcome<unknown>[], failForFindings: boolean): number {
  const failed = outcomes.filter((o) => 'error' in o).length;
  if (failed > 0 && failed === outcomes.length) return EXIT.cluster;
  if (failed > 0) return EXIT.usage;
  return failForFindings ? EXIT.findings : EXIT.ok;
}

/** A failed request as one line and the exit status that says whose problem it is. */
export function describeApiError(err: unknown, server: string, what: string, timeoutSeconds?: number): CliError {
  if (err instanceof CliError) return err;
  const f = kubeFailure(err);
  switch (f.kind) {
    case 'resource-unknown':
      return new CliError(
        EXIT.cluster,
        `${what}: the HostNamespaceException CRD (${CRD_NAME}) is not installed in the cluster at ${server} ` +
          '(kubectl apply -k config/crd)',
      );
    case 'not-found':
      return new CliError(EXIT.usage, `${what}: ${f.message}`);
    case 'unauthorized':
      return new CliError(
        EXIT.cluster,
        `${what}: the API server at ${server} did not accept our credentials (401 Unauthorized)`,
      );
    case 'forbidden':
      return new CliError(EXIT.cluster, `${what}: forbidden: ${f.message}`);
    case 'invalid':
      return new CliError(EXIT.usage, `${what}: the API refused the change: ${f.message}`);
    case 'status':
      return new CliError(EXIT.cluster, `${what}: the API server answered ${f.code}: ${f.message}`);
    case 'timeout':
      return new CliError(
        EXIT.cluster,
        `${what}: no answer from the Kubernetes API at ${server} within ${timeoutSeconds ?? '?'}s`,
      );
    case 'unreachable':
      return new CliError(EXIT.cluster, `${what}: cannot reach the Kubernetes API at ${server} (${f.detail})`);
  }
}

export class Cluster {
  readonly client: KubeClient;
  readonly timeoutSeconds: number;
  readonly chunkSize: number;
  constructor(kc: KubeConfig, timeoutSeconds: number, chunkSize = DEFAULT_CHUNK_SIZE) {
    this.client = new KubeClient(kc);
    this.timeoutSeconds = timeoutSeconds;
    this.chunkSize = chunkSize;
  }

  /** Closes this cluster's connections (src/kube/client.ts close()). */
  close(): Promise<void> {
    return this.client.close();
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw describeApiError(err, this.client.server, what, this.timeoutSeconds);
    }
  }

  /** Every item of a collection, in pages; the timeout applies per page (a big cluster may take longer in all). */
  private list<T>(path: string, what: string): Promise<T[]> {
    return this.call(what, () =>
      listAll<T>(this.client, path, { pageSize: this.chunkSize, timeoutMs: this.timeoutSeconds * 1000 }),
    );
  }

  /**
   * The ReplicaSets and Jobs of one namespace (or all), metadata only: their controllers attribute
   * pods to Deployments and CronJobs (src/report/workloads.ts controllersOf). Without the right to
   * list them, pods stay attributed to the ReplicaSet or Job, and a warning says so.
   */
  async listControllers(
    namespace: string | undefined,
  ): Promise<{ controllers: { kind: string; object: OwnedObject }[]; warnings: string[] }> {
    const warnings: string[] = [];
    const listed = async (group: string, plural: string, kind: string, parent: string) => {
      const path = namespace ? `/apis/${group}/namespaces/${namespace}/${plural}` : `/apis/${group}/${plural}`;
      try {
        const objects = await listAll<OwnedObject>(this.client, path, {
          pageSize: this.chunkSize,
          timeoutMs: this.timeoutSeconds * 1000,
          accept: PARTIAL_METADATA_LIST,
        });
        return objects.map((object) => ({ kind, object }));
      } catch (err) {
        if (kubeFailure(err).kind !== 'forbidden') throw describeApiError(err, this.client.server, `listing ${plural}`);
        warnings.push(`cannot list ${plural} (forbidden): their pods are grouped by ${kind}, not by ${parent}`);
        return [];
      }
    };
    const [replicaSets, jobs] = await Promise.all([
      listed('apps/v1', 'replicasets', 'ReplicaSet', 'Deployment'),
      listed('batch/v1', 'jobs', 'Job', 'CronJob'),
    ]);
    return { controllers: [...replicaSets, ...jobs], warnings };
  }

  /** Pods of one namespace, or of all when namespace is undefined. */
  listPods(namespace: string | undefined): Promise<PodLike[]> {
    return this.list(namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods', 'listing pods');
  }

  /**
   * The operator's policy settings, from the grant index. Never fails: what keeps them from being
   * read is the answer (a cluster that cannot answer at all fails the lists made beside it).
   */
  async operatorSettings(): Promise<SettingsSource> {
    const index = `HostNamespaceGrantIndex ${GRANT_INDEX_NAME}`;
    let object: unknown;
    try {
      object = await this.client.request('GET', `/apis/${GROUP}/${VERSION}/${GRANT_INDEX_PLURAL}/${GRANT_INDEX_NAME}`, {
        timeoutMs: this.timeoutSeconds * 1000,
      });
    } catch (err) {
      const f = kubeFailure(err);
      const why =
        f.kind === 'not-found'
          ? `no ${index}: the operator has not run in this cluster`
          : f.kind === 'forbidden'
            ? `not allowed to read ${index} (get hostnamespacegrantindexes, in the hostns-exception-viewer role)`
            : f.kind === 'resource-unknown'
              ? `the ${GRANT_INDEX_PLURAL}.${GROUP} CRD is not installed: no operator runs in this cluster`
              : describeApiError(err, this.client.server, `reading ${index}`, this.timeoutSeconds).message;
      return { kind: 'unavailable', why };
    }
    const metadata = (object as { metadata?: { annotations?: Record<string, unknown> } } | undefined)?.metadata;
    const read = readPolicySettings(
      typeof metadata?.annotations === 'object' ? metadata.annotations?.[ANNOTATION_POLICY_SETTINGS] : undefined,
    );
    switch (read.kind) {
      case 'published':
        return { kind: 'operator', read };
      case 'absent':
        return {
          kind: 'unavailable',
          why: `the operator has not published its settings on ${index} (not run since installed or upgraded)`,
        };
      case 'invalid':
        return {
          kind: 'unavailable',
          why: `${ANNOTATION_POLICY_SETTINGS} on ${index} ignored: ${oneLine(read.problem)}`,
        };
    }
  }

  listNetworkPolicies(namespace: string | undefined): Promise<Record<string, unknown>[]> {
    const base = '/apis/networking.k8s.io/v1';
    return this.list(
      namespace ? `${base}/namespaces/${namespace}/networkpolicies` : `${base}/networkpolicies`,
      'listing NetworkPolicies',
    );
  }

  listExceptions(namespace: string | undefined): Promise<Record<string, unknown>[]> {
    const base = `/apis/${GROUP}/${VERSION}`;
    return this.list(
      namespace ? `${base}/namespaces/${namespace}/${EXCEPTION_PLURAL}` : `${base}/${EXCEPTION_PLURAL}`,
      'listing HostNamespaceExceptions',
    );
  }

  /** JSON merge patch of the exception's spec.review; returns the updated object. */
  markReviewed(
    namespace: string,
    name: string,
    review: { lastReviewedAt: string; reviewedBy: string },
  ): Promise<Record<string, unknown>> {
    return this.call(`recording the review on ${namespace}/${name}`, () =>
      this.client.request<Record<string, unknown>>(
        'PATCH',
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${EXCEPTION_PLURAL}/${name}`,
        {
          body: { spec: { review } },
          contentType: 'application/merge-patch+json',
          timeoutMs: this.timeoutSeconds * 1000,
        },
      ),
    );
  }
}
