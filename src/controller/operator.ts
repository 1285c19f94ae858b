// The operator: four reflectors (exceptions, pods, namespaces, the per-namespace grants objects)
// feed one keyed work queue; each key is reconciled level-based from the caches and only the
// difference is written.
//
//   e:<ns>/<name>  exception -> lifecycle Events, a timer for its next transition   (lane 0)
//   s:<ns>/<name>  exception -> status                                             (lane 1)
//   g:<ns>         grants    -> that namespace's admission param object           (lane 1)
//   i              index     -> which namespaces have their grants object         (lane 1)
//   p:<ns>/<name>  pod       -> our labels/annotations, a HostNamespaceViolation Event (lane 2)
// Lanes: when many exceptions lapse at once, every Expired Event leaves before any status write,
// and those before the pod relabels the lapses trigger.
import type { Logger } from 'winston';
import { DateTime } from 'luxon';
import {
  API_VERSION,
  GRANT_INDEX_NAME,
  GRANT_INDEX_PLURAL,
  GRANTS_NAME,
  GRANTS_PLURAL,
  EXCEPTION_KIND,
  EXCEPTION_PLURAL,
  GROUP,
  LABEL_VIOLATION,
  VERSION,
  type AnnouncedEvents,
  type ExceptionPhase,
  type HostNamespaceException,
  type HostNamespaceGrantIndex,
  type HostNamespaceGrantSet,
} from '../api/v1alpha1.ts';
import { classifyPod, exceptionGrants, type ExceptionGrant, type PodClass } from '../policy/classify.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { readException, type ExceptionFacts } from '../policy/exception.ts';
import { GRANT_LIMITS, desiredGrantIndex, desiredGrantsByNamespace, enforcementOf, rfc3339, type Enforcement } from '../policy/grants.ts';
import { evaluateLifecycle, isGranting, type Lifecycle } from '../policy/lifecycle.ts';
import { desiredMarks, marksPatch } from '../policy/pod-marks.ts';
import { planException, stableJson, violationNote } from '../policy/status.ts';
import { ApiError, isStatus, type KubeClient } from '../kube/client.ts';
import { recordEvent } from '../kube/events.ts';
import { LeaderElector, type LeaderElectionConfig } from '../kube/lease.ts';
import { toPodRecord, type PodRecord } from '../kube/pod-record.ts';
import { Reflector, type RawObject } from '../kube/reflector.ts';
import { GrantsWriteError, writeGrantIndex, writeNamespaceGrants, type GrantsWriteFailure } from './grants-writer.ts';
import { WorkQueue } from './workqueue.ts';

export interface OperatorObserver {
  reconciled?(controller: 'exception' | 'pod' | 'grants', seconds: number, error: boolean): void;
  watchRestarted?(resource: string, reason: string): void;
  eventRecorded?(reason: string, outcome: 'created' | 'exists'): void;
  /** A namespace's grants object was written (or found current: `failure` undefined) or failed to be. */
  grantsWritten?(failure: GrantsWriteFailure | undefined, wrote: boolean): void;
}

export interface OperatorOptions {
  client: KubeClient;
  policy: PolicyConfig;
  logger: Logger;
  /** reportingInstance of Events and the Lease holder identity. */
  identity: string;
  clock?: () => DateTime;
  /** Workers reconciling at once (each does at most a few API calls). */
  concurrency?: number;
  leaderElection?: LeaderElectionConfig;
  observer?: OperatorObserver;
  pageSize?: number;
}

const EXCEPTIONS_PATH = `/apis/${GROUP}/${VERSION}/${EXCEPTION_PLURAL}`;
const GRANTS_PATH = `/apis/${GROUP}/${VERSION}/${GRANTS_PLURAL}`;

/** What the operator keeps of a Namespace: a terminating one gets no new grants object. */
interface NamespaceRecord {
  name: string;
  resourceVersion: string;
  creationTimestamp: string;
  terminating: boolean;
}

function toNamespaceRecord(raw: RawObject): NamespaceRecord | undefined {
  const meta = raw.metadata as { name?: string; resourceVersion?: string; creationTimestamp?: string; deletionTimestamp?: string } | undefined;
  if (!meta?.name) return undefined;
  return {
    name: meta.name,
    resourceVersion: meta.resourceVersion ?? '',
    creationTimestamp: meta.creationTimestamp ?? '',
    terminating: !!meta.deletionTimestamp,
  };
}

