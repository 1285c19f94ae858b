// The operator, composed: five sources (exceptions, pods, namespaces, each namespace's grants
// object, the grant index) in one manager, the trigger graph of wiring.ts, and the reconcilers
// (exceptions.ts, pods.ts, grants.ts) whose writes writes.ts makes. Everything it decides is in
// those files; this one only joins them, and keeps the one fact no cache holds: which grants
// writes are failing.
import type { Logger } from 'winston';
import { DateTime } from 'luxon';
import {
  EXCEPTION_PLURAL,
  GRANT_INDEX_NAME,
  GRANT_INDEX_PLURAL,
  GRANTS_NAME,
  GRANTS_PLURAL,
  GROUP,
  VERSION,
  type HostNamespaceException,
  type HostNamespaceGrantIndex,
  type HostNamespaceGrantSet,
} from '../api/v1alpha1.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { GRANT_LIMITS } from '../policy/grants.ts';
import type { KubeApi } from '../kube/client.ts';
import { kubeFailure } from '../kube/errors.ts';
import { classifyApiError } from '../kube/api-errors.ts';
import type { ElectionClocks, LeaderElectionConfig } from '../kube/lease.ts';
import { samePodFacts, toPodRecord, type PodRecord } from '../kube/pod-record.ts';
import { toOwnedRecord, type OwnedRecord } from '../kube/owner-record.ts';
import { toRefusalRecord, type RefusalRecord } from '../kube/refusal-record.ts';
import {
  toWorkloadEventRecord,
  WORKLOAD_EVENTS_FIELD_SELECTOR,
  type WorkloadEventRecord,
} from '../kube/workload-event-record.ts';
import type { RawObject, Reflector, WatchEventEffect } from '../kube/reflector.ts';
import { Manager } from '../runtime/manager.ts';
import { TerminalError, type ReconcileResult } from '../runtime/result.ts';
import { Caches, type NamespaceRecord } from './caches.ts';
import type { ExceptionNamespaces } from '../policy/namespaces.ts';
import { toNetworkPolicyRecord, type NetworkPolicyRecord } from '../policy/network.ts';
import { reconcileException } from './exceptions.ts';
import { reconcileGrantIndex, reconcileGrants } from './grants.ts';
import { GrantsWriteError, type GrantsWriteFailure } from './grants-writer.ts';
import { controllerOf, exceptionKey, keyId, LANE, laneOf, type ControllerName, type ReconcileKey } from './keys.ts';
import { reconcilePod } from './pods.ts';
import { reconcileRefusal } from './refusals.ts';
import { reconcileReport, REPORT_API_VERSION, REPORT_NAME, REPORT_PLURAL, type Report } from './reports.ts';
import { clusterSnapshot, type ClusterSnapshot } from './snapshot.ts';
import {
  allKeys,
  onExceptionChange,
  onGrantIndexChange,
  onGrantsChange,
  onNamespaceChange,
  onNetworkPolicyChange,
  onPodChange,
  onRefusalChange,
  allReportKeys,
  onExceptionChangeForReport,
  onPodChangeForReport,
  onReportChange,
} from './wiring.ts';
import { EXCEPTIONS_PATH, makeWriter, writeLane, type Write } from './writes.ts';

export interface OperatorObserver {
  reconciled?(controller: ControllerName, seconds: number, error: boolean): void;
  watchRestarted?(resource: string, reason: string): void;
  listed?(resource: string, seconds: number, objects: number): void;
  /** One watch event, by what it did to the cache (a pod's status update: `unchanged`). */
  watchEvent?(resource: string, effect: WatchEventEffect): void;
  /** Reconciles a change of `resource` asked for (before the queue coalesces them). */
  reconcilesRequested?(resource: string, count: number): void;
  eventRecorded?(reason: string, outcome: 'created' | 'exists'): void;
  /** An Event refused for good by the API (the writes after it went on). */
  eventWriteFailed?(reason: string): void;
  /** Our marks on a pod refused for good (the labels may have been written alone). */
  podMarksWriteFailed?(reason: string): void;
  /** A grants object was written (or found current: `failure` undefined) or failed to be. */
  grantsWritten?(failure: GrantsWriteFailure | undefined): void;
  /** A write failed: its kind (Write['kind']) and the API's reason (classifyApiError). */
  writeFailed?(kind: string, reason: string): void;
}

