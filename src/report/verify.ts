// `kubectl hostns verify`, the pure part: probe pods, labels that select (or avoid) exceptions,
// and the verdict from each dry-run answer. The shell (src/cli/verify.ts) sends the probes.
import type { DateTime } from 'luxon';
import {
  GRANT_INDEX_NAME,
  GRANTS_NAME,
  HOST_NAMESPACES,
  type HostNamespace,
  type LabelSelector,
} from '../api/v1alpha1.ts';
import type { ExceptionPhase } from '../api/v1alpha1.ts';
import { rfc3339 } from '../policy/grants.ts';
import { formatSelector, matchesLabelSelector, matchesSelector, type Labels } from '../policy/selector.ts';
import { renderTable, type Column, type Paint } from './format.ts';

export const PROBE_IMAGE = 'registry.k8s.io/pause:3.10';
/** Every probe carries these labels (unless an exception's selector needs the key otherwise). */
export const PROBE_LABELS: Readonly<Record<string, string>> = Object.freeze({
  'app.kubernetes.io/name': 'hostns-verify',
  'app.kubernetes.io/managed-by': 'kubectl-hostns',
});
/** The admission policy config/admission installs: grants of the namespace or refused (policy.yaml). */
export const HOSTNS_POLICY = 'hostns-host-namespaces';
/** Its companion: refuses host namespaces where the namespace's grants object is missing (required.yaml). */
export const REQUIRED_POLICY = 'hostns-grants-required';
const OUR_POLICIES: readonly string[] = [HOSTNS_POLICY, REQUIRED_POLICY];
/** Whether a refusal or warning came from this project's policies. */
export const isOurPolicy = (by: string | undefined): boolean => by !== undefined && OUR_POLICIES.includes(by);

export type ProbePurpose = 'control' | HostNamespace | 'exception';

/**
 * A valid pod that the `restricted` Pod Security level admits but for its host flags: so a
 * refusal of a flag probe, after the control probe (no flag) was admitted, is about the flag.
 * Never stored: it is only sent with dryRun=All.
 */
export function probePod(
  purpose: ProbePurpose,
  flags: readonly HostNamespace[],
  labels: Labels,
): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    automountServiceAccountToken: false,
    restartPolicy: 'Never',
    terminationGracePeriodSeconds: 0,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65535,
      runAsGroup: 65535,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    containers: [
      {
        name: 'probe',
        image: PROBE_IMAGE,
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        },
        resources: { requests: { cpu: '1m', memory: '8Mi' }, limits: { cpu: '10m', memory: '16Mi' } },
      },
    ],
  };
  for (const f of flags) spec[f] = true;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `hostns-verify-${purpose.toLowerCase()}-`,
      labels: { ...labels },
      annotations: { 'hostns.io/verify': 'dry-run probe of kubectl hostns verify; never stored' },
    },
    spec,
  };
}

export type LabelsForSelector = { ok: true; labels: Record<string, string> } | { ok: false; why: string };

/**
 * Labels a probe needs to be selected by `selector`, on top of PROBE_LABELS: matchLabels,
 * In (a value allowed by every In of the key), Exists; NotIn and DoesNotExist are met by leaving a
 * key out or choosing another value. Reports why when no label set can satisfy it.
 */
export function labelsSelectedBy(selector: LabelSelector): LabelsForSelector {
  const keys = new Set<string>([
    ...Object.keys(selector.matchLabels ?? {}),
    ...(selector.matchExpressions ?? []).map((r) => r.key),
  ]);
  const labels: Record<string, string> = { ...PROBE_LABELS };
  for (const key of [...keys].sort()) {
    const reqs = (selector.matchExpressions ?? []).filter((r) => r.key === key);
    const equal = selector.matchLabels?.[key];
    const inSets = reqs.filter((r) => r.operator === 'In').map((r) => r.values ?? []);
    const notIn = new Set(reqs.filter((r) => r.operator === 'NotIn').flatMap((r) => r.values ?? []));
    const mustExist = equal !== undefined || inSets.length > 0 || reqs.some((r) => r.operator === 'Exists');
    if (reqs.some((r) => r.operator === 'DoesNotExist')) {
      if (mustExist) return { ok: false, why: `key ${key} must both exist and not exist` };
      delete labels[key];
      continue;
    }
    if (!mustExist) {
      if (labels[key] !== undefined && notIn.has(labels[key])) delete labels[key];
      continue;
    }
    let candidates = equal !== undefined ? [equal] : inSets.length ? [...inSets[0]!].sort() : ['hostns-verify'];
    for (const set of inSets) candidates = candidates.filter((v) => set.includes(v));
    candidates = candidates.filter((v) => !notIn.has(v));
    if (candidates.length === 0) return { ok: false, why: `no value of key ${key} satisfies all of its requirements` };
    labels[key] = candidates[0]!;
  }
  // the per-key reasoning above is the whole selector semantics; checked against the real matcher
  if (!matchesSelector(selector, labels)) return { ok: false, why: 'no label set satisfies it' };
  return { ok: true, labels };
}