/** Keeps the exception minus managedFields (a few hundred objects: the whole rest is fine). */
function toException(raw: RawObject): HostNamespaceException | undefined {
  const meta = raw.metadata as Record<string, unknown> | undefined;
  if (!meta) return undefined;
  const { managedFields: _drop, ...metadata } = meta;
  return { ...(raw as unknown as HostNamespaceException), metadata: metadata as unknown as HostNamespaceException['metadata'] };
}

function addToIndex(index: Map<string, Set<string>>, ns: string, key: string): void {
  let set = index.get(ns);
  if (!set) index.set(ns, (set = new Set()));
  set.add(key);
}
function removeFromIndex(index: Map<string, Set<string>>, ns: string, key: string): void {
  const set = index.get(ns);
  if (set?.delete(key) && set.size === 0) index.delete(ns);
}
const nsOf = (key: string) => key.slice(0, key.indexOf('/'));

export interface ExceptionView {
  key: string;
  facts: ExceptionFacts;
  lifecycle: Lifecycle;
}

export class Operator {
  readonly pods: Reflector<PodRecord>;
  readonly exceptions: Reflector<HostNamespaceException>;
  readonly grants: Reflector<HostNamespaceGrantSet>;
  readonly namespaces: Reflector<NamespaceRecord>;
  readonly grantIndex: Reflector<HostNamespaceGrantIndex>;
  readonly queue: WorkQueue;
  private readonly podsByNamespace = new Map<string, Set<string>>();
  private readonly exceptionsByNamespace = new Map<string, Set<string>>();
  /** Each exception read and evaluated once per resourceVersion, until its next transition. */
  private readonly viewCache = new Map<string, { rv: string | undefined; view: ExceptionView }>();
  /** Pods covered per exception, computed once per namespace until a pod or exception there changes. */
  private readonly coverage = new Map<string, { validUntil?: DateTime; counts: Map<string, number> }>();
  /**
   * Events created but not yet recorded in status.announced (the s: key records them). Only an
   * optimisation: after a restart the deterministic Event names make a re-creation a 409.
   */
  private readonly announcedPending = new Map<string, { uid: string | undefined; announced: AnnouncedEvents }>();
  /** Phase last acted on per exception: a change re-queues its namespace's pods and the grants. */
  private readonly lastPhase = new Map<string, ExceptionPhase>();
  private readonly opts: OperatorOptions;
  private readonly clock: () => DateTime;
  private elector?: LeaderElector;
  /** The last failed write of each namespace's grants object (cleared by a successful one). */
  private readonly grantsWriteErrors = new Map<string, string>();
  /** When a grants write last succeeded (or found the object current), epoch seconds. */
  lastGrantsSuccess = 0;
  private leading = false;
  private started = false;