export interface OperatorOptions {
  client: KubeApi;
  policy: PolicyConfig;
  logger: Logger;
  /** reportingInstance of Events and the Lease holder identity. */
  identity: string;
  /**
   * The clock every decision, timer and Event time is on. main.ts gives the API server's
   * (KubeClient.serverNow): admission compares expiresAt with creationTimestamp on that clock.
   */
  clock?: () => DateTime;
  /** Reconciles running at once (each does at most a few API calls). */
  maxConcurrentReconciles?: number;
  leaderElection?: LeaderElectionConfig;
  /** The elector's clocks (tests inject them). */
  electionClocks?: ElectionClocks;
  observer?: OperatorObserver;
  pageSize?: number;
  /** Publish one OpenReports Report per namespace (main.ts turns it on only when the CRD is there). */
  policyReports?: boolean;
  /** Exceptions may exist only in namespaces with this label (--exception-namespace-label); else anywhere. */
  exceptionNamespaces?: ExceptionNamespaces;
}

const GRANTS_PATH = `/apis/${GROUP}/${VERSION}/${GRANTS_PLURAL}`;

/** The label of a failed write in hostns_write_failures_total: the API's reason, or the network's. */
function failureReason(err: unknown): string {
  if (err instanceof GrantsWriteError) return err.failure;
  const cause = err instanceof TerminalError && err.cause !== undefined ? err.cause : err;
  return classifyApiError(cause).reason;
}