/**
 * Labels that no selector in `avoid` selects, so that a flag probe is not covered by an
 * exception: PROBE_LABELS, plus keys set to defeat DoesNotExist / NotIn requirements. A selector
 * that selects every pod (`{}`) cannot be avoided: returned in `unavoidable`.
 */
export function labelsAvoiding(avoid: readonly { name: string; selector: LabelSelector }[]): {
  labels: Record<string, string>;
  unavoidable: string[];
} {
  const labels: Record<string, string> = { ...PROBE_LABELS };
  for (const { selector } of avoid) {
    if (!matchesSelector(selector, labels)) continue;
    // a selector matching the probe has only NotIn / DoesNotExist left to defeat (or nothing)
    for (const r of selector.matchExpressions ?? []) {
      if (r.operator === 'DoesNotExist' && labels[r.key] === undefined) labels[r.key] = 'hostns-verify';
      else if (r.operator === 'NotIn' && r.values?.length && labels[r.key] === undefined) labels[r.key] = r.values[0]!;
      if (!matchesSelector(selector, labels)) break;
    }
  }
  const unavoidable = avoid.filter((a) => matchesSelector(a.selector, labels)).map((a) => a.name);
  return { labels, unavoidable };
}

/** What the API server answered to one dry-run create. */
export type ProbeAnswer =
  | { admitted: true; warnings: string[] }
  | { admitted: false; status: number; reason: string; message: string; warnings: string[] };

/** Values of `Warning` response headers (RFC 7234: `299 - "text"`, several joined by ", "). */
export function parseWarningHeader(value: string | null | undefined): string[] {
  if (!value) return [];
  const out: string[] = [];
  for (const m of value.matchAll(/\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, '$1'));
  return out;
}

/** Who refused or warned: our policy, Pod Security Admission, another policy or webhook. */
export function admissionSource(message: string): string | undefined {
  const vap = /ValidatingAdmissionPolicy '([^']+)'/.exec(message);
  if (vap) return isOurPolicy(vap[1]) ? vap[1] : `ValidatingAdmissionPolicy ${vap[1]}`;
  if (/violates? PodSecurity|would violate PodSecurity/.test(message)) return 'PodSecurity';
  const webhook = /admission webhook "([^"]+)"/.exec(message);
  if (webhook) return `webhook ${webhook[1]}`;
  return undefined;
}

/** RBAC refusals name the verb and resource; admission refusals do not. */
export function isRbacRefusal(answer: ProbeAnswer): boolean {
  return !answer.admitted && answer.status === 403 && /cannot create resource "pods"/.test(answer.message);
}

export type FlagVerdict =
  /** Refused: enforced (by whom in `by`). */
  | 'refused'
  /** Admitted with a warning about it: warn mode, not enforced. */
  | 'warned'
  /** Admitted silently: not enforced. */
  | 'admitted'
  /** Admitted while an exception selecting every pod allows the flag: enforcement not provable. */
  | 'covered'
  /** The probe proves nothing (control refused, unexpected error, access refused). */
  | 'error';

export interface FlagResult {
  flag: HostNamespace;
  verdict: FlagVerdict;
  /** Who refused or warned. */
  by?: string;
  /** The refusal or warning, or why the probe proves nothing. */
  message?: string;
  /** Exceptions whose selectors cover every pod, so the probe could not avoid them. */
  coveredBy?: string[];
}

