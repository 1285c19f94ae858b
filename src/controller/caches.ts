// What the reconcilers and the metrics read: the read-only stores, plus the derived
// views every reconcile needs, memoised (each exception evaluated once per version until its next
// transition; the pods each exception covers once per namespace until something there changes).
// The memos are invisible to callers: every read is a pure function of the stores and `now`.
import { DateTime } from 'luxon';
import {
  GRANT_INDEX_NAME,
  GRANTS_NAME,
  type HostNamespaceException,
  type HostNamespaceGrantIndex,
  type HostNamespaceGrantSet,
} from '../api/v1alpha1.ts';
import {
  classifyPod,
  classifiableExceptions,
  type ExceptionGrant,
  type PodClass,
  type PodFacts,
} from '../policy/classify.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { evaluateException, type EvaluatedException } from '../policy/evaluated.ts';
import {
  desiredGrantsByNamespace,
  enforcementOf,
  rfc3339,
  type Enforcement,
  type NamespaceGrants,
} from '../policy/grants.ts';
import type { ExceptionState } from '../policy/violation.ts';
import type { PodRecord } from '../kube/pod-record.ts';
import { namespaceOfKey, type Store } from '../kube/store.ts';
import { exceptionNamespaceProblem, type ExceptionNamespaces } from '../policy/namespaces.ts';
import { isNetworkRestricted, type NetworkPolicyRecord } from '../policy/network.ts';
import type { OwnedRecord } from '../kube/owner-record.ts';
import type { RefusalRecord } from '../kube/refusal-record.ts';
import { eventName, type EventSpec } from '../kube/events.ts';
import { isWorkloadEvent, type WorkloadEventRecord } from '../kube/workload-event-record.ts';
import { workloadOf, type OwnerRef, type Workload } from '../policy/workloads.ts';
import { workloadImpact, type WorkloadImpact } from '../policy/impact.ts';

/** What the operator keeps of a Namespace: a terminating one gets no new grants object. */
export interface NamespaceRecord {
  name: string;
  resourceVersion: string;
  creationTimestamp: string;
  terminating: boolean;
  /** Its value of the exception-namespace label (--exception-namespace-label), when set and present. */
  exceptionsLabel?: string;
}

export interface CachesOptions {
  exceptions: Store<HostNamespaceException>;
  pods: Store<PodRecord>;
  /** Every namespace's grants object, keyed `namespace/grants`. */
  grants: Store<HostNamespaceGrantSet>;
  namespaces: Store<NamespaceRecord>;
  grantIndex: Store<HostNamespaceGrantIndex>;
  /** ReplicaSets and Jobs with a controller: their owner, for workload attribution. */
  replicaSets: Store<OwnedRecord>;
  jobs: Store<OwnedRecord>;
  /** FailedCreate Events where our admission policy refused a workload's pod. */
  refusals: Store<RefusalRecord>;
  /**
   * Our Events on workloads that exist, keyed `namespace/name` (src/kube/workload-event-record.ts);
   * none when not given: every such Event is planned, and its create answers 409 when it exists.
   */
  workloadEvents?: Store<WorkloadEventRecord>;
  /**
   * The last failed write of each namespace's grants object (cleared by a successful one): the one
   * fact the stores cannot hold, since a refused write leaves no object behind.
   */
  grantsWriteErrors: ReadonlyMap<string, string>;
  policy: PolicyConfig;
  /** NetworkPolicies restricting egress (the networkRestricted control); none when not given. */
  networkPolicies?: Store<NetworkPolicyRecord>;
  /** Where exceptions may exist (--exception-namespace-label); anywhere when not given. */
  exceptionNamespaces?: ExceptionNamespaces;
}

export class Caches {
  readonly exceptions: Store<HostNamespaceException>;
  readonly pods: Store<PodRecord>;
  readonly grants: Store<HostNamespaceGrantSet>;
  readonly namespaces: Store<NamespaceRecord>;
  readonly grantIndex: Store<HostNamespaceGrantIndex>;
  readonly replicaSets: Store<OwnedRecord>;
  readonly jobs: Store<OwnedRecord>;
  readonly refusals: Store<RefusalRecord>;
  readonly workloadEvents?: Store<WorkloadEventRecord>;
  readonly grantsWriteErrors: ReadonlyMap<string, string>;
  readonly policy: PolicyConfig;
  readonly networkPolicies?: Store<NetworkPolicyRecord>;
  readonly exceptionNamespaces?: ExceptionNamespaces;
  /**
   * Keyed by the cached object itself: a new version is a new object, a deleted one is collected.
   * Kept with the namespace problem it was evaluated under (the namespace's label may change).
   */
  private readonly evaluations = new WeakMap<
    HostNamespaceException,
    { evaluated: EvaluatedException; namespaceProblem?: string }
  >();
  private readonly coverage = new Map<
    string,
    {
      exceptionsVersion: number;
      /** Of the namespace's pods, ReplicaSets and Jobs (attribution reads the last two). */
      podsVersion: string;
      /** What else coverage depends on: the namespace's label and its NetworkPolicies. */
      context: string;
      validUntil?: DateTime;
      counts: Map<string, number>;
      impact: Map<string, WorkloadImpact[]>;
    }
  >();

