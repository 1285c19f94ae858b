// The monthly review: every exception with what a reviewer needs and what needs action, urgent first.
import type { DateTime, Duration } from 'luxon';
import type { ExceptionPhase, HostNamespace, HostNamespaceException } from '../api/v1alpha1.ts';
import { podCoverage } from '../policy/evaluated.ts';
import { formatDuration, type PolicyConfig } from '../policy/config.ts';
import { rfc3339 } from '../policy/grants.ts';
import { formatSelector } from '../policy/selector.ts';
import {
  controlTallies,
  renderControlsMarkdown,
  renderControlsTable,
  untallied,
  withNetworkRestriction,
  type ControlTally,
} from './controls.ts';
import { daysUntil, formatDate, renderMarkdownTable, renderTable, type Column, type Paint } from './format.ts';
import { evaluateException, grantsByNamespace, podFacts, type EvaluatedException, type PodLike } from './model.ts';

/** Finding kinds, in the order of urgency used for sorting. */
export const REVIEW_FINDINGS = [
  'invalid',
  'expired',
  'not-enforced',
  'expiring',
  'review-overdue',
  'lifetime-over-max',
  'partial-coverage',
  'unused',
  'no-enforced-controls',
] as const;
export type ReviewFindingKind = (typeof REVIEW_FINDINGS)[number];

export interface ReviewFinding {
  kind: ReviewFindingKind;
  message: string;
}

export interface ReviewRow {
  namespace: string;
  name: string;
  owner: string;
  allow: HostNamespace[];
  selector: string;
  phase: ExceptionPhase;
  expiresAt?: string;
  /** Whole days until expiry; negative once expired. */
  daysLeft?: number;
  /** Pods this exception covers fully now, computed from the pods (not from status). */
  coveredPods: number;
  /** Offenders it covers only in part (it allows some host namespace they use, not all). */
  partlyCoveredPods: number;
  ticket?: string;
  acceptedBy?: string;
  lastReviewedAt?: string;
  reviewedBy?: string;
  reviewDueAt?: string;
  compensatingControls: string[];
  /** Each of spec.riskAcceptance.enforcedControls over the pods the exception is meant for. */
  enforcedControls: ControlTally[];
  findings: ReviewFinding[];
  /** Why the exception is Invalid. */
  problems: string[];
}

export interface ReviewOptions {
  now: DateTime;
  config: PolicyConfig;
  /** Report exceptions expiring within this window (the issue's default: 30 days). */
  within: Duration;
  /** The cluster's NetworkPolicies, to check networkRestricted as the operator does (unset: unchecked). */
  networkPolicies?: readonly unknown[];
}

const LIFETIME_PROBLEM = /^lifetime from .* over the maximum/;

/**
 * One row per exception. Pods are those of the namespaces the exceptions live in (the caller lists
 * the same scope for both). Coverage is what classification says now, with the exempt namespaces
 * of the config, so it agrees with the labels the operator writes.
 */