/** Warning sources a flag probe gets that the control probe did not: the flag's own warnings. */
function newWarningSources(
  flagWarnings: readonly string[],
  controlWarnings: readonly string[],
): { by: string; message: string }[] {
  const before = new Set(controlWarnings.map(admissionSource).filter(Boolean));
  const out: { by: string; message: string }[] = [];
  for (const w of flagWarnings) {
    const by = admissionSource(w);
    if (by && !before.has(by)) out.push({ by, message: w });
  }
  // this project's policies first when several warn (Pod Security in warn mode as well)
  return out.sort((a, b) => Number(isOurPolicy(b.by)) - Number(isOurPolicy(a.by)));
}

/** The verdict of one flag probe, given the control probe's answer in the same namespace. */
export function flagVerdict(
  flag: HostNamespace,
  control: ProbeAnswer,
  answer: ProbeAnswer,
  coveredBy: string[] = [],
): FlagResult {
  const base = { flag, ...(coveredBy.length ? { coveredBy } : {}) };
  if (!control.admitted) {
    const why = isRbacRefusal(control) ? 'access refused' : `${control.status} ${control.reason || 'error'}`;
    const message = `the control probe (no host namespace) was refused (${why}): ${control.message}`;
    return { ...base, verdict: 'error', message };
  }
  if (answer.admitted) {
    const warned = newWarningSources(answer.warnings, control.warnings);
    if (warned.length) return { ...base, verdict: 'warned', by: warned[0]!.by, message: warned[0]!.message };
    return { ...base, verdict: coveredBy.length ? 'covered' : 'admitted' };
  }
  if (answer.status === 403 && !isRbacRefusal(answer)) {
    return { ...base, verdict: 'refused', by: admissionSource(answer.message) ?? 'admission', message: answer.message };
  }
  return { ...base, verdict: 'error', message: `${answer.status} ${answer.reason || 'error'}: ${answer.message}` };
}

/** The admission configuration found in the cluster, to explain why a namespace is not enforced. */
export interface AdmissionConfig {
  /** undefined: could not be read (e.g. no RBAC to get it); null: not installed. */
  policy?: Record<string, unknown> | null;
  binding?: Record<string, unknown> | null;
  requiredPolicy?: Record<string, unknown> | null;
  requiredBinding?: Record<string, unknown> | null;
  /** The namespace's own HostNamespaceGrantSet `grants`: the param of hostns-host-namespaces there. */
  grants?: Record<string, unknown> | null;
  /** HostNamespaceGrantIndex `cluster`: the param of hostns-grants-required. */
  index?: Record<string, unknown> | null;
  /** The namespace's resourceVersion, which the index entry must equal. */
  namespaceVersion?: string;
  /** Why the configuration could not be read, when it could not. */
  unreadable?: string;
}

type BindingSpec = { validationActions?: string[]; matchResources?: { namespaceSelector?: LabelSelector } };

/** Why a binding that exists does not act on this namespace (records only, or leaves it out). */
function bindingGap(name: string, binding: Record<string, unknown> | undefined, labels: Labels): string | undefined {
  const spec = (binding?.spec ?? {}) as BindingSpec;
  const actions = spec.validationActions ?? [];
  if (!actions.includes('Deny') && !actions.includes('Warn')) {
    return `the binding ${name} only records (validationActions: [${actions.join(', ')}])`;
  }
  const nsSelector = spec.matchResources?.namespaceSelector;
  if (nsSelector && !matchesLabelSelector(nsSelector, labels)) {
    return `the namespaceSelector of the binding ${name} (${formatSelector(nsSelector)}) leaves this namespace out`;
  }
  return undefined;
}

