// Enforced controls per exception and per pod, for review and audit: which of the pods an exception
// is meant for (those it selects that use a host namespace it allows) meet which of its
// spec.riskAcceptance.enforcedControls, and where the others break them. The verdicts are the
// policy core's (controlResults in src/policy/contract.ts), so they agree with admission and the
// operator's labels.
import type { ExceptionGrant, PodFacts } from '../policy/classify.ts';
import { usedHostNamespaces } from '../policy/classify.ts';
import { controlResults, type EnforceableControl } from '../policy/contract.ts';
import { isNetworkRestricted, toNetworkPolicyRecord, type NetworkPolicyRecord } from '../policy/network.ts';
import { matchesSelector } from '../policy/selector.ts';
import { renderMarkdownTable, renderTable, type Column } from './format.ts';

/** One enforced control of one exception, over the pods the exception is meant for. */
export interface ControlTally {
  control: EnforceableControl;
  /** Pods meeting it. */
  met: number;
  /** Pods breaking it, each with where (container, `init:`/`ephemeral:` container, `volume:`, `pod`). */
  broken: { pod: string; where: string[] }[];
  /** Pods it could not be checked on here (networkRestricted without the cluster's NetworkPolicies). */
  unchecked: number;
}

/** One exception's enforced controls as one pod keeps them. */
export interface PodControls {
  exception: string;
  met: EnforceableControl[];
  broken: { control: EnforceableControl; where: string[] }[];
  /** Not checkable here (networkRestricted without the cluster's NetworkPolicies). */
  unchecked: EnforceableControl[];
}

/** A control's tally before any pod is counted. */
export const untallied = (control: EnforceableControl): ControlTally => ({ control, met: 0, broken: [], unchecked: 0 });

/** Whether any of these (raw) exceptions enforces networkRestricted: only then are NetworkPolicies read. */
export function enforcesNetworkRestricted(exceptions: readonly unknown[]): boolean {
  return exceptions.some((e) => {
    const ra = (e as { spec?: { riskAcceptance?: { enforcedControls?: unknown } } }).spec?.riskAcceptance;
    return Array.isArray(ra?.enforcedControls) && ra.enforcedControls.includes('networkRestricted');
  });
}

/**
 * The pods with whether a NetworkPolicy restricts their egress, as the operator judges it, when
 * the cluster's NetworkPolicies were read (`undefined`: not read, so networkRestricted is unchecked).
 */
export function withNetworkRestriction(pods: PodFacts[], networkPolicies: readonly unknown[] | undefined): PodFacts[] {
  if (!networkPolicies) return pods;
  const byNamespace = new Map<string, NetworkPolicyRecord[]>();
  for (const raw of networkPolicies) {
    const r = toNetworkPolicyRecord(raw);
    if (r) byNamespace.set(r.namespace, [...(byNamespace.get(r.namespace) ?? []), r]);
  }
  return pods.map((p) => ({ ...p, networkRestricted: isNetworkRestricted(p, byNamespace.get(p.namespace) ?? []) }));
}

/** Whether `e` is meant for `pod`: it selects the pod and allows a host namespace the pod uses. */
function meantFor(e: ExceptionGrant, pod: PodFacts, exempt: ReadonlySet<string>): boolean {
  if (exempt.has(pod.namespace) || !matchesSelector(e.selector, pod.labels)) return false;
  const used = usedHostNamespaces(pod);
  return e.allow.some((h) => used.includes(h));
}

/** The controls each pod keeps of each exception (with enforced controls) meant for it. */
export function podControls(
  pod: PodFacts,
  grants: readonly ExceptionGrant[],
  exempt: ReadonlySet<string>,
): PodControls[] {
  const out: PodControls[] = [];
  for (const e of grants) {
    const controls = e.contract?.controls ?? [];
    if (controls.length === 0 || !pod.security || !meantFor(e, pod, exempt)) continue;
    const results = controlResults(pod.security, controls, pod.networkRestricted);
    out.push({
      exception: e.name,
      met: results.filter((r) => r.met === true).map((r) => r.control),
      broken: results.filter((r) => r.met === false).map(({ control, where }) => ({ control, where })),
      unchecked: results.filter((r) => r.met === undefined).map((r) => r.control),
    });
  }
  return out.sort((a, b) => a.exception.localeCompare(b.exception));
}

