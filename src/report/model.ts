// Reading API objects (live or from files) into the facts the policy core works on.
import type { DateTime } from 'luxon';
import type { HostNamespaceException } from '../api/v1alpha1.ts';
import type { ExceptionGrant, PodFacts } from '../policy/classify.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { readException, type ExceptionFacts } from '../policy/exception.ts';
import { evaluateLifecycle, isGranting, type Lifecycle } from '../policy/lifecycle.ts';

/** The subset of a Pod (or a pod template) the reports read. */
export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean; nodeName?: string };
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

/**
 * What classification sees: Active/ExpiringSoon grant, Expired ones only explain offenders,
 * Invalid ones are left out (they cannot be trusted to say what they allow).
 */
export function grantsByNamespace(exceptions: readonly EvaluatedException[]): Map<string, ExceptionGrant[]> {
  const out = new Map<string, ExceptionGrant[]>();
  for (const { facts, lifecycle } of exceptions) {
    if (lifecycle.phase === 'Invalid') continue;
    const list = out.get(facts.namespace) ?? [];
    list.push({
      name: facts.name,
      owner: facts.owner,
      allow: facts.allow,
      selector: facts.selector,
      granting: isGranting(lifecycle.phase),
    });
    out.set(facts.namespace, list);
  }
  return out;
}