  constructor(opts: OperatorOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? (() => DateTime.utc());
    const { client, logger } = opts;
    const restart = (resource: string) => (reason: string) => opts.observer?.watchRestarted?.(resource, reason);
    this.exceptions = new Reflector({
      client,
      logger,
      path: EXCEPTIONS_PATH,
      resource: EXCEPTION_PLURAL,
      transform: toException,
      versionOf: (e) => e.metadata.resourceVersion,
      onChange: (key, obj, prev) => this.exceptionChanged(key, obj, prev),
      onWatchRestart: restart(EXCEPTION_PLURAL),
      pageSize: opts.pageSize,
    });
    this.pods = new Reflector({
      client,
      logger,
      path: '/api/v1/pods',
      resource: 'pods',
      transform: toPodRecord,
      versionOf: (p) => p.resourceVersion,
      onChange: (key, obj, prev) => this.podChanged(key, obj, prev),
      onWatchRestart: restart('pods'),
      pageSize: opts.pageSize,
    });
    this.grants = new Reflector({
      client,
      logger,
      path: GRANTS_PATH,
      resource: GRANTS_PLURAL,
      transform: (raw) => (raw.metadata?.name === GRANTS_NAME ? (raw as unknown as HostNamespaceGrantSet) : undefined),
      versionOf: (g) => g.metadata.resourceVersion,
      // What admission reads changed (our write, or someone else's): restore it if needed, and
      // re-judge whether each exception of the namespace is enforced.
      onChange: (key) => {
        const ns = nsOf(key);
        this.enqueue(`g:${ns}`);
        this.enqueue('i');
        if (this.leading) for (const e of this.exceptionsByNamespace.get(ns) ?? []) this.queue.add(`s:${e}`);
      },
      onWatchRestart: restart(GRANTS_PLURAL),
    });
    this.namespaces = new Reflector({
      client,
      logger,
      path: '/api/v1/namespaces',
      resource: 'namespaces',
      transform: toNamespaceRecord,
      versionOf: (n) => n.resourceVersion,
      onChange: (key, obj) => {
        if (obj) this.enqueue(`g:${key}`);
        else this.grantsWriteErrors.delete(key);
        this.enqueue('i');
      },
      onWatchRestart: restart('namespaces'),
      pageSize: opts.pageSize,
    });
    this.grantIndex = new Reflector({
      client,
      logger,
      path: `/apis/${GROUP}/${VERSION}/${GRANT_INDEX_PLURAL}`,
      resource: GRANT_INDEX_PLURAL,
      transform: (raw) => (raw.metadata?.name === GRANT_INDEX_NAME ? (raw as unknown as HostNamespaceGrantIndex) : undefined),
      versionOf: (g) => g.metadata.resourceVersion,
      onChange: () => this.enqueue('i'),
      onWatchRestart: restart(GRANT_INDEX_PLURAL),
    });
    this.queue = new WorkQueue((key) => this.reconcile(key), {
      concurrency: opts.concurrency ?? 16,
      laneOf: (key) => (key.startsWith('e:') ? 0 : key.startsWith('p:') ? 2 : 1),
      onError: (key, err, attempt) =>
        logger.warn('reconcile failed, will retry', { key, attempt, error: err instanceof Error ? err.message : String(err) }),
    });
  }

