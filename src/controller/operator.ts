// The operator, composed: three sources (exceptions, pods, the grants singleton) in one manager,
// the trigger graph of wiring.ts, and the three reconcilers (exceptions.ts, pods.ts, grants.ts)
// whose writes writes.ts makes. Everything it decides is in those files; this one only joins them.
import type { Logger } from 'winston';
import { DateTime } from 'luxon';
import {
  EXCEPTION_PLURAL,
  GRANTS_NAME,
  GRANTS_PLURAL,
  GROUP,
  VERSION,
  type HostNamespaceException,
  type HostNamespaceGrants,
} from '../api/v1alpha1.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { GRANT_LIMITS } from '../policy/grants.ts';
import type { KubeApi } from '../kube/client.ts';
import { kubeFailure } from '../kube/errors.ts';
import type { LeaderElectionConfig } from '../kube/lease.ts';
import { toPodRecord, type PodRecord } from '../kube/pod-record.ts';
import type { RawObject, Reflector } from '../kube/reflector.ts';
import { Manager } from '../runtime/manager.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import { Caches } from './caches.ts';
import { reconcileException } from './exceptions.ts';
import { reconcileGrants } from './grants.ts';
import { keyId, laneOf, type ControllerName, type ReconcileKey } from './keys.ts';
import { reconcilePod } from './pods.ts';
import { clusterSnapshot, type ClusterSnapshot } from './snapshot.ts';
import { allKeys, onExceptionChange, onGrantsChange, onPodChange } from './wiring.ts';
import { EXCEPTIONS_PATH, GRANTS_PATH, makeWriter, writeLane, type Write } from './writes.ts';

export interface OperatorObserver {
  reconciled?(controller: ControllerName, seconds: number, error: boolean): void;
  watchRestarted?(resource: string, reason: string): void;
  eventRecorded?(reason: string, outcome: 'created' | 'exists'): void;
}

export interface OperatorOptions {
  client: KubeApi;
  policy: PolicyConfig;
  logger: Logger;
  /** reportingInstance of Events and the Lease holder identity. */
  identity: string;
  clock?: () => DateTime;
  /** Reconciles running at once (each does at most a few API calls). */
  maxConcurrentReconciles?: number;
  leaderElection?: LeaderElectionConfig;
  observer?: OperatorObserver;
  pageSize?: number;
}

/** Keeps the exception minus managedFields (a few hundred objects: the whole rest is fine). */
function toException(raw: RawObject): HostNamespaceException | undefined {
  const meta = raw.metadata as Record<string, unknown> | undefined;
  if (!meta) return undefined;
  const { managedFields: _drop, ...metadata } = meta;
  return {
    ...(raw as unknown as HostNamespaceException),
    metadata: metadata as unknown as HostNamespaceException['metadata'],
  };
}

export class Operator {
  readonly manager: Manager<ReconcileKey, Write>;
  /** What the reconcilers, /metrics and the HTTP server read. */
  readonly caches: Caches;
  /** Exceptions left out of the grants object (over its bounds), for logs and /metrics. */
  droppedGrants: string[] = [];
  private readonly client: KubeApi;
  private readonly clock: () => DateTime;
  private readonly logger: Logger;

