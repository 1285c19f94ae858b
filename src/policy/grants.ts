// The admission policy's params: one HostNamespaceGrantSet per namespace, computed from that
// namespace's exceptions alone, and whether admission honours each exception.
import { isPodSpecControl } from './contract.ts';
import type { DateTime } from 'luxon';
import type { Grant, HostNamespaceGrantSetSpec, LapsedGrant } from '../api/v1alpha1.ts';
import type { ExceptionFacts } from './exception.ts';
import type { Lifecycle } from './lifecycle.ts';
import { isGranting } from './lifecycle.ts';
import { stableJson } from './json.ts';

/** RFC 3339 in UTC with second precision or better, as the API server and CEL's timestamp() parse it. */
export function rfc3339(t: DateTime): string {
  return t.toUTC().toISO({ suppressMilliseconds: true })!;
}

/**
 * One namespace's budget. `perNamespace` is the grants CRD's maxItems of `spec.grants`;
 * `lapsedPerNamespace` that of `spec.lapsed`; `bytesPerNamespace` (both lists together) keeps the
 * object well under etcd's 1.5 MiB request limit. The schema bounds on exception selectors make 64
 * of the largest grants fit it (a unit test checks), so the byte budget is a second line for
 * grants; lapsed entries get what grants leave.
 */
export const GRANT_LIMITS = { perNamespace: 64, lapsedPerNamespace: 32, bytesPerNamespace: 1_350_000 } as const;
export type GrantLimits = { perNamespace: number; lapsedPerNamespace: number; bytesPerNamespace: number };

export interface NamespaceGrants {
  spec: HostNamespaceGrantSetSpec;
  /** Granting exceptions left out of `spec` because the namespace is over its budget. */
  overBudget: string[];
}

type ExceptionView = { facts: ExceptionFacts; lifecycle: Lifecycle };

/** The grants CRD's bound on `owner`, in characters (the exception's own schema has the same). */
const OWNER_MAX_CHARS = 253;
const boundedOwner = (owner: string) => [...owner].slice(0, OWNER_MAX_CHARS).join('');

/** The grant an exception contributes, or undefined when it grants nothing now. */
export function grantOf({ facts, lifecycle }: ExceptionView): Grant | undefined {
  if (!isGranting(lifecycle.phase) || !facts.expiresAt) return undefined;
  return {
    exception: facts.name,
    allow: [...facts.allow],
    expiresAt: rfc3339(facts.expiresAt),
    selector: normaliseSelector(facts.selector),
    owner: boundedOwner(facts.owner),
    contract: {
      serviceAccountNames: [...(facts.contract.serviceAccountNames ?? [])],
      images: [...(facts.contract.images ?? [])],
      controls: (facts.contract.controls ?? []).filter(isPodSpecControl),
    },
  };
}

/**
 * The entry a lapsed exception (phase Expired: valid, its expiresAt past) keeps, so that a refusal
 * names it and its owner; undefined otherwise. An Invalid exception keeps none: it never granted
 * as it stands, and its own Events say why. Only what the message needs, no contract.
 */
export function lapsedOf({ facts, lifecycle }: ExceptionView): LapsedGrant | undefined {
  if (lifecycle.phase !== 'Expired' || !facts.expiresAt) return undefined;
  return {
    exception: facts.name,
    owner: boundedOwner(facts.owner),
    allow: [...facts.allow],
    expiresAt: rfc3339(facts.expiresAt),
    selector: normaliseSelector(facts.selector),
  };
}

/**
 * The grants object of every namespace the policy covers: `namespaces` (all namespaces known) and
 * those of the exceptions, minus the exempt ones. A namespace without granting exceptions gets an
 * empty object, so the policy has a param there and refuses host namespaces. Grants are sorted
 * by exception name and kept while the namespace's budget lasts; the rest are `overBudget`.
 * Lapsed entries get what the grants leave of the budget, the most recently lapsed first (the
 * workloads still being recreated), and are written sorted by name; `lapsed` is absent when there
 * are none, so a namespace without lapsed exceptions keeps the object it had before they existed.
 * Each namespace depends on its own exceptions only.
 */
export function desiredGrantsByNamespace(
  exceptions: readonly ExceptionView[],
  namespaces: Iterable<string>,
  exemptNamespaces: ReadonlySet<string>,
  limits: GrantLimits = GRANT_LIMITS,
): Map<string, NamespaceGrants> {
  const byNamespace = new Map<string, { grants: Grant[]; lapsed: LapsedGrant[] }>();
  const listsOf = (ns: string) => {
    const lists = byNamespace.get(ns) ?? { grants: [], lapsed: [] };
    byNamespace.set(ns, lists);
    return lists;
  };
  for (const ns of namespaces) if (!exemptNamespaces.has(ns)) listsOf(ns);
  for (const view of exceptions) {
    if (exemptNamespaces.has(view.facts.namespace)) continue;
    const lists = listsOf(view.facts.namespace);
    const grant = grantOf(view);
    if (grant) lists.grants.push(grant);
    const lapsed = lapsedOf(view);
    if (lapsed) lists.lapsed.push(lapsed);
  }
  const out = new Map<string, NamespaceGrants>();
  for (const ns of [...byNamespace.keys()].sort()) {
    const lists = byNamespace.get(ns)!;
    const grants: Grant[] = [];
    const overBudget: string[] = [];
    let bytes = 0;
    for (const g of lists.grants.sort((a, b) => byName(a.exception, b.exception))) {
      const size = Buffer.byteLength(JSON.stringify(g));
      if (grants.length < limits.perNamespace && bytes + size <= limits.bytesPerNamespace) {
        grants.push(g);
        bytes += size;
      } else overBudget.push(g.exception);
    }
    const lapsed: LapsedGrant[] = [];
    const latestFirst = (a: LapsedGrant, b: LapsedGrant) =>
      Date.parse(b.expiresAt) - Date.parse(a.expiresAt) || byName(a.exception, b.exception);
    for (const l of lists.lapsed.sort(latestFirst)) {
      const size = Buffer.byteLength(JSON.stringify(l));
      if (lapsed.length >= limits.lapsedPerNamespace) break;
      if (bytes + size > limits.bytesPerNamespace) continue;
      lapsed.push(l);
      bytes += size;
    }
    lapsed.sort((a, b) => byName(a.exception, b.exception));
    out.set(ns, { spec: { grants, ...(lapsed.length ? { lapsed } : {}) }, overBudget });
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
  if (inWritten && stableJson(whatAdmits(inWritten)) === stableJson(whatAdmits(grant))) {
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

/**
 * A grant without its owner: the owner only names it in a refusal, so an object that lacks it (a
 * CRD not yet upgraded prunes the field) still honours the exception.
 */
function whatAdmits(grant: Grant): Omit<Grant, 'owner'> {
  const { owner: _named, ...admits } = grant;
  return admits;
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
