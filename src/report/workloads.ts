// Review and audit by workload: pods attributed to their top owner (src/policy/workloads.ts) from
// the ReplicaSets and Jobs the CLI lists (metadata only), the audit's pod rows grouped per
// workload, and each exception's dependent workloads with what they lose when it lapses.
import type { DateTime } from 'luxon';
import type { HostNamespace, HostNamespaceException } from '../api/v1alpha1.ts';
import { classifyPod } from '../policy/classify.ts';
import { rfc3339 } from '../policy/grants.ts';
import { dependedOn, impactSentence, workloadImpact, type WorkloadImpact } from '../policy/impact.ts';
import {
  controllerRef,
  lostAbility,
  workloadId,
  workloadLabel,
  workloadOf,
  type ControllerLookup,
  type OwnerRef,
  type Workload,
} from '../policy/workloads.ts';
import type { AuditRow, AuditStatus } from './audit.ts';
import { renderMarkdownTable, renderTable, type Column, type Paint } from './format.ts';
import { evaluateException, grantsByNamespace, podFacts, type PodLike } from './model.ts';
import type { ReviewOptions, ReviewRow } from './review.ts';

/** What review and audit group by: the workload (default) or each pod. */
export const GROUPINGS = ['workload', 'pod'] as const;
export type Grouping = (typeof GROUPINGS)[number];

/** A listed ReplicaSet or Job (metadata is all that is read). */
export interface OwnedObject {
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; ownerReferences?: unknown };
}

/** The controller lookup over listed ReplicaSets and Jobs (`kind` is given: metadata-only lists carry none). */
export function controllersOf(objects: readonly { kind: string; object: OwnedObject }[]): ControllerLookup {
  const byKey = new Map<string, { uid: string; owner: OwnerRef }>();
  for (const { kind, object } of objects) {
    const owner = controllerRef(object.metadata);
    const { name, namespace, uid } = object.metadata ?? {};
    if (owner && name && namespace) byKey.set(`${namespace}/${kind}/${name}`, { uid: uid ?? '', owner });
  }
  return (namespace, ref) => {
    const found = byKey.get(`${namespace}/${ref.kind}/${ref.name}`);
    return found && (!ref.uid || !found.uid || found.uid === ref.uid) ? found.owner : undefined;
  };
}

export function podWorkload(pod: PodLike, lookup: ControllerLookup, namespaceIfUnset = ''): Workload {
  const meta = (pod.metadata ?? {}) as NonNullable<PodLike['metadata']> & { uid?: string; ownerReferences?: unknown };
  const owner = controllerRef(meta);
  return workloadOf(
    {
      namespace: meta.namespace ?? namespaceIfUnset,
      name: meta.name ?? '',
      uid: meta.uid ?? '',
      ...(owner ? { owner } : {}),
    },
    lookup,
  );
}

const podKey = (namespace: string, name: string) => `${namespace}/${name}`;

// ---- audit by workload -----------------------------------------------------------------------

export interface AuditWorkloadRow {
  namespace: string;
  kind: string;
  name: string;
  pods: number;
  nodes: number;
  uses: HostNamespace[];
  /** The worst of its pods: offender, else covered, else exempt. */
  status: AuditStatus;
  offenders: number;
  exceptions: string[];
  lapsed: { name: string; owner: string }[];
  uncovered: HostNamespace[];
  /** Pods the operator's marks agree with. */
  labelled: number;
}

const STATUS_ORDER: Record<AuditStatus, number> = { offender: 0, covered: 1, exempt: 2 };
const union = <T>(a: readonly T[], b: readonly T[]) => [...new Set([...a, ...b])];