  constructor(opts: OperatorOptions) {
    const { client, logger } = opts;
    this.client = client;
    this.logger = logger;
    this.clock = opts.clock ?? (() => DateTime.utc());
    const manager: Manager<ReconcileKey, Write> = new Manager<ReconcileKey, Write>({
      client,
      logger,
      identity: opts.identity,
      clock: this.clock,
      maxConcurrentReconciles: opts.maxConcurrentReconciles ?? 16,
      leaderElection: opts.leaderElection,
      pageSize: opts.pageSize,
      keyId,
      laneOf,
      writeLane,
      reconcile: (key, now) => this.reconcile(key, now),
      execute: (write, now) => execute(write, now),
      allKeys: () => allKeys(exceptions.store, pods.store),
      observer: {
        reconciled: (key, seconds, error) => opts.observer?.reconciled?.(key.kind, seconds, error),
        watchRestarted: (resource, reason) => opts.observer?.watchRestarted?.(resource, reason),
      },
    });
    const exceptions: Reflector<HostNamespaceException> = manager.source({
      path: EXCEPTIONS_PATH,
      resource: EXCEPTION_PLURAL,
      transform: toException,
      versionOf: (e) => e.metadata.resourceVersion,
    });
    const pods: Reflector<PodRecord> = manager.source({
      path: '/api/v1/pods',
      resource: 'pods',
      transform: toPodRecord,
      versionOf: (p) => p.resourceVersion,
    });
    const grants: Reflector<HostNamespaceGrants> = manager.source({
      path: GRANTS_PATH,
      resource: GRANTS_PLURAL,
      transform: (raw) => (raw.metadata?.name === GRANTS_NAME ? (raw as unknown as HostNamespaceGrants) : undefined),
      versionOf: (g) => g.metadata.resourceVersion,
    });
    manager.watch(exceptions, onExceptionChange(pods.store));
    manager.watch(pods, onPodChange(exceptions.store));
    manager.watch(grants, onGrantsChange);
    const execute = makeWriter({
      client,
      logger,
      identity: opts.identity,
      exceptions,
      pods,
      grants,
      eventRecorded: (reason, outcome) => opts.observer?.eventRecorded?.(reason, outcome),
    });
    this.manager = manager;
    this.caches = new Caches({
      exceptions: exceptions.store,
      pods: pods.store,
      grants: grants.store,
      policy: opts.policy,
    });
  }

  private reconcile(key: ReconcileKey, now: DateTime): ReconcileResult<Write> {
    switch (key.kind) {
      case 'exception':
        return reconcileException(key.namespace, key.name, this.caches, now);
      case 'pod':
        return reconcilePod(key.namespace, key.name, this.caches, now);
      case 'grants': {
        const { dropped, ...result } = reconcileGrants(this.caches, now);
        if (dropped.length !== this.droppedGrants.length) {
          this.logger.warn(
            'admission grants over the HostNamespaceGrants bounds: these exceptions are not honoured at admission',
            {
              dropped,
              limits: GRANT_LIMITS,
            },
          );
        }
        this.droppedGrants = dropped;
        return result;
      }
    }
  }

  /** Fails with a clear message when the CRDs are not installed (API discovery, no extra RBAC). */
  static async checkCrds(client: KubeApi): Promise<void> {
    let resources: { resources?: { name: string }[] };
    try {
      resources = await client.request('GET', `/apis/${GROUP}/${VERSION}`);
    } catch (err) {
      if (kubeFailure(err).kind === 'resource-unknown') {
        throw new Error(
          `the ${GROUP} CRDs are not installed in this cluster: ` +
            'kubectl apply -f crds/ (or kubectl apply -k config/default)',
        );
      }
      throw new Error(`cannot reach the Kubernetes API at ${client.server}: ${(err as Error).message}`);
    }
    const names = new Set((resources.resources ?? []).map((r) => r.name));
    for (const plural of [EXCEPTION_PLURAL, GRANTS_PLURAL]) {
      if (!names.has(plural)) throw new Error(`the CRD ${plural}.${GROUP} is not installed: kubectl apply -f crds/`);
    }
  }

  async start(): Promise<void> {
    await Operator.checkCrds(this.client);
    await this.manager.start();
  }

  stop(): Promise<void> {
    return this.manager.stop();
  }

  /** Resolves when no reconcile is queued or running (tests and benchmarks). */
  idle(): Promise<void> {
    return this.manager.idle();
  }

  get isLeader(): boolean {
    return this.manager.isLeader;
  }

  get isReady(): boolean {
    return this.manager.isReady;
  }

  private lastSnapshot?: { at: number; value: ClusterSnapshot };

  /**
   * Counts for /metrics, computed from the caches at scrape time. Several gauges read it in one
   * scrape: it is computed once and reused for a second.
   */
  snapshot(): ClusterSnapshot {
    const at = Date.now();
    if (this.lastSnapshot && at - this.lastSnapshot.at < 1000) return this.lastSnapshot.value;
    const value = clusterSnapshot(this.caches, this.clock());
    this.lastSnapshot = { at, value };
    return value;
  }
}
