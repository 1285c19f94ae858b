// The kinds `scan` checks: exactly the resources the admission policy matches
// (config/admission/policy.yaml, matchConstraints.resourceRules; test/cli/scan-kinds.test.ts keeps
// the two equal). PodTemplate is in neither: it runs nothing, and a pod made from it goes through
// admission as a Pod or as the template of a workload listed here.

export interface ScannedKind {
  kind: string;
  /** API group ("" for the core group) and resource, as the policy's resourceRules name them. */
  group: string;
  resource: string;
  /** Where the pod spec and the pod labels sit in the object. */
  spec: readonly string[];
  labels: readonly string[];
}

const TEMPLATE = { spec: ['spec', 'template', 'spec'], labels: ['spec', 'template', 'metadata', 'labels'] };

export const SCANNED_KINDS: readonly ScannedKind[] = [
  { kind: 'Pod', group: '', resource: 'pods', spec: ['spec'], labels: ['metadata', 'labels'] },
  { kind: 'ReplicationController', group: '', resource: 'replicationcontrollers', ...TEMPLATE },
  { kind: 'Deployment', group: 'apps', resource: 'deployments', ...TEMPLATE },
  { kind: 'ReplicaSet', group: 'apps', resource: 'replicasets', ...TEMPLATE },
  { kind: 'StatefulSet', group: 'apps', resource: 'statefulsets', ...TEMPLATE },
  { kind: 'DaemonSet', group: 'apps', resource: 'daemonsets', ...TEMPLATE },
  { kind: 'Job', group: 'batch', resource: 'jobs', ...TEMPLATE },
  {
    kind: 'CronJob',
    group: 'batch',
    resource: 'cronjobs',
    spec: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
    labels: ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'],
  },
];

const BY_KIND = new Map(SCANNED_KINDS.map((k) => [k.kind, k]));

export function scannedKind(kind: unknown): ScannedKind | undefined {
  return typeof kind === 'string' ? BY_KIND.get(kind) : undefined;
}
