// An exception read and evaluated at `now`: the one shape the controller, the metrics and the
// CLI reports share, with the rules built on it (what classification sees per namespace, and
// how many pods each exception covers, as status.coveredPods counts).
import type { DateTime } from 'luxon';
import type { HostNamespaceException } from '../api/v1alpha1.ts';
import { classifyPod, classifiableExceptions, type ExceptionGrant, type PodFacts } from './classify.ts';
import type { PolicyConfig } from './config.ts';
import { readException, type ExceptionFacts } from './exception.ts';
import { evaluateLifecycle, type Lifecycle } from './lifecycle.ts';

export interface EvaluatedException {
  /** The object as read (from the API, a cache or a file). */
  raw: HostNamespaceException | Record<string, unknown>;
  facts: ExceptionFacts;
  lifecycle: Lifecycle;
}

export function evaluateException(
  raw: HostNamespaceException | Record<string, unknown>,
  now: DateTime,
  config: PolicyConfig,
  /** Used when the object has no creationTimestamp (a manifest in a file, not yet created). */
  createdIfUnset?: DateTime,
  /** Problems found outside the object (its namespace not allowed to hold exceptions): Invalid. */
  outsideProblems: readonly string[] = [],
): EvaluatedException {
  const read = readException(raw, createdIfUnset);
  const facts = outsideProblems.length ? { ...read, problems: [...read.problems, ...outsideProblems] } : read;
  return { raw, facts, lifecycle: evaluateLifecycle(facts, now, config) };
}

/** classifiableExceptions() (src/policy/classify.ts), grouped by namespace. */
export function grantsByNamespace(exceptions: readonly EvaluatedException[]): Map<string, ExceptionGrant[]> {
  const byNamespace = new Map<string, EvaluatedException[]>();
  for (const e of exceptions) byNamespace.set(e.facts.namespace, [...(byNamespace.get(e.facts.namespace) ?? []), e]);
  const out = new Map<string, ExceptionGrant[]>();
  for (const [ns, list] of byNamespace) {
    const grants = classifiableExceptions(list);
    if (grants.length) out.set(ns, grants);
  }
  return out;
}

/** Pods per exception, keyed `namespace/name`. */
export interface PodCoverage {
  /** Pods fully covered (every host namespace they use allowed), this exception among those covering them. */
  full: Map<string, number>;
  /** Offenders this exception covers only in part: it allows some host namespace they use, not all. */
  partial: Map<string, number>;
}

/**
 * How many pods each exception covers. A pod using hostNetwork + hostPID where the exception
 * allows hostNetwork only is an offender: it counts as partial, not covered. status.coveredPods
 * and `kubectl hostns review` both count this way.
 */
export function podCoverage(
  pods: Iterable<PodFacts>,
  grantsOf: (namespace: string) => readonly ExceptionGrant[],
  exemptNamespaces: ReadonlySet<string>,
): PodCoverage {
  const full = new Map<string, number>();
  const partial = new Map<string, number>();
  for (const pod of pods) {
    const cls = classifyPod(pod, grantsOf(pod.namespace), exemptNamespaces);
    if (cls.kind !== 'covered' && cls.kind !== 'offender') continue;
    const counts = cls.kind === 'covered' ? full : partial;
    for (const name of cls.exceptions) {
      const key = `${pod.namespace}/${name}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return { full, partial };
}