/** Namespace -> record, keeping of its labels only the exception-namespace label's value (`labelKey`). */
function toNamespaceRecord(labelKey: string | undefined) {
  return (raw: RawObject): NamespaceRecord | undefined => {
    const meta = raw.metadata as
      | {
          name?: string;
          resourceVersion?: string;
          creationTimestamp?: string;
          deletionTimestamp?: string;
          labels?: Record<string, unknown>;
        }
      | undefined;
    if (!meta?.name) return undefined;
    const label = labelKey === undefined ? undefined : meta.labels?.[labelKey];
    return {
      name: meta.name,
      resourceVersion: meta.resourceVersion ?? '',
      creationTimestamp: meta.creationTimestamp ?? '',
      terminating: !!meta.deletionTimestamp,
      ...(typeof label === 'string' ? { exceptionsLabel: label } : {}),
    };
  };
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
  /** Exceptions left out of each namespace's grants object (over its budget), comma-separated. */
  private readonly overBudget = new Map<string, string>();
  /** The last failed write of each namespace's grants object (cleared by a successful one). */
  private readonly grantsWriteErrors = new Map<string, string>();
  /** When a grants write last succeeded (or found the object current), epoch seconds. */
  lastGrantsSuccess = 0;
  private readonly client: KubeApi;
  private readonly clock: () => DateTime;
  private readonly logger: Logger;
  /** This replica (opts.identity). */
  private readonly identity: string;
  /** Our Reports as last observed (with policyReports). */
  private readonly reports?: Reflector<Report>;

  constructor(opts: OperatorOptions) {
    const { client, logger } = opts;
    this.client = client;
    this.logger = logger;
    this.identity = opts.identity;
    this.clock = opts.clock ?? (() => DateTime.utc());
    const manager: Manager<ReconcileKey, Write> = new Manager<ReconcileKey, Write>({
      client,
      logger,
      identity: opts.identity,
      clock: this.clock,
      maxConcurrentReconciles: opts.maxConcurrentReconciles ?? 16,
      leaderElection: opts.leaderElection,
      electionClocks: opts.electionClocks,
      pageSize: opts.pageSize,
      keyId,
      laneOf,
      writeLane,
      reconcile: (key, now) => this.reconcile(key, now),
      execute: (write, now, bounds) => execute(write, now, bounds),
      allKeys: () => {
        const keys = allKeys(exceptions.store, pods.store, namespaces.store, grants.store, refusals.store);
        return reports ? [...keys, ...allReportKeys(namespaces.store, reports.store)] : keys;
      },
      observer: {
        reconciled: (key, seconds, error) => opts.observer?.reconciled?.(controllerOf(key), seconds, error),
        watchRestarted: (resource, reason) => opts.observer?.watchRestarted?.(resource, reason),
        listed: (resource, seconds, objects) => opts.observer?.listed?.(resource, seconds, objects),
        watchEvent: (resource, effect) => opts.observer?.watchEvent?.(resource, effect),
        requested: (resource, count) => opts.observer?.reconcilesRequested?.(resource, count),
        writeFailed: (write, err) => opts.observer?.writeFailed?.(write.kind, failureReason(err)),
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
      // A status update (probes, IPs, conditions) changes no fact kept: no reconcile, no write.
      unchanged: samePodFacts,
    });
    const grants: Reflector<HostNamespaceGrantSet> = manager.source({
      path: GRANTS_PATH,
      resource: GRANTS_PLURAL,
      transform: (raw) => (raw.metadata?.name === GRANTS_NAME ? (raw as unknown as HostNamespaceGrantSet) : undefined),
      versionOf: (g) => g.metadata.resourceVersion,
    });
    const namespaces: Reflector<NamespaceRecord> = manager.source({
      path: '/api/v1/namespaces',
      resource: 'namespaces',
      transform: toNamespaceRecord(opts.exceptionNamespaces?.key),
      versionOf: (n) => n.resourceVersion,
    });
    const grantIndex: Reflector<HostNamespaceGrantIndex> = manager.source({
      path: `/apis/${GROUP}/${VERSION}/${GRANT_INDEX_PLURAL}`,
      resource: GRANT_INDEX_PLURAL,
      transform: (raw) =>
        raw.metadata?.name === GRANT_INDEX_NAME ? (raw as unknown as HostNamespaceGrantIndex) : undefined,
      versionOf: (g) => g.metadata.resourceVersion,
    });
    const networkPolicies: Reflector<NetworkPolicyRecord> = manager.source({
      path: '/apis/networking.k8s.io/v1/networkpolicies',
      resource: 'networkpolicies',
      transform: toNetworkPolicyRecord,
      versionOf: (n) => n.resourceVersion,
    });
    // Who owns each ReplicaSet and Job, from metadata alone: what attributes a pod to its Deployment
    // or CronJob. Their changes queue nothing: attribution is read when a pod is reconciled.
    const replicaSets: Reflector<OwnedRecord> = manager.source({
      path: '/apis/apps/v1/replicasets',
      resource: 'replicasets',
      transform: toOwnedRecord,
      metadataOnly: true,
    });
    const jobs: Reflector<OwnedRecord> = manager.source({
      path: '/apis/batch/v1/jobs',
      resource: 'jobs',
      transform: toOwnedRecord,
      metadataOnly: true,
    });
    // Pod creations our admission policy refused (the workload controllers' FailedCreate Events),
    // to link each to the lapsed exception on the workload. Only those are cached.
    const refusals: Reflector<RefusalRecord> = manager.source({
      path: '/api/v1/events',
      resource: 'events',
      selector: { fieldSelector: 'reason=FailedCreate' },
      transform: toRefusalRecord,
      versionOf: (r) => r.resourceVersion,
    });
    // Which of our Events on workloads exist (names only, metadata-only watch): a restart or a new
    // leader sends none of them again. Their changes queue nothing: an Event gone (expired) is raised
    // again by the next refusal or offending pod that plans it.
    const workloadEvents: Reflector<WorkloadEventRecord> = manager.source({
      path: '/api/v1/events',
      resource: 'workload-events',
      selector: { fieldSelector: WORKLOAD_EVENTS_FIELD_SELECTOR },
      transform: toWorkloadEventRecord,
      metadataOnly: true,
    });
    manager.watch(refusals, onRefusalChange);
    manager.watch(exceptions, onExceptionChange(pods.store));
    manager.watch(networkPolicies, onNetworkPolicyChange(exceptions.store, pods.store));
    manager.watch(pods, onPodChange(exceptions.store));
    manager.watch(grants, onGrantsChange(exceptions.store));
    manager.watch(namespaces, onNamespaceChange(exceptions.store, pods.store));
    manager.watch(namespaces, (c) => {
      // A namespace gone takes its write failures and budget report with it.
      if (!c.obj) {
        this.grantsWriteErrors.delete(c.key);
        this.overBudget.delete(c.key);
      }
      return [];
    });
    manager.watch(grantIndex, onGrantIndexChange);
    const reports = opts.policyReports
      ? manager.source<Report>({
          path: `/apis/${REPORT_API_VERSION}/${REPORT_PLURAL}`,
          resource: REPORT_PLURAL,
          // other tools' Reports are not ours to cache
          transform: (raw) => (raw.metadata?.name === REPORT_NAME ? (raw as unknown as Report) : undefined),
          versionOf: (r) => r.metadata.resourceVersion,
        })
      : undefined;
    if (reports) {
      manager.watch(exceptions, onExceptionChangeForReport);
      manager.watch(pods, onPodChangeForReport);
      manager.watch(reports, onReportChange);
    }
    this.reports = reports;
    const execute = makeWriter({
      client,
      logger,
      identity: opts.identity,
      exceptions,
      pods,
      grants,
      grantIndex,
      reports,
      workloadEvents,
      eventRecorded: (reason, outcome) => opts.observer?.eventRecorded?.(reason, outcome),
      eventWriteFailed: (reason) => opts.observer?.eventWriteFailed?.(reason),
      podMarksWriteFailed: (reason) => opts.observer?.podMarksWriteFailed?.(reason),
      grantsWritten: (namespace, failure, error) => {
        opts.observer?.grantsWritten?.(failure);
        if (!failure) this.lastGrantsSuccess = Date.now() / 1000;
        // A conflict only means our cache was behind; the retry follows at once.
        if (namespace === undefined || failure === 'Conflict') return;
        const previous = this.grantsWriteErrors.get(namespace);
        if (failure) this.grantsWriteErrors.set(namespace, error ?? failure);
        else this.grantsWriteErrors.delete(namespace);
        // The exceptions there are (or are no longer) not enforced: their status says so.
        if (previous !== this.grantsWriteErrors.get(namespace)) this.requeueStatuses(namespace);
      },
    });
    this.manager = manager;
    this.caches = new Caches({
      exceptions: exceptions.store,
      pods: pods.store,
      grants: grants.store,
      namespaces: namespaces.store,
      grantIndex: grantIndex.store,
      replicaSets: replicaSets.store,
      jobs: jobs.store,
      refusals: refusals.store,
      workloadEvents: workloadEvents.store,
      grantsWriteErrors: this.grantsWriteErrors,
      policy: opts.policy,
      networkPolicies: networkPolicies.store,
      exceptionNamespaces: opts.exceptionNamespaces,
    });
  }

  private reconcile(key: ReconcileKey, now: DateTime): ReconcileResult<Write> {
    switch (key.kind) {
      case 'exception':
        return reconcileException(key.namespace, key.name, this.caches, now);
      case 'pod':
        return reconcilePod(key.namespace, key.name, this.caches, now);
      case 'grants': {
        const { overBudget, ...result } = reconcileGrants(key.namespace, this.caches, now);
        this.reportOverBudget(key.namespace, overBudget);
        return result;
      }
      case 'grantIndex':
        return reconcileGrantIndex(this.caches, now, this.identity);
      case 'report':
        return this.reports ? reconcileReport(key.namespace, this.caches, this.reports.store, now) : { writes: [] };
      case 'refusal':
        return reconcileRefusal(key.namespace, key.name, this.caches, now);
    }
  }

  /** Who is left out changed, maybe with no change to any object: the exceptions' statuses say so. */
  private reportOverBudget(namespace: string, overBudget: readonly string[]): void {
    const joined = overBudget.join(',');
    if (joined === (this.overBudget.get(namespace) ?? '')) return;
    if (joined) this.overBudget.set(namespace, joined);
    else this.overBudget.delete(namespace);
    this.requeueStatuses(namespace);
    if (joined) {
      this.logger.warn('namespace over its grants budget: these exceptions are not honoured at admission', {
        namespace,
        exceptions: overBudget,
        limits: GRANT_LIMITS,
      });
    }
  }

  private requeueStatuses(namespace: string): void {
    if (!this.manager.isLeader) return;
    for (const e of this.caches.exceptions.keysIn(namespace)) this.manager.queue.add(exceptionKey(e), LANE.status);
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
          { cause: err },
        );
      }
      throw new Error(`cannot reach the Kubernetes API at ${client.server}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const names = new Set((resources.resources ?? []).map((r) => r.name));
    for (const plural of [EXCEPTION_PLURAL, GRANTS_PLURAL, GRANT_INDEX_PLURAL]) {
      if (!names.has(plural)) throw new Error(`the CRD ${plural}.${GROUP} is not installed: kubectl apply -f crds/`);
    }
  }

  /** Whether the OpenReports Report CRD is served (API discovery). */
  static async policyReportsServed(client: KubeApi): Promise<boolean> {
    try {
      const found = await client.request<{ resources?: { name: string }[] }>('GET', `/apis/${REPORT_API_VERSION}`);
      return (found.resources ?? []).some((r) => r.name === REPORT_PLURAL);
    } catch (err) {
      if (kubeFailure(err).kind === 'resource-unknown') return false;
      throw err;
    }
  }

  /** `prerequisite`: what must be done before the first decision, run while the caches list. */
  async start(prerequisite?: Promise<void>): Promise<void> {
    await Operator.checkCrds(this.client);
    await this.manager.start(prerequisite);
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
