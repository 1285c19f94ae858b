// Field names of the HostNamespaceException API, per level, derived from the TypeScript shapes in
// ./v1alpha1.ts. The compiler checks each list against its interface (every field listed, none
// invented, required/optional as declared); test/api/crd-schema.test.ts checks the lists against
// the CRD in crds/. Together they keep the YAML and the TypeScript in step.
import type {
  AnnouncedEvents,
  Condition,
  ExceptionBinding,
  ExceptionPhase,
  HostNamespaceException,
  HostNamespaceExceptionSpec,
  HostNamespaceExceptionStatus,
  LabelSelector,
  LabelSelectorRequirement,
  ReviewRecord,
  RiskAcceptance,
  StatusWorkload,
} from './v1alpha1.ts';

/** Whether a field must be present: `'required'` exactly when the interface does not mark it optional. */
export type Presence<T> = {
  readonly [K in keyof T]-?: Record<never, never> extends Pick<T, K> ? 'optional' : 'required';
};

/** One level of the schema: where it is (a path as the API server names it) and its fields. */
export interface SchemaLevel {
  path: string;
  fields: Readonly<Record<string, 'required' | 'optional'>>;
}

// The root's metadata is the API server's; only apiVersion, kind, metadata, spec, status are ours.
const root: Presence<Omit<HostNamespaceException, 'apiVersion' | 'kind' | 'metadata'>> = {
  spec: 'required',
  status: 'optional',
};

const spec: Presence<HostNamespaceExceptionSpec> = {
  owner: 'required',
  allow: 'required',
  podSelector: 'required',
  namespaceWide: 'optional',
  riskAcceptance: 'required',
  expiresAt: 'required',
  review: 'optional',
  boundTo: 'optional',
};

const boundTo: Presence<ExceptionBinding> = { serviceAccountNames: 'optional', images: 'optional' };

const podSelector: Presence<LabelSelector> = { matchLabels: 'optional', matchExpressions: 'optional' };

const requirement: Presence<LabelSelectorRequirement> = { key: 'required', operator: 'required', values: 'optional' };

const riskAcceptance: Presence<RiskAcceptance> = {
  justification: 'required',
  acceptedBy: 'required',
  acceptedAt: 'optional',
  ticket: 'optional',
  compensatingControls: 'optional',
  enforcedControls: 'optional',
};

const review: Presence<ReviewRecord> = { lastReviewedAt: 'optional', reviewedBy: 'optional' };

const status: Presence<HostNamespaceExceptionStatus> = {
  phase: 'optional',
  conditions: 'optional',
  observedGeneration: 'optional',
  coveredPods: 'optional',
  workloads: 'optional',
  workloadCount: 'optional',
  allows: 'optional',
  selector: 'optional',
  expiresAt: 'optional',
  nextReviewAt: 'optional',
  announced: 'optional',
};

const condition: Presence<Condition> = {
  type: 'required',
  status: 'required',
  observedGeneration: 'optional',
  lastTransitionTime: 'required',
  reason: 'required',
  message: 'required',
};

const statusWorkload: Presence<StatusWorkload> = { kind: 'required', name: 'required', pods: 'required' };

const announced: Presence<AnnouncedEvents> = {
  activated: 'optional',
  expiringSoon: 'optional',
  expired: 'optional',
  reviewOverdue: 'optional',
  invalid: 'optional',
  notEnforced: 'optional',
};

/** Every object level of HostNamespaceException below the root, with `[]` for list items. */
export const EXCEPTION_SCHEMA_LEVELS: readonly SchemaLevel[] = [
  { path: '', fields: root },
  { path: 'spec', fields: spec },
  { path: 'spec.podSelector', fields: podSelector },
  { path: 'spec.podSelector.matchExpressions[]', fields: requirement },
  { path: 'spec.riskAcceptance', fields: riskAcceptance },
  { path: 'spec.review', fields: review },
  { path: 'spec.boundTo', fields: boundTo },
  { path: 'status', fields: status },
  { path: 'status.conditions[]', fields: condition },
  { path: 'status.workloads[]', fields: statusWorkload },
  { path: 'status.announced', fields: announced },
];

const phases: Readonly<Record<ExceptionPhase, true>> = {
  Active: true,
  ExpiringSoon: true,
  Expired: true,
  Invalid: true,
};

/** The phases an exception can be in, in lifecycle order. */
export const EXCEPTION_PHASES = Object.keys(phases) as readonly ExceptionPhase[];

const conditionStatuses: Readonly<Record<Condition['status'], true>> = { True: true, False: true, Unknown: true };

/** metav1.Condition status values. */
export const CONDITION_STATUSES = Object.keys(conditionStatuses) as readonly Condition['status'][];
