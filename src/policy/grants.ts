// The admission policy's param object: active grants by namespace, computed from exceptions.
import type { DateTime } from 'luxon';
import type { Grant, HostNamespaceGrantsSpec } from '../api/v1alpha1.ts';
import type { ExceptionFacts } from './exception.ts';
import type { Lifecycle } from './lifecycle.ts';
import { isGranting } from './lifecycle.ts';

/** RFC 3339 in UTC with second precision or better, as the API server and CEL's timestamp() parse it. */
export function rfc3339(t: DateTime): string {
  return t.toUTC().toISO({ suppressMilliseconds: true })!;
}

/** The grants CRD's bounds (maxItems / maxProperties), which keep the policy's CEL cost bounded. */
export const GRANT_LIMITS = { perNamespace: 64, namespaces: 2000 } as const;

/**
 * Grants for every exception that grants now, sorted so the same input always gives the same
 * object (the controller compares before writing). Exempt namespaces need no grants.
 * Beyond the CRD's bounds the last ones by name are left out (and reported): a write the API
 * server refuses would leave every grant stale.
 */
export function desiredGrants(
  exceptions: readonly { facts: ExceptionFacts; lifecycle: Lifecycle }[],
  exemptNamespaces: ReadonlySet<string>,
  limits: { perNamespace: number; namespaces: number } = GRANT_LIMITS,
): HostNamespaceGrantsSpec & { dropped?: string[] } {
  const byNamespace = new Map<string, Grant[]>();
  for (const { facts, lifecycle } of exceptions) {
    if (!isGranting(lifecycle.phase) || !facts.expiresAt || exemptNamespaces.has(facts.namespace)) continue;
    const grant: Grant = {
      exception: facts.name,
      allow: [...facts.allow],
      expiresAt: rfc3339(facts.expiresAt),
      selector: normaliseSelector(facts.selector),
    };
    const list = byNamespace.get(facts.namespace) ?? [];
    list.push(grant);
    byNamespace.set(facts.namespace, list);
  }
  const namespaces: Record<string, Grant[]> = {};
  const dropped: string[] = [];
  [...byNamespace.keys()].sort().forEach((ns, i) => {
    const list = byNamespace.get(ns)!.sort((a, b) => a.exception.localeCompare(b.exception));
    if (i >= limits.namespaces) {
      dropped.push(...list.map((g) => `${ns}/${g.exception}`));
      return;
    }
    namespaces[ns] = list.slice(0, limits.perNamespace);
    dropped.push(...list.slice(limits.perNamespace).map((g) => `${ns}/${g.exception}`));
  });
  return dropped.length ? { namespaces, dropped } : { namespaces };
}

/** Always both fields, so the CEL never needs has() checks on them. */
function normaliseSelector(sel: Grant['selector']): Grant['selector'] {
  return {
    matchLabels: { ...(sel.matchLabels ?? {}) },
    matchExpressions: (sel.matchExpressions ?? []).map((r) => ({
      key: r.key,
      operator: r.operator,
      values: [...(r.values ?? [])],
    })),
  };
}
