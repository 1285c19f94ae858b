// The live audit: every pod using a host namespace, classified exactly as the operator does.
import type { DateTime } from 'luxon';
import type { HostNamespace, HostNamespaceException } from '../api/v1alpha1.ts';
import { ANNOTATION_VIOLATION_EVENT, LABEL_EXCEPTION, LABEL_VIOLATION } from '../api/v1alpha1.ts';
import { classifyPod } from '../policy/classify.ts';
import type { PolicyConfig } from '../policy/config.ts';
import { rfc3339 } from '../policy/grants.ts';
import { currentMarks, desiredMarks, marksPatch } from '../policy/pod-marks.ts';
import { describeBreach, type ContractBreach } from '../policy/contract.ts';
import { describePodControls, podControls, withNetworkRestriction, type PodControls } from './controls.ts';
import { renderMarkdownTable, renderTable, type Column, type Paint } from './format.ts';
import { evaluateException, grantsByNamespace, podFacts, type PodLike } from './model.ts';

export type AuditStatus = 'covered' | 'offender' | 'exempt';

export interface AuditRow {
  namespace: string;
  name: string;
  uses: HostNamespace[];
  status: AuditStatus;
  /** Granting exceptions covering (part of) what the pod uses. */
  exceptions: string[];
  /** Flags no granting exception covers (offenders only). */
  uncovered: HostNamespace[];
  /** Expired exceptions that would have covered an uncovered flag. */
  lapsed: { name: string; owner: string }[];
  /**
   * Exceptions that select the pod but whose contract it breaks: each breach as one line, and a
   * short form for the table (binding breaches in full, controls by name: CONTROLS has the where).
   */
  brokenContracts: { exception: string; breaches: string[]; summary: string }[];
  /** The enforced controls of each exception meant for the pod: met, and broken where. */
  controls: PodControls[];
  phase?: string;
  /** The operator's marks on the pod agree with this classification. */
  labelled: boolean;
  /** What the operator's label says now: `violation`, `exception=<name>` or empty. */
  operatorLabel: string;
}

export interface AuditOptions {
  now: DateTime;
  config: PolicyConfig;
  /** The cluster's NetworkPolicies, to check networkRestricted as the operator does (unset: unchecked). */
  networkPolicies?: readonly unknown[];
}

/** Pods that use no host namespace are left out; rows sorted offenders first, then by namespace/name. */
export function buildAudit(
  pods: readonly PodLike[],
  exceptions: readonly (HostNamespaceException | Record<string, unknown>)[],
  options: AuditOptions,
): AuditRow[] {
  const grants = grantsByNamespace(exceptions.map((e) => evaluateException(e, options.now, options.config)));
  const rows: AuditRow[] = [];
  const allFacts = withNetworkRestriction(
    pods.map((p) => podFacts(p)),
    options.networkPolicies,
  );
  for (const [i, pod] of pods.entries()) {
    const facts = allFacts[i]!;
    const cls = classifyPod(facts, grants.get(facts.namespace) ?? [], options.config.exemptNamespaces);
    if (cls.kind === 'clean') continue;
    const current = currentMarks(pod.metadata?.labels, pod.metadata?.annotations);
    const labels = pod.metadata?.labels ?? {};
    rows.push({
      namespace: facts.namespace,
      name: facts.name,
      uses: cls.used,
      status: cls.kind,
      exceptions: cls.kind === 'exempt' ? [] : cls.exceptions,
      uncovered: cls.kind === 'offender' ? cls.uncovered : [],
      lapsed: cls.kind === 'offender' ? cls.lapsed : [],
      brokenContracts:
        cls.kind === 'offender'
          ? cls.broken.map((b) => ({
              exception: b.exception,
              breaches: b.breaches.map(describeBreach),
              summary: breachSummary(b.breaches),
            }))
          : [],
      controls: cls.kind === 'exempt' ? [] : podControls(facts, grants.get(facts.namespace) ?? [], new Set()),
      phase: pod.status?.phase,
      // The Event marker records what the operator raised; it is not a mark audit can judge.
      labelled: marksPatch(current, desiredMarks(cls, current.annotations[ANNOTATION_VIOLATION_EVENT])) === undefined,
      operatorLabel:
        labels[LABEL_VIOLATION] !== undefined
          ? `violation=${labels[LABEL_VIOLATION]}`
          : labels[LABEL_EXCEPTION] !== undefined
            ? `exception=${labels[LABEL_EXCEPTION]}`
            : '',
    });
  }
  const order: Record<AuditStatus, number> = { offender: 0, covered: 1, exempt: 2 };
  return rows.sort(
    (a, b) =>
      order[a.status] - order[b.status] || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name),
  );
}