/** Per exception (keyed `namespace/name`), a tally per enforced control over the pods meant for it. */
export function controlTallies(
  pods: Iterable<PodFacts>,
  grantsOf: (namespace: string) => readonly ExceptionGrant[],
  exempt: ReadonlySet<string>,
): Map<string, ControlTally[]> {
  const out = new Map<string, ControlTally[]>();
  const tallies = (namespace: string, e: ExceptionGrant): ControlTally[] => {
    const key = `${namespace}/${e.name}`;
    let t = out.get(key);
    if (!t) out.set(key, (t = (e.contract?.controls ?? []).map(untallied)));
    return t;
  };
  const namespaces = new Set<string>();
  for (const pod of pods) {
    namespaces.add(pod.namespace);
    const grants = grantsOf(pod.namespace);
    for (const kept of podControls(pod, grants, exempt)) {
      const t = tallies(
        pod.namespace,
        grants.find((g) => g.name === kept.exception)!,
      );
      for (const tally of t) {
        const broken = kept.broken.find((b) => b.control === tally.control);
        if (broken) tally.broken.push({ pod: pod.name, where: broken.where });
        else if (kept.unchecked.includes(tally.control)) tally.unchecked++;
        else tally.met++;
      }
    }
  }
  // Exceptions meant for no pod still list their controls (0 met, none broken).
  for (const ns of namespaces) for (const e of grantsOf(ns)) if (e.contract?.controls?.length) tallies(ns, e);
  return out;
}

// ---- rendering ------------------------------------------------------------------------------

/** At most this many breaking pods are named per control in a table; JSON has them all. */
const NAMED_PODS = 3;

/** `main`, `init setup`, `volume host-root`: how a place reads in a table cell. */
function place(where: string): string {
  return where.replace(/^(init|ephemeral|volume):/, '$1 ');
}

/** `pod-a (main, init setup), pod-b (main) +2 more`. */
export function brokenBy(broken: ControlTally['broken']): string {
  const named = broken.slice(0, NAMED_PODS).map((b) => `${b.pod} (${b.where.map(place).join(', ')})`);
  const more = broken.length - named.length;
  return named.join(', ') + (more > 0 ? ` +${more} more` : '');
}

/** `4/6 met; broken: runAsNonRoot (main), noHostPorts (main, init setup)`, per exception. */
export function describePodControls(kept: readonly PodControls[]): string {
  return kept
    .map((k) => {
      const total = k.met.length + k.broken.length;
      const prefix = kept.length > 1 ? `${k.exception}: ` : '';
      const broken = k.broken.map((b) => `${b.control} (${b.where.map(place).join(', ')})`).join(', ');
      const unchecked = k.unchecked.length ? `; not checked: ${k.unchecked.join(', ')}` : '';
      return `${prefix}${k.met.length}/${total + k.unchecked.length} met${broken ? `; broken: ${broken}` : ''}${unchecked}`;
    })
    .join('; ');
}

interface ControlRow {
  namespace: string;
  exception: string;
  tally: ControlTally;
}

const CONTROL_COLUMNS: Column<ControlRow>[] = [
  { header: 'NAMESPACE', cell: (r) => r.namespace },
  { header: 'EXCEPTION', cell: (r) => r.exception },
  { header: 'CONTROL', cell: (r) => r.tally.control },
  { header: 'MET', cell: (r) => String(r.tally.met), align: 'right' },
  { header: 'BROKEN', cell: (r) => String(r.tally.broken.length), align: 'right' },
  {
    header: 'BROKEN BY',
    cell: (r) =>
      [brokenBy(r.tally.broken), r.tally.unchecked ? `not checked on ${r.tally.unchecked} (operator only)` : '']
        .filter(Boolean)
        .join('; '),
  },
];

/** One row per enforced control of each exception, in the exceptions' order. */
function controlRows(
  exceptions: readonly { namespace: string; name: string; enforcedControls: readonly ControlTally[] }[],
): ControlRow[] {
  return exceptions.flatMap((e) =>
    e.enforcedControls.map((tally) => ({ namespace: e.namespace, exception: e.name, tally })),
  );
}

/** The enforced-controls table under the review's table (empty when no exception enforces one). */
export function renderControlsTable(
  exceptions: readonly { namespace: string; name: string; enforcedControls: readonly ControlTally[] }[],
): string {
  const rows = controlRows(exceptions);
  return rows.length
    ? `\nEnforced controls (pods each exception is meant for):\n${renderTable(CONTROL_COLUMNS, rows)}`
    : '';
}

export function renderControlsMarkdown(
  exceptions: readonly { namespace: string; name: string; enforcedControls: readonly ControlTally[] }[],
): string {
  const rows = controlRows(exceptions);
  return rows.length ? `\n#### Enforced controls\n\n${renderMarkdownTable(CONTROL_COLUMNS, rows)}` : '';
}
