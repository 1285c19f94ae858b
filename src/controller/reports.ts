// The OpenReports reconciler (optional, --policy-reports): one openreports.io/v1alpha1 Report per
// namespace, named hostns-operator, that Policy Reporter and Kyverno >= 1.15 read. A pure function
// of the caches: the pods using a host namespace as classification sees them (the same decision as
// the labels the pod reconciler writes) and the exceptions' findings. A namespace with nothing to
// report has no Report (ours is deleted).
import type { DateTime } from 'luxon';
import { API_VERSION, EXCEPTION_KIND, HOST_NAMESPACES } from '../api/v1alpha1.ts';
import type { PodRecord } from '../kube/pod-record.ts';
import type { Store } from '../kube/store.ts';
import type { EvaluatedException } from '../policy/evaluated.ts';
import { truncateUtf8 } from '../policy/limits.ts';
import type { ReconcileResult } from '../runtime/result.ts';
import type { Caches } from './caches.ts';
import type { Write } from './writes.ts';

export const REPORT_GROUP = 'openreports.io';
export const REPORT_API_VERSION = `${REPORT_GROUP}/v1alpha1`;
export const REPORT_PLURAL = 'reports';
/** Ours in each namespace: one fixed name, so the cache keeps only ours (transform by name). */
export const REPORT_NAME = 'hostns-operator';
export const REPORT_SOURCE = 'hostns-operator';
export const REPORT_MANAGED_BY = { 'app.kubernetes.io/managed-by': 'hostns-operator' };
/**
 * Results listed per Report; the rest are counted in `summary` and named in one last result. With
 * the message and property caps below a result stays under ~1.5 KiB, so a Report under ~750 KiB,
 * well inside etcd's 1.5 MiB per object, even in a namespace with thousands of pods.
 */
export const REPORT_MAX_RESULTS = 500;
const MESSAGE_MAX_BYTES = 512;
const PROPERTY_MAX_BYTES = 256;

export const POD_POLICY = 'hostns-host-namespaces';
export const EXCEPTION_POLICY = 'hostns-exception-lifecycle';

export type ResultStatus = 'pass' | 'fail' | 'warn' | 'error' | 'skip';
type Severity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface ReportResult {
  source: string;
  policy: string;
  rule: string;
  result: ResultStatus;
  severity?: Severity;
  category: string;
  message: string;
  scored: boolean;
  resources: { apiVersion: string; kind: string; namespace: string; name: string; uid: string }[];
  properties: Record<string, string>;
}

export interface Report {
  apiVersion: string;
  kind: 'Report';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
  };
  source: string;
  scope: { apiVersion: 'v1'; kind: 'Namespace'; name: string };
  configuration: { limits: { maxResults: number } };
  summary: Record<ResultStatus, number>;
  results: ReportResult[];
}

/** Listed first when results must be cut: what needs action before what is fine. */
const ORDER: Record<ResultStatus, number> = { fail: 0, error: 1, warn: 2, pass: 3, skip: 4 };

const bounded = (text: string, max: number) => truncateUtf8(text, max);
const props = (p: Record<string, string>) =>
  Object.fromEntries(Object.entries(p).map(([k, v]) => [k, bounded(v, PROPERTY_MAX_BYTES)]));

function podResult(pod: PodRecord, caches: Caches, grants: ReturnType<Caches['grantsIn']>): ReportResult | undefined {
  const cls = caches.classify(pod, grants);
  if (cls.kind === 'clean') return undefined;
  const uses = cls.used.join(',');
  const base = {
    source: REPORT_SOURCE,
    policy: POD_POLICY,
    rule: 'host-namespaces',
    category: 'Pod Security',
    scored: true,
    resources: [{ apiVersion: 'v1', kind: 'Pod', namespace: pod.namespace, name: pod.name, uid: pod.uid }],
  };
  switch (cls.kind) {
    case 'offender': {
      const lapsed = cls.lapsed.map((l) => l.name).join(',');
      const message =
        `uses ${uses}; not allowed: ${cls.uncovered.join(',')}` + (lapsed ? ` (lapsed exception: ${lapsed})` : '');
      return {
        ...base,
        result: 'fail',
        severity: 'high',
        message: bounded(message, MESSAGE_MAX_BYTES),
        properties: props({ uses, notAllowed: cls.uncovered.join(','), ...(lapsed ? { lapsed } : {}) }),
      };
    }
    case 'covered':
      // `exception` is the pod's hostns.io/exception label (the first by name), `exceptions` all of them.
      return {
        ...base,
        result: 'pass',
        message: bounded(
          `uses ${uses}, allowed by HostNamespaceException ${cls.exceptions.join(', ')}`,
          MESSAGE_MAX_BYTES,
        ),
        properties: props({ uses, exception: cls.exceptions[0]!, exceptions: cls.exceptions.join(',') }),
      };
    case 'exempt':
      return {
        ...base,
        result: 'skip',
        message: `uses ${uses}; the namespace is exempt`,
        properties: props({ uses }),
      };
  }
}