/** The audit's pod rows, one row per workload; offending workloads first, then namespace, kind, name. */
export function auditByWorkload(
  rows: readonly AuditRow[],
  pods: readonly PodLike[],
  lookup: ControllerLookup,
): AuditWorkloadRow[] {
  const byPod = new Map<string, { workload: Workload; node?: string }>();
  for (const p of pods) {
    const node = typeof p.spec?.nodeName === 'string' && p.spec.nodeName ? p.spec.nodeName : undefined;
    byPod.set(podKey(p.metadata?.namespace ?? '', p.metadata?.name ?? ''), { workload: podWorkload(p, lookup), node });
  }
  const groups = new Map<string, { row: AuditWorkloadRow; nodes: Set<string> }>();
  for (const r of rows) {
    const seen = byPod.get(podKey(r.namespace, r.name));
    const w = seen?.workload ?? { apiVersion: 'v1', kind: 'Pod', namespace: r.namespace, name: r.name, uid: '' };
    const id = workloadId(w);
    let g = groups.get(id);
    if (!g) {
      g = {
        row: {
          namespace: w.namespace,
          kind: w.kind,
          name: w.name,
          pods: 0,
          nodes: 0,
          uses: [],
          status: r.status,
          offenders: 0,
          exceptions: [],
          lapsed: [],
          uncovered: [],
          labelled: 0,
        },
        nodes: new Set(),
      };
      groups.set(id, g);
    }
    const row = g.row;
    row.pods++;
    if (seen?.node) g.nodes.add(seen.node);
    row.uses = union(row.uses, r.uses).sort();
    if (STATUS_ORDER[r.status] < STATUS_ORDER[row.status]) row.status = r.status;
    if (r.status === 'offender') row.offenders++;
    row.exceptions = union(row.exceptions, r.exceptions).sort();
    row.uncovered = union(row.uncovered, r.uncovered).sort();
    for (const l of r.lapsed) if (!row.lapsed.some((x) => x.name === l.name)) row.lapsed.push(l);
    if (r.labelled) row.labelled++;
  }
  const out = [...groups.values()].map(({ row, nodes }) => ({ ...row, nodes: nodes.size }));
  return out.sort(
    (a, b) =>
      STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
      a.namespace.localeCompare(b.namespace) ||
      a.kind.localeCompare(b.kind) ||
      a.name.localeCompare(b.name),
  );
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** `DaemonSet monitoring/node-exporter: 120 pods, covered by node-exporter`. */
export function auditWorkloadLine(r: AuditWorkloadRow): string {
  const head = `${workloadLabel(r)}: ${plural(r.pods, 'pod')}`;
  if (r.status === 'exempt') return `${head}, exempt namespace`;
  if (r.status === 'covered') return `${head}, covered by ${r.exceptions.join(', ')}`;
  const parts = [`${head}, ${r.offenders} offending (not allowed: ${r.uncovered.join(',')})`];
  if (r.lapsed.length) parts.push(`expired: ${r.lapsed.map((l) => `${l.name} (owner ${l.owner})`).join(', ')}`);
  if (r.exceptions.length) parts.push(`partly covered by ${r.exceptions.join(', ')}`);
  return parts.join('; ');
}

function auditWorkloadDetail(r: AuditWorkloadRow): string {
  return auditWorkloadLine(r).slice(workloadLabel(r).length + 2);
}

const AUDIT_WORKLOAD_COLUMNS: Column<AuditWorkloadRow>[] = [
  { header: 'NAMESPACE', cell: (r) => r.namespace },
  { header: 'WORKLOAD', cell: (r) => `${r.kind}/${r.name}` },
  { header: 'PODS', cell: (r) => String(r.pods), align: 'right' },
  { header: 'NODES', cell: (r) => String(r.nodes), align: 'right' },
  { header: 'USES', cell: (r) => r.uses.join(',') },
  { header: 'STATUS', cell: (r) => r.status },
  { header: 'EXCEPTION', cell: (r) => r.exceptions.join(',') },
  { header: 'LABELLED', cell: (r) => `${r.labelled}/${r.pods}` },
  { header: 'DETAIL', cell: auditWorkloadDetail },
];

function paintAuditWorkload(r: AuditWorkloadRow, header: string): Paint {
  if (header === 'STATUS') return r.status === 'offender' ? 'red' : r.status === 'covered' ? 'green' : 'dim';
  if (header === 'LABELLED' && r.labelled < r.pods) return 'yellow';
  return undefined;
}

function workloadSummary(rows: readonly AuditWorkloadRow[]): string {
  const pods = rows.reduce((n, r) => n + r.pods, 0);
  const offending = rows.filter((r) => r.status === 'offender').length;
  return `${plural(rows.length, 'workload')} (${plural(pods, 'pod')}) using host namespaces: ${offending} with offenders`;
}

export function renderAuditWorkloadsTable(rows: readonly AuditWorkloadRow[], colour = false): string {
  if (rows.length === 0) return 'No pod uses a host namespace.\n';
  return (
    renderTable(AUDIT_WORKLOAD_COLUMNS, rows, { colour, paint: paintAuditWorkload }) + `\n${workloadSummary(rows)}\n`
  );
}

export function renderAuditWorkloadsMarkdown(rows: readonly AuditWorkloadRow[], now: DateTime): string {
  const head = `### Workloads using host namespaces (${rfc3339(now)})\n\n`;
  if (rows.length === 0) return `${head}No pod uses a host namespace.\n`;
  return `${head}${renderMarkdownTable(AUDIT_WORKLOAD_COLUMNS, rows)}\n${workloadSummary(rows)}\n`;
}

export function renderAuditWorkloadsJson(rows: readonly AuditWorkloadRow[], now: DateTime): string {
  const summary = workloadSummary(rows);
  return JSON.stringify({ generatedAt: rfc3339(now), summary, workloads: rows }, null, 2) + '\n';
}

// ---- review: the workloads depending on each exception -----------------------------------------

/** One dependent workload as review reports it. */
export interface ReviewWorkload {
  kind: string;
  namespace: string;
  name: string;
  pods: number;
  nodes: number;
  /** What it can no longer do once the exception lapses (or since it lapsed). */
  consequence: string;
}

/**
 * The workloads depending on each exception (keyed `namespace/name`): pods it alone covers, or
 * offenders it would still cover had it not lapsed. Same classification as buildReview.
 */
export function reviewImpact(
  exceptions: readonly (HostNamespaceException | Record<string, unknown>)[],
  pods: readonly PodLike[],
  lookup: ControllerLookup,
  options: Pick<ReviewOptions, 'now' | 'config'>,
): Map<string, WorkloadImpact[]> {
  const grants = grantsByNamespace(exceptions.map((e) => evaluateException(e, options.now, options.config)));
  return workloadImpact(
    pods.map((p) => {
      const facts = podFacts(p);
      const node = typeof p.spec?.nodeName === 'string' && p.spec.nodeName ? p.spec.nodeName : undefined;
      return {
        namespace: facts.namespace,
        cls: classifyPod(facts, grants.get(facts.namespace) ?? [], options.config.exemptNamespaces),
        workload: podWorkload(p, lookup),
        ...(node ? { nodeName: node } : {}),
      };
    }),
  );
}

export function reviewWorkloads(impact: readonly WorkloadImpact[]): ReviewWorkload[] {
  return impact.map((i) => ({
    kind: i.workload.kind,
    namespace: i.workload.namespace,
    name: i.workload.name,
    pods: i.pods,
    nodes: i.nodes,
    consequence: lostAbility(i.workload),
  }));
}

/**
 * The section after the review table: per exception, its dependent workloads. For one expiring
 * within the window or expired, the sentence saying what stops working when (the blast radius);
 * else the counts. `byPod` lists the pods instead of grouping them.
 */
export function renderReviewImpact(
  rows: readonly ReviewRow[],
  impact: ReadonlyMap<string, WorkloadImpact[]>,
  podsOf?: ReadonlyMap<string, string[]>,
): string {
  const lines: string[] = [];
  for (const r of rows) {
    const key = `${r.namespace}/${r.name}`;
    if (podsOf) {
      const names = podsOf.get(key) ?? [];
      if (names.length) lines.push(`  ${key}: ${plural(names.length, 'pod')}: ${names.join(', ')}`);
      continue;
    }
    const list = impact.get(key) ?? [];
    if (!list.length) continue;
    const lapsing = r.expiresAt && r.findings.some((f) => f.kind === 'expiring' || f.kind === 'expired');
    lines.push(`  ${key}:`);
    for (const i of list) {
      if (lapsing) lines.push(`    ${impactSentence(i, r.expiresAt!, r.phase === 'Expired')}`);
      else lines.push(`    ${workloadLabel(i.workload)}: ${plural(i.pods, 'pod')} on ${plural(i.nodes, 'node')}`);
    }
  }
  if (!lines.length) return '';
  const title = podsOf ? 'Pods depending on each exception:' : 'Workloads depending on each exception:';
  return `\n${title}\n${lines.join('\n')}\n`;
}

/** The pods depending on each exception (keyed `namespace/name`, names sorted), for --group-by pod. */
export function reviewImpactPods(
  exceptions: readonly (HostNamespaceException | Record<string, unknown>)[],
  pods: readonly PodLike[],
  options: Pick<ReviewOptions, 'now' | 'config'>,
): Map<string, string[]> {
  const grants = grantsByNamespace(exceptions.map((e) => evaluateException(e, options.now, options.config)));
  const out = new Map<string, string[]>();
  for (const p of pods) {
    const facts = podFacts(p);
    const cls = classifyPod(facts, grants.get(facts.namespace) ?? [], options.config.exemptNamespaces);
    for (const exception of dependedOn(cls)) {
      const key = `${facts.namespace}/${exception}`;
      out.set(key, [...(out.get(key) ?? []), facts.name]);
    }
  }
  for (const names of out.values()) names.sort();
  return out;
}
