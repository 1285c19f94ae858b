// The hostns.io/v1alpha1 API: TypeScript shapes of the CRDs in crds/. A test keeps the two in step.

export const GROUP = 'hostns.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const EXCEPTION_KIND = 'HostNamespaceException';
export const EXCEPTION_PLURAL = 'hostnamespaceexceptions';

/**
 * The operator-owned param object of the admission policy: one per namespace, named `grants`,
 * read by the policy from the admitted object's own namespace.
 */
export const GRANTS_KIND = 'HostNamespaceGrantSet';
export const GRANTS_PLURAL = 'hostnamespacegrantsets';
export const GRANTS_NAME = 'grants';

/** The namespaces whose grants object exists (name -> resourceVersion): hostns-grants-required's param, a singleton. */
export const GRANT_INDEX_KIND = 'HostNamespaceGrantIndex';
export const GRANT_INDEX_PLURAL = 'hostnamespacegrantindexes';
export const GRANT_INDEX_NAME = 'cluster';

/** The three host namespaces Pod Security Admission's baseline `hostNamespaces` check flags. */
export const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const;
export type HostNamespace = (typeof HOST_NAMESPACES)[number];

export function isHostNamespace(value: unknown): value is HostNamespace {
  return typeof value === 'string' && (HOST_NAMESPACES as readonly string[]).includes(value);
}

/** Compensating controls that can be checked on a pod spec (semantics: src/policy/contract.ts). */
export const POD_SPEC_CONTROLS = [
  'runAsNonRoot',
  'dropAllCapabilities',
  'readOnlyRootFilesystem',
  'noPrivilegeEscalation',
  'noPrivileged',
  'seccompRuntimeDefault',
  'noHostPath',
  'noHostPorts',
] as const;
export type PodSpecControl = (typeof POD_SPEC_CONTROLS)[number];
/** Controls only the operator can check: they depend on other objects (src/policy/network.ts). */
export const OPERATOR_CONTROLS = ['networkRestricted'] as const;
/** Every control an exception may enforce (spec.riskAcceptance.enforcedControls). */
export const ENFORCEABLE_CONTROLS = [...POD_SPEC_CONTROLS, ...OPERATOR_CONTROLS] as const;
export type EnforceableControl = (typeof ENFORCEABLE_CONTROLS)[number];

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
export const SELECTOR_OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];

export interface LabelSelectorRequirement {
  key: string;
  operator: SelectorOperator;
  values?: string[];
}

/** metav1.LabelSelector. `{}` selects every pod in the namespace. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface RiskAcceptance {
  /** Why the workload needs the host namespace(s); what breaks without it. */
  justification: string;
  /** Who accepted the risk (a person or a security board). */
  acceptedBy: string;
  /**
   * When the risk was accepted (RFC 3339). The exception's lifetime runs from here (or from
   * creation when unset); extending `expiresAt` is a renewal and needs a newer `acceptedAt`.
   */
  acceptedAt?: string;
  /** Reference to the approval (ticket, change request). */
  ticket?: string;
  /** Controls paired with the exception, e.g. "runs as non-root", "capabilities dropped". */
  compensatingControls?: string[];
  /** Controls admission and the operator enforce on every covered pod (see src/policy/contract.ts). */
  enforcedControls?: EnforceableControl[];
}

/** What the exception was granted for: a covered pod must run as one of these and only these images. */
export interface ExceptionBinding {
  serviceAccountNames?: string[];
  /** Fully qualified repository, prefix ending in `/`, or `repository@sha256:<hex>`. */
  images?: string[];
}

export interface ReviewRecord {
  lastReviewedAt?: string;
  reviewedBy?: string;
}

export interface HostNamespaceExceptionSpec {
  owner: string;
  allow: HostNamespace[];
  podSelector: LabelSelector;
  /**
   * Acknowledges a selector that selects every pod of the namespace (no matchLabels, no In or
   * Exists requirement): required to be true for such a selector.
   */
  namespaceWide?: boolean;
  riskAcceptance: RiskAcceptance;
  expiresAt: string;
  review?: ReviewRecord;
  boundTo?: ExceptionBinding;
}

export type ExceptionPhase = 'Active' | 'ExpiringSoon' | 'Expired' | 'Invalid';

/** metav1.Condition. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

/**
 * Which Events the controller has already raised, each keyed by what made it due (e.g. the
 * `expiresAt` that lapsed). An Event is raised only when its key here differs, and the Event's
 * name is derived from the same key, so a crash between the two never raises it twice.
 */