/** Binding breaches in full; broken controls by name only (the CONTROLS column says where). */
function breachSummary(breaches: readonly ContractBreach[]): string {
  const controls = [...new Set(breaches.flatMap((b) => (b.kind === 'control' ? [b.control] : [])))];
  const others = breaches.filter((b) => b.kind !== 'control').map(describeBreach);
  const unread = breaches.length === 0 ? ['its security profile could not be read to check'] : [];
  return [...unread, ...others, ...(controls.length ? [`breaks ${controls.join(', ')}`] : [])].join('; ');
}

export function auditSummary(rows: readonly AuditRow[]): {
  pods: number;
  offenders: number;
  covered: number;
  exempt: number;
  unlabelled: number;
} {
  return {
    pods: rows.length,
    offenders: rows.filter((r) => r.status === 'offender').length,
    covered: rows.filter((r) => r.status === 'covered').length,
    exempt: rows.filter((r) => r.status === 'exempt').length,
    unlabelled: rows.filter((r) => !r.labelled).length,
  };
}

function summaryLine(rows: readonly AuditRow[]): string {
  const s = auditSummary(rows);
  const disagree = s.unlabelled ? `; ${s.unlabelled} not (yet) labelled accordingly by the operator` : '';
  return `${s.pods} pod${s.pods === 1 ? '' : 's'} using host namespaces: ${s.offenders} offender${s.offenders === 1 ? '' : 's'}, ${s.covered} covered, ${s.exempt} exempt${disagree}`;
}

function detail(r: AuditRow): string {
  if (r.status === 'covered') return `by ${r.exceptions.join(', ')}`;
  if (r.status === 'exempt') return 'exempt namespace';
  const parts = [`not allowed: ${r.uncovered.join(',')}`];
  if (r.exceptions.length) parts.push(`partly covered by ${r.exceptions.join(', ')}`);
  if (r.lapsed.length) parts.push(`expired: ${r.lapsed.map((l) => `${l.name} (owner ${l.owner})`).join(', ')}`);
  for (const b of r.brokenContracts) parts.push(`contract of ${b.exception} broken: ${b.summary}`);
  return parts.join('; ');
}

const AUDIT_COLUMNS: Column<AuditRow>[] = [
  { header: 'NAMESPACE', cell: (r) => r.namespace },
  { header: 'POD', cell: (r) => r.name },
  { header: 'USES', cell: (r) => r.uses.join(',') },
  { header: 'STATUS', cell: (r) => r.status },
  { header: 'EXCEPTION', cell: (r) => r.exceptions.join(',') },
  { header: 'LABELLED', cell: (r) => (r.labelled ? 'yes' : 'no') },
  { header: 'CONTROLS', cell: (r) => describePodControls(r.controls) },
  { header: 'DETAIL', cell: detail },
];

function paintAudit(r: AuditRow, header: string): Paint {
  if (header === 'STATUS') return r.status === 'offender' ? 'red' : r.status === 'covered' ? 'green' : 'dim';
  if (header === 'LABELLED' && !r.labelled) return 'yellow';
  return undefined;
}

export function renderAuditTable(rows: readonly AuditRow[], colour = false): string {
  if (rows.length === 0) return 'No pod uses a host namespace.\n';
  return renderTable(AUDIT_COLUMNS, rows, { colour, paint: paintAudit }) + `\n${summaryLine(rows)}\n`;
}

export function renderAuditMarkdown(rows: readonly AuditRow[], now: DateTime): string {
  const head = `### Pods using host namespaces (${rfc3339(now)})\n\n`;
  if (rows.length === 0) return `${head}No pod uses a host namespace.\n`;
  return `${head}${renderMarkdownTable(AUDIT_COLUMNS, rows)}\n${summaryLine(rows)}\n`;
}

export function renderAuditJson(rows: readonly AuditRow[], now: DateTime): string {
  return JSON.stringify({ generatedAt: rfc3339(now), summary: auditSummary(rows), pods: rows }, null, 2) + '\n';
}