/** Why hostns-grants-required did not refuse a namespace whose grants object is missing. */
function requiredGap(namespace: string, namespaceLabels: Labels, config: AdmissionConfig): string {
  if (config.requiredPolicy === null) return `the ValidatingAdmissionPolicy ${REQUIRED_POLICY} is not installed`;
  if (config.requiredBinding === null) return `the ValidatingAdmissionPolicyBinding ${REQUIRED_POLICY} is missing`;
  const gap = bindingGap(REQUIRED_POLICY, config.requiredBinding ?? undefined, namespaceLabels);
  if (gap) return gap;
  if (config.index === null) {
    const why = 'is missing (parameterNotFoundAction: Allow admits)';
    return `its param, the HostNamespaceGrantIndex ${GRANT_INDEX_NAME}, ${why}`;
  }
  const entry = (config.index?.spec as { namespaces?: Record<string, string> } | undefined)?.namespaces?.[namespace];
  if (entry !== undefined && entry === config.namespaceVersion) {
    return `the HostNamespaceGrantIndex ${GRANT_INDEX_NAME} still lists this namespace (a stale entry), so it admits`;
  }
  return 'cause not known (failurePolicy Ignore admits when evaluation fails)';
}

/** Why host-namespace pods are admitted in a namespace the policies should cover. */
export function diagnose(namespace: string, namespaceLabels: Labels, config: AdmissionConfig): string {
  if (config.unreadable) return `cause not known: ${config.unreadable}`;
  if (config.policy === null) return `the ValidatingAdmissionPolicy ${HOSTNS_POLICY} is not installed`;
  if (config.binding === null) return `the ValidatingAdmissionPolicyBinding ${HOSTNS_POLICY} is missing`;
  const gap = bindingGap(HOSTNS_POLICY, config.binding ?? undefined, namespaceLabels);
  if (gap) return gap;
  if (config.grants === null) {
    return (
      `the grants object of this namespace (HostNamespaceGrantSet ${GRANTS_NAME}, the param of ${HOSTNS_POLICY}) ` +
      `is missing, so ${HOSTNS_POLICY} admits; ${REQUIRED_POLICY}, which refuses host namespaces then, ` +
      `did not: ${requiredGap(namespace, namespaceLabels, config)}`
    );
  }
  return (
    'the policy, binding and grants object are in place; cause not known ' +
    '(failurePolicy Ignore admits when evaluation fails)'
  );
}

/**
 * What a namespace's refusals say beyond "refused by": hostns-grants-required refuses where the
 * namespace's grants object is missing (or not yet indexed), exceptions included.
 */
export function refusalNote(flags: readonly FlagResult[]): string {
  if (!flags.some((f) => f.verdict === 'refused' && f.by === REQUIRED_POLICY)) return '';
  return (
    `no grants object indexed for this namespace yet: ${REQUIRED_POLICY} refuses every host namespace, ` +
    'exceptions included, until the operator writes it'
  );
}

export type NamespaceResult =
  /** Every flag refused. */
  | 'enforced'
  /** Declared exempt by the user (whatever the probes found). */
  | 'exempt'
  /** Some flag only warned, none admitted silently. */
  | 'warn-only'
  /** Some flag admitted without refusal or warning. */
  | 'not-enforced'
  /** Some probe proved nothing, or every flag is allowed to every pod by exceptions. */
  | 'inconclusive';

export interface NamespaceReport {
  namespace: string;
  exempt: boolean;
  result: NamespaceResult;
  flags: FlagResult[];
  /** Why flags are admitted (diagnosis), or a note on an exempt namespace that is enforced. */
  detail: string;
}

export function namespaceResult(flags: readonly FlagResult[], exempt: boolean): NamespaceResult {
  if (exempt) return 'exempt';
  if (flags.some((f) => f.verdict === 'error')) return 'inconclusive';
  if (flags.some((f) => f.verdict === 'admitted')) return 'not-enforced';
  if (flags.some((f) => f.verdict === 'warned')) return 'warn-only';
  // a flag every pod may use (by exception) proves nothing; with nothing else probed, nothing is proven
  if (flags.every((f) => f.verdict === 'covered')) return 'inconclusive';
  return 'enforced';
}

/** An exception's own probe: its labels and allowed flags, expected admitted while it grants. */
export interface ExceptionProbe {
  namespace: string;
  name: string;
  phase: ExceptionPhase;
  allow: HostNamespace[];
  selector: string;
  /** The probe's labels; undefined when the selector cannot be satisfied. */
  labels?: Record<string, string>;
  /** What the policy should do with the probe: admit it (a granting exception covers it) or not. */
  expected: 'admitted' | 'refused';
  got: FlagVerdict | 'not-probed';
  by?: string;
  message?: string;
  /** The answer differs from what the policy should do. */
  finding: boolean;
}

