// The admission policy's params: one HostNamespaceGrantSet per namespace, computed from that
// namespace's exceptions alone, and whether admission honours each exception.
import { isPodSpecControl } from './contract.ts';
import type { DateTime } from 'luxon';
import type { Grant, HostNamespaceGrantSetSpec } from '../api/v1alpha1.ts';
import type { ExceptionFacts } from './exception.ts';
import type { Lifecycle } from './lifecycle.ts';
import { isGranting } from './lifecycle.ts';
import { stableJson } from './json.ts';

/** RFC 3339 in UTC with second precision or better, as the API server and CEL's timestamp() parse it. */
export function rfc3339(t: DateTime): string {
  return t.toUTC().toISO({ suppressMilliseconds: true })!;
}

/**
 * One namespace's budget. `perNamespace` is the grants CRD's maxItems; `bytesPerNamespace` keeps
 * the object well under etcd's 1.5 MiB request limit. The schema bounds on exception selectors
 * make 64 of the largest grants fit it (a unit test checks), so the byte budget is a second line.
 */
export const GRANT_LIMITS = { perNamespace: 64, bytesPerNamespace: 1_350_000 } as const;
export type GrantLimits = { perNamespace: number; bytesPerNamespace: number };

export interface NamespaceGrants {
  spec: HostNamespaceGrantSetSpec;
  /** Granting exceptions left out of `spec` because the namespace is over its budget. */
  overBudget: string[];
}

type ExceptionView = { facts: ExceptionFacts; lifecycle: Lifecycle };

/** The grant an exception contributes, or undefined when it grants nothing now. */
export function grantOf({ facts, lifecycle }: ExceptionView): Grant | undefined {
  if (!isGranting(lifecycle.phase) || !facts.expiresAt) return undefined;
  return {
    exception: facts.name,
    allow: [...facts.allow],
    expiresAt: rfc3339(facts.expiresAt),
    selector: normaliseSelector(facts.selector),
    contract: {
      serviceAccountNames: [...(facts.contract.serviceAccountNames ?? [])],
      images: [...(facts.contract.images ?? [])],
      controls: (facts.contract.controls ?? []).filter(isPodSpecControl),
    },
  };
}

/**
 * The grants object of every namespace the policy covers: `namespaces` (all namespaces known) and
 * those of the exceptions, minus the exempt ones. A namespace without granting exceptions gets an
 * empty object, so the policy has a param there and refuses host namespaces. Grants are sorted
 * by exception name and kept while the namespace's budget lasts; the rest are `overBudget`.
 * Each namespace depends on its own exceptions only.
 */
export function desiredGrantsByNamespace(
  exceptions: readonly ExceptionView[],
  namespaces: Iterable<string>,
  exemptNamespaces: ReadonlySet<string>,
  limits: GrantLimits = GRANT_LIMITS,
): Map<string, NamespaceGrants> {
  const byNamespace = new Map<string, Grant[]>();
  for (const ns of namespaces) if (!exemptNamespaces.has(ns)) byNamespace.set(ns, []);
  for (const view of exceptions) {
    const ns = view.facts.namespace;
    if (exemptNamespaces.has(ns)) continue;
    const list = byNamespace.get(ns) ?? [];
    byNamespace.set(ns, list);
    const grant = grantOf(view);
    if (grant) list.push(grant);
  }
  const out = new Map<string, NamespaceGrants>();
  for (const ns of [...byNamespace.keys()].sort()) {
    const sorted = byNamespace.get(ns)!.sort((a, b) => byName(a.exception, b.exception));
    const grants: Grant[] = [];
    const overBudget: string[] = [];
    let bytes = 0;
    for (const g of sorted) {
      const size = Buffer.byteLength(JSON.stringify(g));
      if (grants.length < limits.perNamespace && bytes + size <= limits.bytesPerNamespace) {
        grants.push(g);
        bytes += size;
      } else overBudget.push(g.exception);
    }
    out.set(ns, { spec: { grants }, overBudget });
  }
  return out;
}

/** The grant index's bound (maxProperties): namespaces beyond it are left out, so refused. */
export const GRANT_INDEX_LIMIT = 10_000;

/**
 * The grant index: every namespace, by name with its resourceVersion (which tells it from a
 * deleted namespace of the same name), whose grants object exists now, sorted by name. Exempt and
 * terminating namespaces are left out (nothing is checked, or nothing can be created).
 */
export function desiredGrantIndex(
  namespaces: Iterable<{ name: string; resourceVersion: string; terminating: boolean }>,
  hasGrants: (ns: string) => boolean,
  exemptNamespaces: ReadonlySet<string>,
  limit = GRANT_INDEX_LIMIT,
): Record<string, string> {
  const listed = [...namespaces]
    .filter((n) => !n.terminating && !!n.resourceVersion && !exemptNamespaces.has(n.name) && hasGrants(n.name))
    .sort((a, b) => byName(a.name, b.name))
    .slice(0, limit);
  return Object.fromEntries(listed.map((n) => [n.name, n.resourceVersion]));
}

export type EnforcementReason =
  | 'InAdmissionGrants'
  | 'NothingGranted'
  | 'NamespaceExempt'
  | 'GrantsBudgetExceeded'
  | 'GrantsWriteFailed'
  | 'GrantsPending';

export interface Enforcement {
  enforced: boolean;
  reason: EnforcementReason;
  message: string;
}

/**
 * Whether admission honours what the exception grants, judged from the grants object as last
 * observed on the API server (`written`), not from what the operator meant to write.
 */
export function enforcementOf(
  view: ExceptionView,
  exempt: boolean,
  desired: NamespaceGrants | undefined,
  written: HostNamespaceGrantSetSpec | undefined,
  writeError: string | undefined,
  limits: GrantLimits = GRANT_LIMITS,
): Enforcement {
  const ns = view.facts.namespace;
  const grant = grantOf(view);
  if (exempt) {
    const message = `namespace ${ns} is exempt from the admission policy: its pods need no grant`;
    return { enforced: true, reason: 'NamespaceExempt', message };
  }
  if (!grant) {
    return { enforced: true, reason: 'NothingGranted', message: 'grants nothing, and admission grants nothing for it' };
  }
  if (desired?.overBudget.includes(grant.exception)) {
    const granting = (desired.spec.grants.length + desired.overBudget.length).toString();
    return {
      enforced: false,
      reason: 'GrantsBudgetExceeded',
      message:
        `not honoured at admission: namespace ${ns} has ${granting} granting exceptions and its grants object holds ` +
        `at most ${limits.perNamespace} grants and ${limits.bytesPerNamespace} bytes, taken in name order; ` +
        'pods relying on this exception are refused. Merge or delete exceptions in this namespace.',
    };
  }
  const inWritten = written?.grants.find((g) => g.exception === grant.exception);
  if (inWritten && stableJson(inWritten) === stableJson(grant)) {
    return { enforced: true, reason: 'InAdmissionGrants', message: `in the admission grants of namespace ${ns}` };
  }
  if (writeError) {
    return {
      enforced: false,
      reason: 'GrantsWriteFailed',
      message:
        `not honoured at admission: writing the grants object of namespace ${ns} failed: ` + writeError.slice(0, 1024),
    };
  }
  return { enforced: false, reason: 'GrantsPending', message: `the grants object of namespace ${ns} is being written` };
}

/** Code-point order, the same everywhere (localeCompare depends on the locale). */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
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