export function buildReview(
  exceptions: readonly (HostNamespaceException | Record<string, unknown>)[],
  pods: readonly PodLike[],
  options: ReviewOptions,
): ReviewRow[] {
  const { now, config, within } = options;
  const evaluated = exceptions.map((e) => evaluateException(e, now, config));
  const grants = grantsByNamespace(evaluated);
  const facts = withNetworkRestriction(
    pods.map((p) => podFacts(p)),
    options.networkPolicies,
  );
  const coverage = podCoverage(facts, (ns) => grants.get(ns) ?? [], config.exemptNamespaces);
  const controls = controlTallies(facts, (ns) => grants.get(ns) ?? [], config.exemptNamespaces);
  const rows = evaluated.map((e) => {
    const k = key(e.facts.namespace, e.facts.name);
    const counts = { full: coverage.full.get(k) ?? 0, partial: coverage.partial.get(k) ?? 0 };
    const enforcedControls = controls.get(k) ?? (e.facts.contract.controls ?? []).map(untallied);
    return { ...reviewRow(e, counts, now, within, config), enforcedControls };
  });
  return rows.sort(compareUrgency);
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function reviewRow(
  e: EvaluatedException,
  pods: { full: number; partial: number },
  now: DateTime,
  within: Duration,
  config: PolicyConfig,
): Omit<ReviewRow, 'enforcedControls'> {
  const coveredPods = pods.full;
  const { facts, lifecycle } = e;
  const spec = ((e.raw as Partial<HostNamespaceException>).spec ?? {}) as Partial<HostNamespaceException['spec']>;
  const ra = spec.riskAcceptance ?? ({} as Partial<HostNamespaceException['spec']['riskAcceptance']>);
  const findings: ReviewFinding[] = [];
  const daysLeft = facts.expiresAt ? daysUntil(facts.expiresAt, now) : undefined;
  const problems = lifecycle.problems;

  if (lifecycle.phase === 'Invalid') findings.push({ kind: 'invalid', message: `invalid: ${problems.join('; ')}` });
  const operatorInvalid = lifecycle.phase === 'Invalid' ? undefined : invalidCondition(e.raw);
  if (operatorInvalid) findings.push({ kind: 'invalid', message: `invalid (the operator says): ${operatorInvalid}` });
  if (facts.expiresAt && facts.expiresAt <= now) {
    const ago = Math.floor(now.diff(facts.expiresAt, 'days').days);
    findings.push({ kind: 'expired', message: ago === 0 ? 'expired today' : `expired ${ago}d ago` });
  } else if (facts.expiresAt && facts.expiresAt.diff(now) <= within) {
    findings.push({
      kind: 'expiring',
      message: `expires in ${Math.max(0, daysLeft ?? 0)}d (within ${formatDuration(within)})`,
    });
  }
  const notEnforced = notEnforcedCondition(e.raw);
  if (notEnforced && (lifecycle.phase === 'Active' || lifecycle.phase === 'ExpiringSoon')) {
    const message = `not enforced (${notEnforced.reason}): its pods are refused at admission`;
    findings.push({ kind: 'not-enforced', message });
  }
  if (lifecycle.reviewOverdue && lifecycle.reviewDueAt) {
    findings.push({
      kind: 'review-overdue',
      message: `review overdue since ${lifecycle.reviewDueAt.toUTC().toFormat('yyyy-MM-dd')}`,
    });
  }
  if (problems.some((p) => LIFETIME_PROBLEM.test(p))) {
    findings.push({
      kind: 'lifetime-over-max',
      message: `lifetime over the maximum of ${formatDuration(config.maxLifetime)}`,
    });
  }
  if (pods.partial > 0) {
    const n = pods.partial;
    findings.push({
      kind: 'partial-coverage',
      message:
        `covers ${n} pod${n === 1 ? '' : 's'} only in part ` +
        '(they use host namespaces it does not allow: offenders)',
    });
  }
  if (coveredPods === 0 && pods.partial === 0 && lifecycle.phase !== 'Invalid' && lifecycle.phase !== 'Expired') {
    findings.push({ kind: 'unused', message: 'covers no pod' });
  }
  if (!facts.contract.controls?.length && lifecycle.phase !== 'Invalid' && lifecycle.phase !== 'Expired') {
    const message = 'enforces no control (spec.riskAcceptance.enforcedControls is empty): nothing checks its pods';
    findings.push({ kind: 'no-enforced-controls', message });
  }

  return {
    namespace: facts.namespace,
    name: facts.name,
    owner: facts.owner,
    allow: facts.allow,
    selector: formatSelector(facts.selector),
    phase: lifecycle.phase,
    expiresAt: facts.expiresAt ? rfc3339(facts.expiresAt) : undefined,
    daysLeft,
    coveredPods,
    partlyCoveredPods: pods.partial,
    ticket: typeof ra.ticket === 'string' ? ra.ticket : undefined,
    acceptedBy: typeof ra.acceptedBy === 'string' ? ra.acceptedBy : undefined,
    lastReviewedAt: facts.lastReviewedAt ? rfc3339(facts.lastReviewedAt) : undefined,
    reviewedBy: typeof spec.review?.reviewedBy === 'string' ? spec.review.reviewedBy : undefined,
    reviewDueAt: lifecycle.reviewDueAt ? rfc3339(lifecycle.reviewDueAt) : undefined,
    compensatingControls: Array.isArray(ra.compensatingControls)
      ? ra.compensatingControls.filter((c) => typeof c === 'string')
      : [],
    findings,
    problems,
  };
}

/**
 * The operator's Enforced=False condition, when it speaks of the current spec (the operator's
 * record: only it sees the grants objects admission reads). A pending write is not a finding.
 */
function notEnforcedCondition(raw: Partial<HostNamespaceException>): { reason: string } | undefined {
  const conditions = Array.isArray(raw.status?.conditions) ? raw.status.conditions : [];
  const c = conditions.find((x) => x?.type === 'Enforced');
  if (!c || c.status !== 'False' || c.reason === 'GrantsPending') return undefined;
  const generation = raw.metadata?.generation;
  if (c.observedGeneration !== undefined && generation !== undefined && c.observedGeneration !== generation)
    return undefined;
  return { reason: String(c.reason) };
}

/**
 * The operator's Valid=False message for the current spec, when it finds the exception Invalid for
 * a reason outside the object the CLI reads (its namespace not one where exceptions may exist,
 * --exception-namespace-label) or under other settings than the CLI's flags.
 */
function invalidCondition(raw: Partial<HostNamespaceException>): string | undefined {
  const conditions = Array.isArray(raw.status?.conditions) ? raw.status.conditions : [];
  const c = conditions.find((x) => x?.type === 'Valid');
  if (!c || c.status !== 'False') return undefined;
  const generation = raw.metadata?.generation;
  if (c.observedGeneration !== undefined && generation !== undefined && c.observedGeneration !== generation)
    return undefined;
  return String(c.message);
}

function urgency(row: ReviewRow): number {
  const ranks = row.findings.map((f) => REVIEW_FINDINGS.indexOf(f.kind));
  return ranks.length ? Math.min(...ranks) : REVIEW_FINDINGS.length;
}

/** Most urgent finding first, then soonest expiry, then namespace/name. */
export function compareUrgency(a: ReviewRow, b: ReviewRow): number {
  return (
    urgency(a) - urgency(b) ||
    (a.expiresAt ?? '9999').localeCompare(b.expiresAt ?? '9999') ||
    a.namespace.localeCompare(b.namespace) ||
    a.name.localeCompare(b.name)
  );
}

const dateOf = (iso: string | undefined) => (iso ? iso.slice(0, 10) : '');

export const REVIEW_COLUMNS: Column<ReviewRow>[] = [
  { header: 'NAMESPACE', cell: (r) => r.namespace },
  { header: 'NAME', cell: (r) => r.name },
  { header: 'OWNER', cell: (r) => r.owner },
  { header: 'ALLOW', cell: (r) => r.allow.join(',') },
  { header: 'PHASE', cell: (r) => r.phase },
  { header: 'EXPIRES', cell: (r) => dateOf(r.expiresAt) },
  { header: 'DAYS LEFT', cell: (r) => (r.daysLeft === undefined ? '' : String(r.daysLeft)), align: 'right' },
  { header: 'PODS', cell: (r) => String(r.coveredPods), align: 'right' },
  { header: 'TICKET', cell: (r) => r.ticket ?? '' },
  {
    header: 'LAST REVIEW',
    cell: (r) =>
      r.lastReviewedAt ? `${dateOf(r.lastReviewedAt)}${r.reviewedBy ? ` by ${r.reviewedBy}` : ''}` : 'never',
  },
  { header: 'CONTROLS', cell: (r) => r.compensatingControls.join('; ') },
  { header: 'FINDINGS', cell: (r) => r.findings.map((f) => f.message).join('; ') },
];

export function paintReview(r: ReviewRow, header: string): Paint {
  if (header !== 'FINDINGS' && header !== 'PHASE') return undefined;
  if (r.phase === 'Invalid' || r.phase === 'Expired') return 'red';
  if (header === 'FINDINGS' && r.findings.length > 0) return 'yellow';
  if (r.phase === 'ExpiringSoon') return 'yellow';
  return header === 'PHASE' ? 'green' : undefined;
}

export function reviewSummary(rows: readonly ReviewRow[]): string {
  const withFindings = rows.filter((r) => r.findings.length > 0).length;
  const counts = REVIEW_FINDINGS.map(
    (k) => [k, rows.filter((r) => r.findings.some((f) => f.kind === k)).length] as const,
  ).filter(([, n]) => n > 0);
  const detail = counts.length ? ` (${counts.map(([k, n]) => `${n} ${k}`).join(', ')})` : '';
  return `${rows.length} exception${rows.length === 1 ? '' : 's'}, ${withFindings} with findings${detail}`;
}

export function renderReviewTable(rows: readonly ReviewRow[], colour = false): string {
  if (rows.length === 0) return 'No HostNamespaceException found.\n';
  const table = renderTable(REVIEW_COLUMNS, rows, { colour, paint: paintReview });
  return `${table}${renderControlsTable(rows)}\n${reviewSummary(rows)}\n`;
}

export function renderReviewMarkdown(rows: readonly ReviewRow[], now: DateTime): string {
  const head = `### Host namespace exceptions: review of ${formatDate(now)}\n\n`;
  if (rows.length === 0) return `${head}No HostNamespaceException found.\n`;
  const table = renderMarkdownTable(REVIEW_MARKDOWN_COLUMNS, rows);
  return `${head}${table}${renderControlsMarkdown(rows)}\n${reviewSummary(rows)}\n`;
}

/** The table's columns plus the selector, for the review ticket. */
export const REVIEW_MARKDOWN_COLUMNS: Column<ReviewRow>[] = [
  ...REVIEW_COLUMNS.slice(0, 10),
  { header: 'SELECTOR', cell: (r) => r.selector },
  ...REVIEW_COLUMNS.slice(10),
];

export function renderReviewJson(rows: readonly ReviewRow[], now: DateTime): string {
  return JSON.stringify({ generatedAt: rfc3339(now), summary: reviewSummary(rows), exceptions: rows }, null, 2) + '\n';
}