/**
 * Judges an exception probe. `expectAdmitted`: a granting exception of the namespace (this one
 * or another) selects the probe and allows its flags, or the namespace is exempt. A lapsed
 * exception's probe admitted in a namespace found not enforced is that namespace's finding, not
 * a second one.
 */
export function exceptionVerdict(
  probe: Omit<ExceptionProbe, 'expected' | 'got' | 'by' | 'message' | 'finding'>,
  expectAdmitted: boolean,
  control: ProbeAnswer,
  answer: ProbeAnswer | { unsatisfiable: string },
  namespaceEnforced: boolean,
): ExceptionProbe {
  const expected = expectAdmitted ? 'admitted' : 'refused';
  if ('unsatisfiable' in answer) {
    const message = `no probe can carry labels its selector selects: ${answer.unsatisfiable}`;
    return { ...probe, expected, got: 'not-probed', message, finding: false };
  }
  const v = flagVerdict(probe.allow[0]!, control, answer);
  const out = {
    ...probe,
    expected,
    got: v.verdict,
    ...(v.by ? { by: v.by } : {}),
    ...(v.message ? { message: v.message } : {}),
  } as const;
  if (v.verdict === 'error') return { ...out, finding: false };
  // another admission's warning (Pod Security in warn mode) does not stop a covered pod
  const policyObjects = v.verdict === 'refused' || (v.verdict === 'warned' && isOurPolicy(v.by));
  const finding = expectAdmitted ? policyObjects : v.verdict === 'admitted' && namespaceEnforced;
  return { ...out, finding };
}

export interface VerifyReport {
  namespaces: NamespaceReport[];
  exceptions: ExceptionProbe[];
  /** Notes on the run (e.g. the exception CRD is not installed). */
  notes: string[];
}

export interface VerifySummary {
  namespaces: number;
  enforced: number;
  warnOnly: number;
  notEnforced: number;
  exempt: number;
  inconclusive: number;
  exceptionProbes: number;
  exceptionFindings: number;
  /** Exception probes that could not be sent (selector not satisfiable) or proved nothing. */
  exceptionsNotProbed: number;
}

export function verifySummary(
  report: VerifyReport,
  acceptWarn = false,
): VerifySummary & { failed: boolean; incomplete: boolean } {
  const count = (r: NamespaceResult) => report.namespaces.filter((n) => n.result === r).length;
  const s: VerifySummary = {
    namespaces: report.namespaces.length,
    enforced: count('enforced'),
    warnOnly: count('warn-only'),
    notEnforced: count('not-enforced'),
    exempt: count('exempt'),
    inconclusive: count('inconclusive'),
    exceptionProbes: report.exceptions.length,
    exceptionFindings: report.exceptions.filter((e) => e.finding).length,
    exceptionsNotProbed: report.exceptions.filter((e) => e.got === 'not-probed' || e.got === 'error').length,
  };
  return {
    ...s,
    failed: s.notEnforced > 0 || (!acceptWarn && s.warnOnly > 0) || s.exceptionFindings > 0,
    incomplete: s.inconclusive > 0 || s.exceptionsNotProbed > 0,
  };
}

function flagCell(f: FlagResult | undefined): string {
  if (!f) return '';
  return f.verdict === 'error' ? 'error' : f.verdict;
}

function namespaceDetail(n: NamespaceReport): string {
  const parts: string[] = [];
  const refusedBy = [...new Set(n.flags.filter((f) => f.verdict === 'refused').map((f) => f.by))];
  const warnedBy = [...new Set(n.flags.filter((f) => f.verdict === 'warned').map((f) => f.by))];
  if (refusedBy.length) parts.push(`refused by ${refusedBy.join(', ')}`);
  if (warnedBy.length) parts.push(`warned by ${warnedBy.join(', ')}`);
  const covered = [...new Set(n.flags.filter((f) => f.verdict === 'covered').flatMap((f) => f.coveredBy ?? []))];
  if (covered.length) parts.push(`exception selecting every pod: ${covered.join(', ')}`);
  const error = n.flags.find((f) => f.verdict === 'error');
  if (error) parts.push(error.message ?? 'error');
  if (n.detail) parts.push(n.detail);
  return parts.join('; ');
}