/** Expiring, review overdue, invalid, not enforced: the exception findings a platform team acts on. */
function exceptionResults(e: EvaluatedException, caches: Caches, namespace: string, now: DateTime): ReportResult[] {
  const { facts, lifecycle } = e;
  const uid = (e.raw as { metadata?: { uid?: string } }).metadata?.uid ?? '';
  const resource = { apiVersion: API_VERSION, kind: EXCEPTION_KIND, namespace, name: facts.name, uid };
  const result = (rule: string, status: ResultStatus, severity: Severity, message: string): ReportResult => ({
    source: REPORT_SOURCE,
    policy: EXCEPTION_POLICY,
    rule,
    result: status,
    severity,
    category: 'Host Namespace Exceptions',
    message: bounded(message, MESSAGE_MAX_BYTES),
    scored: true,
    resources: [resource],
    properties: props({ owner: facts.owner, allow: facts.allow.join(','), phase: lifecycle.phase }),
  });
  const out: ReportResult[] = [];
  if (lifecycle.phase === 'Invalid')
    out.push(result('invalid', 'fail', 'medium', `invalid: ${lifecycle.problems.join('; ')}`));
  if (lifecycle.phase === 'ExpiringSoon' && facts.expiresAt) {
    out.push(
      result('expiring', 'warn', 'low', `expires at ${facts.expiresAt.toUTC().toISO({ suppressMilliseconds: true })}`),
    );
  }
  if (lifecycle.reviewOverdue && lifecycle.reviewDueAt) {
    const due = lifecycle.reviewDueAt.toUTC().toISO({ suppressMilliseconds: true });
    out.push(result('review-overdue', 'warn', 'low', `review overdue since ${due}`));
  }
  const enforcement = caches.enforcementIn(namespace, now)(e);
  if (!enforcement.enforced && enforcement.reason !== 'GrantsPending' && enforcement.reason !== 'NothingGranted') {
    out.push(result('not-enforced', 'fail', 'medium', `not enforced (${enforcement.reason}): ${enforcement.message}`));
  }
  return out;
}

const resultKey = (r: ReportResult) => `${ORDER[r.result]}/${r.policy}/${r.resources[0]?.name ?? ''}/${r.rule}`;

/** The Report `namespace` should have now; undefined when it has nothing to report. */
export function desiredReport(
  namespace: string,
  caches: Caches,
  now: DateTime,
  maxResults = REPORT_MAX_RESULTS,
): Report | undefined {
  const grants = caches.grantsIn(namespace, now);
  const results: ReportResult[] = [];
  for (const key of caches.pods.keysIn(namespace)) {
    const pod = caches.pods.get(key);
    if (!pod || !HOST_NAMESPACES.some((f) => pod[f])) continue;
    const r = podResult(pod, caches, grants);
    if (r) results.push(r);
  }
  for (const e of caches.evaluatedIn(namespace, now)) results.push(...exceptionResults(e, caches, namespace, now));
  if (results.length === 0) return undefined;
  results.sort((a, b) => (resultKey(a) < resultKey(b) ? -1 : resultKey(a) > resultKey(b) ? 1 : 0));

  const summary: Record<ResultStatus, number> = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const r of results) summary[r.result]++;
  const listed = results.length > maxResults ? results.slice(0, maxResults - 1) : results;
  if (listed.length < results.length) listed.push(omitted(namespace, results.slice(listed.length), maxResults));
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'Report',
    metadata: { name: REPORT_NAME, namespace, labels: { ...REPORT_MANAGED_BY } },
    source: REPORT_SOURCE,
    scope: { apiVersion: 'v1', kind: 'Namespace', name: namespace },
    configuration: { limits: { maxResults } },
    summary,
    results: listed,
  };
}

/** The one result standing for those cut: how many of each status (the summary counts them all). */
function omitted(namespace: string, rest: readonly ReportResult[], maxResults: number): ReportResult {
  const counts = Object.entries(
    rest.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.result]: (acc[r.result] ?? 0) + 1 }), {}),
  ).map(([status, n]) => `${n} ${status}`);
  return {
    source: REPORT_SOURCE,
    policy: POD_POLICY,
    rule: 'results-omitted',
    result: 'skip',
    category: 'Pod Security',
    message:
      `${rest.length} more results not listed (at most ${maxResults} per Report): ${counts.join(', ')}; ` +
      `kubectl hostns audit -n ${namespace} lists every pod`,
    scored: false,
    resources: [],
    properties: { omitted: String(rest.length) },
  };
}

/** The fields we own, to compare what is written with what is desired. */
export function reportContent(r: Report): unknown {
  return {
    labels: r.metadata.labels ?? {},
    source: r.source,
    scope: r.scope,
    configuration: r.configuration,
    summary: r.summary,
    results: r.results,
  };
}

export function reconcileReport(
  namespace: string,
  caches: Caches,
  written: Store<Report>,
  now: DateTime,
): ReconcileResult<Write> {
  const current = written.get(`${namespace}/${REPORT_NAME}`);
  const report = caches.namespaces.get(namespace)?.terminating ? undefined : desiredReport(namespace, caches, now);
  if (!report && !current) return { writes: [] };
  // Time alone changes the exceptions' findings: their transitions wake the exception reconciler,
  // whose status write queues this key again (wiring.ts).
  return { writes: [{ kind: 'report', namespace, report, current }] };
}