export interface AnnouncedEvents {
  activated?: string;
  expiringSoon?: string;
  expired?: string;
  reviewOverdue?: string;
  invalid?: string;
  notEnforced?: string;
}

/** One workload of status.workloads: its top owner's kind and name, and its pods depending on the exception. */
export interface StatusWorkload {
  kind: string;
  name: string;
  pods: number;
}

/** status.workloads lists at most this many (the CRD's maxItems): the status stays small. */
export const MAX_STATUS_WORKLOADS = 10;

export interface HostNamespaceExceptionStatus {
  phase?: ExceptionPhase;
  conditions?: Condition[];
  observedGeneration?: number;
  /** Pods in the namespace this exception covers now (it allows at least one flag they use). */
  coveredPods?: number;
  /**
   * The workloads whose pods depend on this exception (it alone covers them, or they lost it by its
   * lapse), most pods first, at most MAX_STATUS_WORKLOADS; `workloadCount` counts them all.
   */
  workloads?: StatusWorkload[];
  workloadCount?: number;
  /** spec.allow comma-separated, for the register (printer columns cannot join a list). */
  allows?: string;
  /** spec.podSelector as kubectl writes a selector, for `kubectl get hnse -o wide`. */
  selector?: string;
  /** When the exception lapses (a copy of spec.expiresAt, readable in the register). */
  expiresAt?: string;
  /** When the next monthly review is due. */
  nextReviewAt?: string;
  announced?: AnnouncedEvents;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface HostNamespaceException {
  apiVersion: typeof API_VERSION;
  kind: typeof EXCEPTION_KIND;
  metadata: ObjectMeta;
  spec: HostNamespaceExceptionSpec;
  status?: HostNamespaceExceptionStatus;
}

/** One active exception as the admission policy sees it (see config/admission). */
export interface Grant {
  exception: string;
  allow: HostNamespace[];
  /** RFC 3339; the policy admits through this grant only while the new object's creationTimestamp is before it. */
  expiresAt: string;
  selector: LabelSelector;
  /** The exception's spec.owner: named in a refusal once the grant has lapsed. */
  owner?: string;
  /** The exception's contract; the operator always writes every list (empty binds nothing). */
  contract?: GrantContract;
}

/**
 * An exception that lapsed (phase Expired), kept only so a refusal names it and its owner. Never
 * granting: the policy reads `spec.lapsed` for its message alone (config/admission/policy.yaml).
 */
export interface LapsedGrant {
  exception: string;
  owner?: string;
  allow: HostNamespace[];
  expiresAt: string;
  selector: LabelSelector;
}

export interface GrantContract {
  serviceAccountNames: string[];
  images: string[];
  /** Only the pod-spec controls: admission cannot check the operator's. */
  controls: PodSpecControl[];
}

export interface HostNamespaceGrantSetSpec {
  /** Active grants of the object's namespace; empty when none. */
  grants: Grant[];
  /** Lapsed exceptions, named by refusals and granting nothing; absent when none. */
  lapsed?: LapsedGrant[];
}

export interface HostNamespaceGrantSet {
  apiVersion: typeof API_VERSION;
  kind: typeof GRANTS_KIND;
  metadata: ObjectMeta;
  spec: HostNamespaceGrantSetSpec;
}

export interface HostNamespaceGrantIndex {
  apiVersion: typeof API_VERSION;
  kind: typeof GRANT_INDEX_KIND;
  metadata: ObjectMeta;
  spec: { namespaces: Record<string, string> };
}

/** Pod label and annotation keys the operator writes; it never writes any other key. */
export const LABEL_VIOLATION = 'hostns.io/violation';
export const ANNOTATION_VIOLATION = 'hostns.io/violation';
export const LABEL_EXCEPTION = 'hostns.io/exception';
export const ANNOTATION_EXCEPTIONS = 'hostns.io/exceptions';
/**
 * `<hash of pod uid + cause> <cause>`: the pod's HostNamespaceViolation Event for that cause was
 * raised. The uid is assigned by the API server, so whoever creates the pod cannot forge it.
 */
export const ANNOTATION_VIOLATION_EVENT = 'hostns.io/violation-event';
export const OPERATOR_POD_KEYS = [LABEL_VIOLATION, LABEL_EXCEPTION] as const;
export const OPERATOR_POD_ANNOTATIONS = [
  ANNOTATION_VIOLATION,
  ANNOTATION_EXCEPTIONS,
  ANNOTATION_VIOLATION_EVENT,
] as const;

export const REPORTING_CONTROLLER = 'hostns.io/operator';