const RESULT_TEXT: Record<NamespaceResult, string> = {
  enforced: 'enforced',
  exempt: 'exempt',
  'warn-only': 'warn only',
  'not-enforced': 'NOT ENFORCED',
  inconclusive: 'inconclusive',
};

const NAMESPACE_COLUMNS: Column<NamespaceReport>[] = [
  { header: 'NAMESPACE', cell: (n) => n.namespace },
  ...HOST_NAMESPACES.map((flag) => ({
    header: flag.toUpperCase(),
    cell: (n: NamespaceReport) => flagCell(n.flags.find((f) => f.flag === flag)),
  })),
  { header: 'RESULT', cell: (n) => RESULT_TEXT[n.result] },
  { header: 'DETAIL', cell: namespaceDetail },
];

/** The labels an exception's selector needed, without the probe's own markers. */
function probeLabelsText(labels: Record<string, string> | undefined): string {
  if (!labels) return '';
  return Object.entries(labels)
    .filter(([k, v]) => PROBE_LABELS[k] !== v)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const EXCEPTION_COLUMNS: Column<ExceptionProbe>[] = [
  { header: 'NAMESPACE', cell: (e) => e.namespace },
  { header: 'EXCEPTION', cell: (e) => e.name },
  { header: 'PHASE', cell: (e) => e.phase },
  { header: 'ALLOW', cell: (e) => e.allow.join(',') },
  { header: 'PROBE LABELS', cell: (e) => probeLabelsText(e.labels) },
  { header: 'EXPECTED', cell: (e) => e.expected },
  { header: 'GOT', cell: (e) => e.got },
  // the whole message only where it explains something to act on (-o json always has it)
  {
    header: 'DETAIL',
    cell: (e) => {
      const explains = e.finding || e.got === 'error' || e.got === 'not-probed';
      return [e.finding ? 'FINDING' : '', e.by ? `by ${e.by}` : '', explains ? e.message : '']
        .filter(Boolean)
        .join(': ');
    },
  },
];

function paintNamespace(n: NamespaceReport, header: string): Paint {
  if (header !== 'RESULT') return undefined;
  if (n.result === 'enforced') return 'green';
  if (n.result === 'exempt') return 'dim';
  return n.result === 'inconclusive' ? 'yellow' : 'red';
}

function summaryLine(report: VerifyReport): string {
  const s = verifySummary(report);
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const parts = [
    `${plural(s.namespaces, 'namespace')}: ${s.enforced} enforced, ${s.warnOnly} warn only, ` +
      `${s.notEnforced} not enforced, ${s.exempt} exempt`,
  ];
  if (s.inconclusive) parts.push(`${s.inconclusive} inconclusive`);
  if (s.exceptionProbes) {
    const notProbed = s.exceptionsNotProbed ? `, ${s.exceptionsNotProbed} not probed` : '';
    parts.push(`${plural(s.exceptionProbes, 'exception probe')}, ${s.exceptionFindings} not as expected${notProbed}`);
  }
  return parts.join('; ');
}

export function renderVerifyTable(report: VerifyReport, colour = false): string {
  let out = report.namespaces.length
    ? renderTable(NAMESPACE_COLUMNS, report.namespaces, { colour, paint: paintNamespace })
    : 'No namespace to verify.\n';
  if (report.exceptions.length) {
    const paint = (e: ExceptionProbe, header: string): Paint => (header === 'GOT' && e.finding ? 'red' : undefined);
    out += `\n${renderTable(EXCEPTION_COLUMNS, report.exceptions, { colour, paint })}`;
  }
  for (const note of report.notes) out += `\nnote: ${note}`;
  return `${out}\n${summaryLine(report)}\n`;
}

export function renderVerifyJson(report: VerifyReport, now: DateTime, acceptWarn = false): string {
  const { failed, incomplete, ...summary } = verifySummary(report, acceptWarn);
  const doc = { generatedAt: rfc3339(now), summary: { ...summary, failed, incomplete }, ...report };
  return JSON.stringify(doc, null, 2) + '\n';
}