  /** Fails with a clear message when the CRDs are not installed (API discovery, no extra RBAC). */
  static async checkCrds(client: KubeClient): Promise<void> {
    let resources: { resources?: { name: string }[] };
    try {
      resources = await client.request('GET', `/apis/${GROUP}/${VERSION}`);
    } catch (err) {
      if (isStatus(err, 404)) {
        throw new Error(`the ${GROUP} CRDs are not installed in this cluster: kubectl apply -f crds/ (or kubectl apply -k config/default)`);
      }
      throw new Error(`cannot reach the Kubernetes API at ${client.server}: ${(err as Error).message}`);
    }
    const names = new Set((resources.resources ?? []).map((r) => r.name));
    for (const plural of [EXCEPTION_PLURAL, GRANTS_PLURAL]) {
      if (!names.has(plural)) throw new Error(`the CRD ${plural}.${GROUP} is not installed: kubectl apply -f crds/`);
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Ready once every cache has completed its first list. */
  get isReady(): boolean {
    return this.pods.hasSynced && this.exceptions.hasSynced && this.grants.hasSynced && this.namespaces.hasSynced && this.grantIndex.hasSynced;
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Operator.checkCrds(this.opts.client);
    this.exceptions.start();
    this.grants.start();
    this.namespaces.start();
    this.grantIndex.start();
    this.pods.start();
    await Promise.all([this.exceptions.synced(), this.grants.synced(), this.namespaces.synced(), this.grantIndex.synced(), this.pods.synced()]);
    this.opts.logger.info('caches synced', { pods: this.pods.store.size, exceptions: this.exceptions.store.size });
    if (this.opts.leaderElection) {
      this.elector = new LeaderElector(this.opts.client, this.opts.leaderElection, this.opts.identity, this.opts.logger, {
        onStartedLeading: () => this.lead(),
        onStoppedLeading: () => void this.follow(),
      });
      this.elector.start();
    } else {
      this.lead();
    }
  }

  private lead(): void {
    this.leading = true;
    this.opts.logger.info('leading: reconciling everything once', { identity: this.opts.identity });
    for (const key of this.exceptions.store.keys()) this.queue.add(`e:${key}`);
    for (const key of this.pods.store.keys()) this.queue.add(`p:${key}`);
    const grantNamespaces = new Set([...this.namespaces.store.keys(), ...this.exceptionsByNamespace.keys()]);
    for (const key of this.grants.store.keys()) grantNamespaces.add(nsOf(key));
    for (const ns of grantNamespaces) this.queue.add(`g:${ns}`);
    this.queue.add('i');
    this.queue.start();
  }

  private async follow(): Promise<void> {
    this.leading = false;
    this.opts.logger.warn('lost leadership: pausing writes', { identity: this.opts.identity });
    await this.queue.pause();
  }

  async stop(): Promise<void> {
    await this.queue.stop();
    await this.elector?.stop();
    await Promise.all([this.pods.stop(), this.exceptions.stop(), this.grants.stop(), this.namespaces.stop(), this.grantIndex.stop()]);
  }

  /** Resolves when no reconcile is queued or running (tests and benchmarks). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private enqueue(key: string): void {
    // Followers keep caches warm but queue nothing: lead() queues everything on takeover.
    if (this.leading) this.queue.add(key);
  }

  // ---- cache events -------------------------------------------------------------------------

  private exceptionChanged(key: string, obj: HostNamespaceException | undefined, prev: HostNamespaceException | undefined): void {
    const ns = nsOf(key);
    if (obj) addToIndex(this.exceptionsByNamespace, ns, key);
    else {
      removeFromIndex(this.exceptionsByNamespace, ns, key);
      this.lastPhase.delete(key);
      this.viewCache.delete(key);
      this.announcedPending.delete(key);
    }
    this.coverage.delete(ns);
    this.enqueue(`e:${key}`);
    // Our own status writes change nothing that pods or grants depend on.
    const specChanged = !obj || !prev || obj.metadata.generation !== prev.metadata.generation || obj.metadata.uid !== prev.metadata.uid;
    if (specChanged) this.enqueueNamespace(ns);
  }

  private podChanged(key: string, obj: PodRecord | undefined, prev: PodRecord | undefined): void {
    const ns = nsOf(key);
    if (obj) addToIndex(this.podsByNamespace, ns, key);
    else removeFromIndex(this.podsByNamespace, ns, key);
    if (obj) this.enqueue(`p:${key}`);
    // A pod appearing, leaving or relabelled changes its exceptions' coveredPods.
    // Throttled to one status write per exception per second under pod churn.
    if (!obj !== !prev || (obj && prev && obj.uid !== prev.uid) || (obj && prev && !sameLabels(obj.labels, prev.labels))) {
      this.coverage.delete(ns);
      if (this.leading) for (const e of this.exceptionsByNamespace.get(ns) ?? []) this.queue.addThrottled(`s:${e}`, 1000);
    }
  }

  private enqueueNamespace(ns: string): void {
    for (const p of this.podsByNamespace.get(ns) ?? []) this.enqueue(`p:${p}`);
    this.enqueue(`g:${ns}`);
  }

  // ---- reconcile ----------------------------------------------------------------------------

  private async reconcile(key: string): Promise<void> {
    const started = performance.now();
    const controller = key.startsWith('g:') || key === 'i' ? 'grants' : key.startsWith('p:') ? 'pod' : 'exception';
    let failed = false;
    try {
      if (key.startsWith('g:')) await this.reconcileGrants(key.slice(2));
      else if (key === 'i') await this.reconcileGrantIndex();
      else if (key.startsWith('e:')) await this.reconcileException(key.slice(2), 'announce');
      else if (key.startsWith('s:')) await this.reconcileException(key.slice(2), 'status');
      else await this.reconcilePod(key.slice(2));
    } catch (err) {
      failed = true;
      throw err;
    } finally {
      this.opts.observer?.reconciled?.(controller, (performance.now() - started) / 1000, failed);
    }
  }

  /** Every exception of a namespace, read and evaluated at `now`. */
  exceptionViews(ns: string | undefined, now: DateTime): ExceptionView[] {
    const keys = ns === undefined ? [...this.exceptions.store.keys()] : [...(this.exceptionsByNamespace.get(ns) ?? [])];
    const out: ExceptionView[] = [];
    for (const key of keys) {
      const obj = this.exceptions.store.get(key);
      if (!obj) continue;
      const rv = obj.metadata.resourceVersion;
      const cached = this.viewCache.get(key);
      const next = cached?.view.lifecycle.nextTransitionAt;
      if (cached && cached.rv === rv && (!next || now < next)) {
        out.push(cached.view);
        continue;
      }
      const facts = readException(obj);
      const view = { key, facts, lifecycle: evaluateLifecycle(facts, now, this.opts.policy) };
      this.viewCache.set(key, { rv, view });
      out.push(view);
    }
    return out;
  }

  /** How many pods each exception of `ns` covers now (it grants, matches, allows a flag they use). */
  private coveredCounts(ns: string, views: readonly ExceptionView[], now: DateTime): Map<string, number> {
    const cached = this.coverage.get(ns);
    if (cached && (!cached.validUntil || now < cached.validUntil)) return cached.counts;
    const grants = exceptionGrants(views);
    const counts = new Map<string, number>();
    for (const podKey of this.podsByNamespace.get(ns) ?? []) {
      const pod = this.pods.store.get(podKey);
      if (!pod) continue;
      const cls = this.classify(pod, grants);
      if (cls.kind === 'covered' || cls.kind === 'offender') for (const name of cls.exceptions) counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const transitions = views.map((v) => v.lifecycle.nextTransitionAt).filter((t): t is DateTime => !!t);
    const validUntil = transitions.length ? DateTime.min(...transitions) ?? undefined : undefined;
    this.coverage.set(ns, { validUntil, counts });
    return counts;
  }

  classify(pod: PodRecord, grants: readonly ExceptionGrant[]): PodClass {
    return classifyPod(pod, grants, this.opts.policy.exemptNamespaces);
  }

  private async reconcilePod(key: string): Promise<void> {
    const pod = this.pods.store.get(key);
    if (!pod) return;
    const now = this.clock();
    const views = this.exceptionViews(pod.namespace, now);
    const cls = this.classify(pod, exceptionGrants(views));
    const patch = marksPatch(pod.marks, desiredMarks(cls));
    if (!patch) return;

    if (cls.kind === 'offender' && pod.marks.labels[LABEL_VIOLATION] !== 'true') {
      // The Event first, the label after: the label records that the Event exists. The key
      // includes the resourceVersion we decided on, so a crash in between re-finds the same Event.
      const expiresAtOf = (name: string) => views.find((v) => v.facts.name === name)?.facts.expiresAt;
      const outcome = await recordEvent(
        this.opts.client,
        {
          regarding: { apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid },
          type: 'Warning',
          reason: 'HostNamespaceViolation',
          action: 'Classify',
          note: violationNote(pod, cls.uncovered, cls.lapsed, (n) => {
            const t = expiresAtOf(n);
            return t ? rfc3339(t) : undefined;
          }),
          key: `${pod.resourceVersion}/${cls.uncovered.join(',')}`,
        },
        now,
        this.opts.identity,
      );
      this.opts.observer?.eventRecorded?.('HostNamespaceViolation', outcome);
    }
    try {
      const updated = await this.opts.client.request<RawObject>('PATCH', `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`, {
        body: { metadata: { ...patch.metadata, uid: pod.uid } },
        contentType: 'application/merge-patch+json',
      });
      this.pods.applyObserved(updated);
    } catch (err) {
      if (isStatus(err, 404)) return; // gone; the watch will tell
      // The uid in the patch is a precondition: a pod replaced under the same name is refused
      // (409/422) and retried from the cache, which by then holds the new pod.
      if (isStatus(err, 409, 422)) throw new ApiError(err.status, err.reason, `pod ${key} changed under us; retrying`, undefined);
      throw err;
    }
  }

  /**
   * `announce` raises the Events due and hands the status write to the s: key; `status` writes
   * the status (raising any Event still due first, so the bookkeeping never runs ahead of it).
   */
  private async reconcileException(key: string, step: 'announce' | 'status'): Promise<void> {
    const obj = this.exceptions.store.get(key);
    if (!obj) return;
    const now = this.clock();
    const ns = nsOf(key);
    const views = this.exceptionViews(ns, now);
    const view = views.find((v) => v.key === key)!;
    const { facts, lifecycle } = view;
    const covered = isGranting(lifecycle.phase) ? (this.coveredCounts(ns, views, now).get(facts.name) ?? 0) : 0;

    const pending = this.announcedPending.get(key);
    const known = pending && pending.uid === obj.metadata.uid ? pending.announced : {};
    const withPending: HostNamespaceException = { ...obj, status: { ...obj.status, announced: { ...obj.status?.announced, ...known } } };
    const plan = planException(withPending, facts, lifecycle, covered, this.enforcementIn(ns, views)(view), now);
    for (const e of plan.events) {
      const outcome = await recordEvent(
        this.opts.client,
        {
          regarding: { apiVersion: API_VERSION, kind: EXCEPTION_KIND, namespace: ns, name: facts.name, uid: obj.metadata.uid ?? '' },
          type: e.type,
          reason: e.reason,
          action: e.action,
          note: e.note,
          key: e.key,
        },
        now,
        this.opts.identity,
      );
      this.announcedPending.set(key, { uid: obj.metadata.uid, announced: { ...known, ...this.announcedPending.get(key)?.announced, [e.announce]: e.key } });
      this.opts.observer?.eventRecorded?.(e.reason, outcome);
      this.opts.logger.info('event', { exception: key, reason: e.reason, outcome });
    }

    const statusDiffers = stableJson(plan.status) !== stableJson(obj.status ?? {});
    if (step === 'status' && statusDiffers) {
      // PUT with the cached resourceVersion: a concurrent change answers 409 and we retry from
      // the newer cache, so `announced` is never lost or doubled.
      const updated = await this.opts.client.request<RawObject>(
        'PUT',
        `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${EXCEPTION_PLURAL}/${facts.name}/status`,
        { body: { ...obj, status: plan.status } },
      );
      this.announcedPending.delete(key);
      this.exceptions.applyObserved(updated);
    } else if (step === 'announce' && statusDiffers) {
      this.enqueue(`s:${key}`);
    }

    if (step === 'announce') {
      if (this.lastPhase.get(key) !== lifecycle.phase) {
        const first = !this.lastPhase.has(key);
        this.lastPhase.set(key, lifecycle.phase);
        if (!first) this.enqueueNamespace(ns);
      }
      if (lifecycle.nextTransitionAt) {
        // A few ms late rather than early: at the instant itself the phase must already have changed.
        this.queue.addAfter(`e:${key}`, lifecycle.nextTransitionAt.diff(now).toMillis() + 5);
      }
    }
  }

  /** Whether admission honours each exception of `ns` (all of `views`), from its grants object as observed. */
  private enforcementIn(ns: string, views: readonly ExceptionView[]): (view: ExceptionView) => Enforcement {
    const exempt = this.opts.policy.exemptNamespaces.has(ns);
    const desired = desiredGrantsByNamespace(views, [], this.opts.policy.exemptNamespaces).get(ns);
    const written = this.grants.store.get(`${ns}/${GRANTS_NAME}`)?.spec;
    const writeError = this.grantsWriteErrors.get(ns);
    return (view) => enforcementOf(view, exempt, desired, written, writeError);
  }

  /** One namespace's grants object, from that namespace's exceptions only (grants-writer.ts). */
  private async reconcileGrants(ns: string): Promise<void> {
    const namespace = this.namespaces.store.get(ns);
    const hasExceptions = this.exceptionsByNamespace.has(ns);
    const current = this.grants.store.get(`${ns}/${GRANTS_NAME}`);
    // A namespace that is gone or going takes its grants object with it.
    if ((!namespace && !hasExceptions) || namespace?.terminating) return;
    const views = this.exceptionViews(ns, this.clock());
    const desired = desiredGrantsByNamespace(views, [ns], this.opts.policy.exemptNamespaces).get(ns);
    if (desired?.overBudget.length) {
      this.opts.logger.warn('namespace over its grants budget: these exceptions are not honoured at admission', {
        namespace: ns,
        exceptions: desired.overBudget,
        limits: GRANT_LIMITS,
      });
    }
    try {
      const outcome = await writeNamespaceGrants(this.opts.client, ns, desired?.spec, current);
      if (outcome.action === 'created' || outcome.action === 'replaced') this.grants.applyObserved(outcome.object);
      this.lastGrantsSuccess = Date.now() / 1000;
      this.opts.observer?.grantsWritten?.(undefined, outcome.action !== 'unchanged');
      if (this.grantsWriteErrors.delete(ns)) this.enqueueStatuses(ns);
    } catch (err) {
      if (!(err instanceof GrantsWriteError)) throw err;
      this.opts.observer?.grantsWritten?.(err.failure, true);
      const previous = this.grantsWriteErrors.get(ns);
      this.grantsWriteErrors.set(ns, err.message);
      if (previous !== err.message) this.enqueueStatuses(ns);
      throw err;
    }
  }

  /** The namespaces whose grants object exists, for hostns-grants-required (grants-writer.ts). */
  private async reconcileGrantIndex(): Promise<void> {
    const hasGrants = (ns: string) => {
      const g = this.grants.store.get(`${ns}/${GRANTS_NAME}`);
      const n = this.namespaces.store.get(ns);
      // Created for this very namespace, not left in the cache from a deleted one of the same name.
      return !!g && !!n && (g.metadata.creationTimestamp ?? '') >= n.creationTimestamp;
    };
    const desired = desiredGrantIndex(this.namespaces.store.values(), hasGrants, this.opts.policy.exemptNamespaces);
    try {
      const outcome = await writeGrantIndex(this.opts.client, desired, this.grantIndex.store.get(GRANT_INDEX_NAME));
      if (outcome.action === 'created' || outcome.action === 'replaced') this.grantIndex.applyObserved(outcome.object);
      this.opts.observer?.grantsWritten?.(undefined, outcome.action !== 'unchanged');
    } catch (err) {
      if (err instanceof GrantsWriteError) this.opts.observer?.grantsWritten?.(err.failure, true);
      throw err;
    }
  }

  private enqueueStatuses(ns: string): void {
    if (this.leading) for (const e of this.exceptionsByNamespace.get(ns) ?? []) this.queue.add(`s:${e}`);
  }

  // ---- read-only views for metrics ----------------------------------------------------------

  private lastSnapshot?: { at: number; value: OperatorSnapshot };

  /**
   * Counts for /metrics, computed from the caches at scrape time. Several gauges read it in one
   * scrape: it is computed once and reused for a second.
   */
  snapshot(): OperatorSnapshot {
    const at = Date.now();
    if (this.lastSnapshot && at - this.lastSnapshot.at < 1000) return this.lastSnapshot.value;
    const value = this.computeSnapshot(this.clock());
    this.lastSnapshot = { at, value };
    return value;
  }

  private computeSnapshot(now: DateTime): OperatorSnapshot {
    const exceptionsByPhase: Record<ExceptionPhase, number> = { Active: 0, ExpiringSoon: 0, Expired: 0, Invalid: 0 };
    const expiries: { namespace: string; name: string; seconds: number }[] = [];
    const grantsByNs = new Map<string, ExceptionGrant[]>();
    for (const ns of this.exceptionsByNamespace.keys()) grantsByNs.set(ns, exceptionGrants(this.exceptionViews(ns, now)));
    for (const v of this.exceptionViews(undefined, now)) {
      exceptionsByPhase[v.lifecycle.phase]++;
      if (v.lifecycle.expiresAt) {
        expiries.push({ namespace: v.facts.namespace, name: v.facts.name, seconds: v.lifecycle.expiresAt.diff(now).as('seconds') });
      }
    }
    let notEnforced = 0;
    for (const ns of this.exceptionsByNamespace.keys()) {
      const views = this.exceptionViews(ns, now);
      const enforcement = this.enforcementIn(ns, views);
      for (const v of views) if (!enforcement(v).enforced) notEnforced++;
    }
    const podsByClass = { offender: 0, covered: 0, exempt: 0 };
    for (const pod of this.pods.store.values()) {
      const cls = this.classify(pod, grantsByNs.get(pod.namespace) ?? []);
      if (cls.kind !== 'clean') podsByClass[cls.kind]++;
    }
    return { exceptionsByPhase, podsByClass, expiries, notEnforced };
  }
}

/** Equal labels, ignoring our own keys: writing a mark changes no exception's coverage. */
export interface OperatorSnapshot {
  exceptionsByPhase: Record<ExceptionPhase, number>;
  podsByClass: Record<'offender' | 'covered' | 'exempt', number>;
  expiries: { namespace: string; name: string; seconds: number }[];
  /** Granting exceptions admission does not honour (Enforced=False), pending writes included. */
  notEnforced: number;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const theirs = (l: Record<string, string>) => Object.keys(l).filter((k) => !k.startsWith('hostns.io/'));
  const ka = theirs(a);
  if (ka.length !== theirs(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}