  constructor(opts: CachesOptions) {
    this.exceptions = opts.exceptions;
    this.pods = opts.pods;
    this.grants = opts.grants;
    this.namespaces = opts.namespaces;
    this.grantIndex = opts.grantIndex;
    this.replicaSets = opts.replicaSets;
    this.jobs = opts.jobs;
    this.refusals = opts.refusals;
    this.workloadEvents = opts.workloadEvents;
    this.grantsWriteErrors = opts.grantsWriteErrors;
    this.policy = opts.policy;
    this.networkPolicies = opts.networkPolicies;
    this.exceptionNamespaces = opts.exceptionNamespaces;
  }

  /** Why exceptions of `namespace` cannot be honoured (--exception-namespace-label); undefined: they can. */
  namespaceProblem(namespace: string): string | undefined {
    if (!this.exceptionNamespaces) return undefined;
    const label = this.namespaces.get(namespace)?.exceptionsLabel;
    return exceptionNamespaceProblem(this.exceptionNamespaces, namespace, label);
  }

  /** Whether our Event `e` on a workload exists already: then it is not planned again (no POST, no 409). */
  workloadEventExists(e: Pick<EventSpec, 'regarding' | 'reason' | 'key'>): boolean {
    if (!this.workloadEvents || !isWorkloadEvent(e.regarding)) return false;
    return this.workloadEvents.has(`${e.regarding.namespace}/${eventName(e)}`);
  }

  /** The workload a cached pod belongs to (its top owner; the pod itself when none controls it). */
  workloadOf(pod: Pick<PodRecord, 'namespace' | 'name' | 'uid' | 'owner'>): Workload {
    return workloadOf(pod, this.controllerOf);
  }

  /** The controller of a cached ReplicaSet or Job, when it is the object `ref` names. */
  private readonly controllerOf = (namespace: string, ref: OwnerRef): OwnerRef | undefined => {
    const store = ref.kind === 'Job' ? this.jobs : this.replicaSets;
    const rec = store.get(`${namespace}/${ref.name}`);
    return rec && (!ref.uid || rec.uid === ref.uid) ? rec.owner : undefined;
  };

  /** The grants object `namespace` should have now, from its own exceptions (undefined: exempt). */
  desiredGrants(namespace: string, now: DateTime): NamespaceGrants | undefined {
    const evaluated = this.evaluatedIn(namespace, now);
    return desiredGrantsByNamespace(evaluated, [namespace], this.policy.exemptNamespaces).get(namespace);
  }

  /** The grants object of `namespace` as last observed on the API server. */
  writtenGrants(namespace: string): HostNamespaceGrantSet | undefined {
    return this.grants.get(`${namespace}/${GRANTS_NAME}`);
  }

  get writtenGrantIndex(): HostNamespaceGrantIndex | undefined {
    return this.grantIndex.get(GRANT_INDEX_NAME);
  }

  /** Whether admission honours each exception of `namespace`, judged from its grants object as observed. */
  enforcementIn(namespace: string, now: DateTime): (e: EvaluatedException) => Enforcement {
    const exempt = this.policy.exemptNamespaces.has(namespace);
    const desired = this.desiredGrants(namespace, now);
    const written = this.writtenGrants(namespace)?.spec;
    const writeError = this.grantsWriteErrors.get(namespace);
    return (e) => enforcementOf(e, exempt, desired, written, writeError);
  }

  /** One cached exception, evaluated at `now`. */
  evaluated(key: string, now: DateTime): EvaluatedException | undefined {
    const obj = this.exceptions.get(key);
    if (!obj) return undefined;
    const namespaceProblem = this.namespaceProblem(namespaceOfKey(key));
    const memo = this.evaluations.get(obj);
    const next = memo?.evaluated.lifecycle.nextTransitionAt;
    // Valid until the evaluation changes; a clock going backwards is not worth a check.
    if (memo && memo.namespaceProblem === namespaceProblem && (!next || now < next)) return memo.evaluated;
    const evaluated = evaluateException(obj, now, this.policy, undefined, namespaceProblem ? [namespaceProblem] : []);
    this.evaluations.set(obj, { evaluated, namespaceProblem });
    return evaluated;
  }

