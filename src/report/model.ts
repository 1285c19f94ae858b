// Reading API objects (live or from files) into the facts the policy core works on.
import type { PodFacts } from '../policy/classify.ts';
import { podSecurityProfile } from '../policy/contract.ts';

// The evaluated exception is the policy core's, shared with the controller.
export { evaluateException, grantsByNamespace, type EvaluatedException } from '../policy/evaluated.ts';

/** The subset of a Pod (or a pod template) the reports read. */
export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean; nodeName?: string; [field: string]: unknown };
  status?: { phase?: string };
}

export function podFacts(pod: PodLike, namespaceIfUnset = ''): PodFacts {
  const spec = pod.spec ?? {};
  return {
    namespace: pod.metadata?.namespace ?? namespaceIfUnset,
    name: pod.metadata?.name ?? '',
    labels: pod.metadata?.labels ?? {},
    // strictly `true`: the API server refuses anything else, and so does PSA's check
    hostNetwork: spec.hostNetwork === true,
    hostPID: spec.hostPID === true,
    hostIPC: spec.hostIPC === true,
    security: podSecurityProfile(spec),
  };
}
