// Reading API objects (live or from files) into the facts the policy core works on.
import type { DateTime } from 'luxon';
import type { HostNamespaceException } from '../api/v1alpha1.ts';
import { exceptionGrants, type ExceptionGrant, type PodFacts } from '../policy/classify.ts';
import { podSecurityProfile } from '../policy/contract.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { readException, type ExceptionFacts } from '../policy/exception.ts';
import { evaluateLifecycle, type Lifecycle } from '../policy/lifecycle.ts';

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

/** One exception, read and evaluated at `now`, with what classification needs. */
export interface EvaluatedException {
  raw: HostNamespaceException | Record<string, unknown>;
  facts: ExceptionFacts;
  lifecycle: Lifecycle;
}

export function evaluateException(
  raw: HostNamespaceException | Record<string, unknown>,
  now: DateTime,
  config: PolicyConfig,
  createdIfUnset?: DateTime,
): EvaluatedException {
  const facts = readException(raw, createdIfUnset);
  return { raw, facts, lifecycle: evaluateLifecycle(facts, now, config) };
}

/** exceptionGrants() (src/policy/classify.ts), grouped by namespace. */
export function grantsByNamespace(exceptions: readonly EvaluatedException[]): Map<string, ExceptionGrant[]> {
  const byNamespace = new Map<string, EvaluatedException[]>();
  for (const e of exceptions) byNamespace.set(e.facts.namespace, [...(byNamespace.get(e.facts.namespace) ?? []), e]);
  const out = new Map<string, ExceptionGrant[]>();
  for (const [ns, list] of byNamespace) {
    const grants = exceptionGrants(list);
    if (grants.length) out.set(ns, grants);
  }
  return out;
}