  /** Every exception of `namespace` (every exception when undefined), evaluated at `now`. */
  evaluatedIn(namespace: string | undefined, now: DateTime): EvaluatedException[] {
    const keys = namespace === undefined ? this.exceptions.keys() : this.exceptions.keysIn(namespace);
    const out: EvaluatedException[] = [];
    for (const key of keys) {
      const e = this.evaluated(key, now);
      if (e) out.push(e);
    }
    return out;
  }

  /** The exceptions of `namespace` as violation causes and refusal notes name them (Invalid ones included). */
  exceptionStatesIn(namespace: string, now: DateTime): ExceptionState[] {
    return this.evaluatedIn(namespace, now).map(({ facts, lifecycle }) => ({
      name: facts.name,
      owner: facts.owner,
      phase: lifecycle.phase,
      allow: facts.allow,
      selector: facts.selector,
      ...(facts.expiresAt ? { expiresAt: rfc3339(facts.expiresAt) } : {}),
    }));
  }

  /** What classification sees of the exceptions of `namespace`. */
  grantsIn(namespace: string, now: DateTime): ExceptionGrant[] {
    return classifiableExceptions(this.evaluatedIn(namespace, now));
  }

  classify(pod: PodFacts, grants: readonly ExceptionGrant[]): PodClass {
    return classifyPod(this.withNetwork(pod, grants), grants, this.policy.exemptNamespaces);
  }

  /**
   * The pod with whether a NetworkPolicy restricts its egress, when one of `grants` enforces
   * networkRestricted (otherwise the pod itself: nothing is computed for the common case).
   */
  private withNetwork(pod: PodFacts, grants: readonly ExceptionGrant[]): PodFacts {
    if (!grants.some((g) => g.contract?.controls?.includes('networkRestricted'))) return pod;
    const keys = this.networkPolicies?.keysIn(pod.namespace) ?? [];
    const policies = [...keys].map((k) => this.networkPolicies!.get(k)!);
    return { ...pod, networkRestricted: isNetworkRestricted(pod, policies) };
  }

  /** How many pods each exception of `namespace` covers now, keyed `namespace/name`. */
  coveredCounts(namespace: string, now: DateTime): Map<string, number> {
    return this.coverageIn(namespace, now).counts;
  }

  /** The workloads depending on each exception of `namespace` now (src/policy/impact.ts), keyed `namespace/name`. */
  impactIn(namespace: string, now: DateTime): Map<string, WorkloadImpact[]> {
    return this.coverageIn(namespace, now).impact;
  }

  /** One pass over the namespace's pods, memoised until a pod or exception there changes or a transition. */
  private coverageIn(namespace: string, now: DateTime) {
    const exceptionsVersion = this.exceptions.versionOf(namespace);
    const podsVersion = [this.pods, this.replicaSets, this.jobs].map((s) => s.versionOf(namespace)).join('/');
    const context = `${this.namespaceProblem(namespace) ?? ''}|${this.networkPolicies?.versionOf(namespace) ?? ''}`;
    const memo = this.coverage.get(namespace);
    if (
      memo &&
      memo.exceptionsVersion === exceptionsVersion &&
      memo.podsVersion === podsVersion &&
      memo.context === context &&
      (!memo.validUntil || now < memo.validUntil)
    ) {
      return memo;
    }
    const evaluated = this.evaluatedIn(namespace, now);
    const grants = classifiableExceptions(evaluated);
    const pods = [...this.pods.keysIn(namespace)].map((k) => this.pods.get(k)!);
    const counts = new Map<string, number>();
    const classified = pods.map((p) => {
      const cls = this.classify(p, grants);
      // status.coveredPods: fully covered pods, under each exception covering them (as podCoverage counts).
      if (cls.kind === 'covered')
        for (const name of cls.exceptions)
          counts.set(`${namespace}/${name}`, (counts.get(`${namespace}/${name}`) ?? 0) + 1);
      return { namespace, cls, workload: this.workloadOf(p), ...(p.nodeName ? { nodeName: p.nodeName } : {}) };
    });
    const impact = workloadImpact(classified);
    const transitions = evaluated.map((e) => e.lifecycle.nextTransitionAt).filter((t): t is DateTime => !!t);
    const validUntil = transitions.length ? (DateTime.min(...transitions) ?? undefined) : undefined;
    const fresh = { exceptionsVersion, podsVersion, context, validUntil, counts, impact };
    this.coverage.set(namespace, fresh);
    if (this.coverage.size > 2 * (this.exceptions.size + 1)) this.forgetEmptyNamespaces();
    return fresh;
  }

  /** Drops coverage memos of namespaces without exceptions left (their exceptions were deleted). */
  private forgetEmptyNamespaces(): void {
    for (const ns of this.coverage.keys()) if (this.exceptions.keysIn(ns).size === 0) this.coverage.delete(ns);
  }
}
