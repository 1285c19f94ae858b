// `kubectl hostns verify`, the pure part: probe pods, probe labels, verdicts from answers, output.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../../src/api/v1alpha1.ts';
import { verifyExitCode } from '../../src/cli/verify.ts';
import { matchesSelector } from '../../src/policy/selector.ts';
import {
  HOSTNS_POLICY,
  PROBE_IMAGE,
  PROBE_LABELS,
  REQUIRED_POLICY,
  admissionSource,
  diagnose,
  exceptionVerdict,
  flagVerdict,
  isRbacRefusal,
  labelsAvoiding,
  labelsSelectedBy,
  namespaceResult,
  parseWarningHeader,
  probePod,
  refusalNote,
  renderVerifyJson,
  renderVerifyTable,
  verifySummary,
  type AdmissionConfig,
  type FlagResult,
  type ProbeAnswer,
  type VerifyReport,
} from '../../src/report/verify.ts';

const OURS = `pods "hostns-verify-hostnetwork-x7k2p" is forbidden: ValidatingAdmissionPolicy '${HOSTNS_POLICY}' with binding '${HOSTNS_POLICY}' denied request: Pod 'hostns-verify-hostnetwork-x7k2p' uses hostNetwork, and no active HostNamespaceException ...`;
const PSA =
  'pods "hostns-verify-hostpid-q2w8e" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostPID=true)';
const RBAC = 'pods is forbidden: User "ci" cannot create resource "pods" in API group "" in the namespace "web"';
const OUR_WARNING = `Validation failed for ValidatingAdmissionPolicy '${HOSTNS_POLICY}' with binding '${HOSTNS_POLICY}': Pod 'p' uses hostIPC, and no active ...`;
const REQUIRED_BY = `ValidatingAdmissionPolicy '${REQUIRED_POLICY}' with binding '${REQUIRED_POLICY}'`;
const REQUIRED =
  `pods "hostns-verify-hostpid-a1b2c" is forbidden: ${REQUIRED_BY} denied request: ` +
  'namespace web has no host namespace grants yet ...';
const REQUIRED_WARNING = `Validation failed for ${REQUIRED_BY}: namespace web has no host namespace grants yet ...`;
const PSA_WARNING = 'would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true)';

const admitted = (warnings: string[] = []): ProbeAnswer => ({ admitted: true, warnings });
const refused = (message: string, status = 403, reason = 'Forbidden'): ProbeAnswer => ({
  admitted: false,
  status,
  reason,
  message,
  warnings: [],
});

describe('probePod', () => {
  it('is a restricted-compatible pod with only the asked host flag, never stored (generateName)', () => {
    const pod = probePod('hostPID', ['hostPID'], { ...PROBE_LABELS }) as {
      metadata: { generateName: string; labels: Record<string, string> };
      spec: Record<string, unknown> & {
        containers: { image: string; securityContext: Record<string, unknown> }[];
        securityContext: Record<string, unknown>;
      };
    };
    expect(pod.metadata.generateName).toBe('hostns-verify-hostpid-');
    expect(pod.metadata.labels).toEqual(PROBE_LABELS);
    expect(pod.spec.hostPID).toBe(true);
    expect(pod.spec.hostNetwork).toBeUndefined();
    expect(pod.spec.hostIPC).toBeUndefined();
    expect(pod.spec.containers[0]!.image).toBe(PROBE_IMAGE);
    expect(pod.spec.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.spec.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.spec.automountServiceAccountToken).toBe(false);
  });

  it('the control probe uses no host namespace; an exception probe carries all its flags', () => {
    const control = probePod('control', [], PROBE_LABELS) as { spec: Record<string, unknown> };
    expect(['hostNetwork', 'hostPID', 'hostIPC'].filter((f) => f in control.spec)).toEqual([]);
    const ex = probePod('exception', ['hostNetwork', 'hostIPC'], { app: 'x' }) as {
      spec: Record<string, unknown>;
      metadata: { labels: object };
    };
    expect(ex.spec).toMatchObject({ hostNetwork: true, hostIPC: true });
    expect(ex.metadata.labels).toEqual({ app: 'x' });
  });
});

describe('labelsSelectedBy', () => {
  const satisfiable: [string, LabelSelector, Record<string, string>][] = [
    ['matchLabels', { matchLabels: { app: 'node-exporter', tier: 'infra' } }, { app: 'node-exporter', tier: 'infra' }],
    ['In: the first value', { matchExpressions: [{ key: 'app', operator: 'In', values: ['b', 'a'] }] }, { app: 'a' }],
    [
      'two In on one key: a value both allow',
      {
        matchExpressions: [
          { key: 'app', operator: 'In', values: ['a', 'b'] },
          { key: 'app', operator: 'In', values: ['b', 'c'] },
        ],
      },
      { app: 'b' },
    ],
    [
      'In minus NotIn',
      {
        matchExpressions: [
          { key: 'app', operator: 'In', values: ['a', 'b'] },
          { key: 'app', operator: 'NotIn', values: ['a'] },
        ],
      },
      { app: 'b' },
    ],
    ['Exists', { matchExpressions: [{ key: 'debug', operator: 'Exists' }] }, { debug: 'hostns-verify' }],
    [
      'NotIn and DoesNotExist: met by absence',
      {
        matchExpressions: [
          { key: 'x', operator: 'NotIn', values: ['1'] },
          { key: 'y', operator: 'DoesNotExist' },
        ],
      },
      {},
    ],
    [
      'matchLabels and In agree',
      { matchLabels: { app: 'a' }, matchExpressions: [{ key: 'app', operator: 'In', values: ['a', 'z'] }] },
      { app: 'a' },
    ],
    ['empty selector: every pod', {}, {}],
  ];
  it.each(satisfiable)('%s', (_, selector, expected) => {
    const r = labelsSelectedBy(selector);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.labels).toEqual({ ...PROBE_LABELS, ...expected });
    expect(matchesSelector(selector, r.labels)).toBe(true);
  });

  it('drops or overrides a probe marker label the selector constrains', () => {
    const mustNot = labelsSelectedBy({
      matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'DoesNotExist' }],
    });
    expect(mustNot.ok && mustNot.labels['app.kubernetes.io/name']).toBe(undefined);
    const other = labelsSelectedBy({ matchLabels: { 'app.kubernetes.io/name': 'cilium' } });
    expect(other.ok && other.labels['app.kubernetes.io/name']).toBe('cilium');
    const notIn = labelsSelectedBy({
      matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: ['hostns-verify'] }],
    });
    expect(notIn.ok && notIn.labels['app.kubernetes.io/name']).toBe(undefined);
  });

  const unsatisfiable: [string, LabelSelector, RegExp][] = [
    [
      'Exists and DoesNotExist',
      {
        matchExpressions: [
          { key: 'a', operator: 'Exists' },
          { key: 'a', operator: 'DoesNotExist' },
        ],
      },
      /key a must both exist and not exist/,
    ],
    [
      'matchLabels and DoesNotExist',
      { matchLabels: { a: '1' }, matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] },
      /key a must both/,
    ],
    [
      'In and NotIn of the same values',
      {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['1'] },
          { key: 'a', operator: 'NotIn', values: ['1'] },
        ],
      },
      /no value of key a/,
    ],
    [
      'disjoint In',
      {
        matchExpressions: [
          { key: 'a', operator: 'In', values: ['1'] },
          { key: 'a', operator: 'In', values: ['2'] },
        ],
      },
      /no value of key a/,
    ],
    [
      'matchLabels outside In',
      { matchLabels: { a: '3' }, matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] },
      /no value of key a/,
    ],
    [
      'unknown operator',
      { matchExpressions: [{ key: 'a', operator: 'Like' as never, values: ['1'] }] },
      /no label set satisfies it/,
    ],
  ];
  it.each(unsatisfiable)('unsatisfiable: %s', (_, selector, why) => {
    const r = labelsSelectedBy(selector);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.why).toMatch(why);
  });
});

describe('labelsAvoiding', () => {
  it('keeps the marker labels when no exception selects them', () => {
    const r = labelsAvoiding([
      { name: 'ne', selector: { matchLabels: { app: 'node-exporter' } } },
      { name: 'dbg', selector: { matchExpressions: [{ key: 'debug', operator: 'Exists' }] } },
    ]);
    expect(r).toEqual({ labels: { ...PROBE_LABELS }, unavoidable: [] });
  });

  it('defeats selectors made only of NotIn / DoesNotExist', () => {
    const notIn = {
      name: 'all-but-web',
      selector: { matchExpressions: [{ key: 'app', operator: 'NotIn' as const, values: ['web'] }] },
    };
    const noKey = {
      name: 'unlabelled',
      selector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' as const }] },
    };
    const r = labelsAvoiding([notIn, noKey]);
    expect(r.unavoidable).toEqual([]);
    expect(matchesSelector(notIn.selector, r.labels)).toBe(false);
    expect(matchesSelector(noKey.selector, r.labels)).toBe(false);
  });

  it('reports selectors that select every pod as unavoidable', () => {
    const r = labelsAvoiding([
      { name: 'everything', selector: {} },
      { name: 'also', selector: { matchLabels: {}, matchExpressions: [] } },
      { name: 'ne', selector: { matchLabels: { app: 'x' } } },
    ]);
    expect(r.unavoidable).toEqual(['everything', 'also']);
  });
});

describe('parseWarningHeader', () => {
  it('reads one warning, several joined by ", " (commas inside the text too), escaped quotes', () => {
    expect(parseWarningHeader(null)).toEqual([]);
    expect(parseWarningHeader('')).toEqual([]);
    expect(parseWarningHeader(`299 - "${PSA_WARNING.replace(/"/g, '\\"')}"`)).toEqual([PSA_WARNING]);
    expect(parseWarningHeader('299 - "a, b", 299 - "c \\"d\\""')).toEqual(['a, b', 'c "d"']);
  });
});

describe('admissionSource', () => {
  it.each([
    [OURS, HOSTNS_POLICY],
    [OUR_WARNING, HOSTNS_POLICY],
    [REQUIRED, REQUIRED_POLICY],
    [REQUIRED_WARNING, REQUIRED_POLICY],
    [
      "pods \"p\" is forbidden: ValidatingAdmissionPolicy 'no-host-net' with binding 'b' denied request: x",
      'ValidatingAdmissionPolicy no-host-net',
    ],
    [PSA, 'PodSecurity'],
    [PSA_WARNING, 'PodSecurity'],
    [
      'admission webhook "validation.gatekeeper.sh" denied the request: [psp-host-namespace] Sharing the host namespace is not allowed',
      'webhook validation.gatekeeper.sh',
    ],
    ['exceeded quota: pods', undefined],
  ])('%s', (message, source) => expect(admissionSource(message)).toBe(source));
});

describe('flagVerdict', () => {
  it('refused after an admitted control probe: enforced, by whom', () => {
    expect(flagVerdict('hostNetwork', admitted(), refused(OURS))).toMatchObject({
      verdict: 'refused',
      by: HOSTNS_POLICY,
    });
    expect(flagVerdict('hostPID', admitted(), refused(PSA))).toMatchObject({ verdict: 'refused', by: 'PodSecurity' });
    // no grants object in the namespace: the companion policy refuses, enforcement all the same
    expect(flagVerdict('hostPID', admitted(), refused(REQUIRED))).toMatchObject({
      verdict: 'refused',
      by: REQUIRED_POLICY,
      message: REQUIRED,
    });
    expect(flagVerdict('hostIPC', admitted(), refused('forbidden by something'))).toMatchObject({
      verdict: 'refused',
      by: 'admission',
    });
  });

  it('admitted with a new warning: warn mode; a warning the control probe got too does not count', () => {
    expect(flagVerdict('hostIPC', admitted(), admitted([OUR_WARNING]))).toMatchObject({
      verdict: 'warned',
      by: HOSTNS_POLICY,
      message: OUR_WARNING,
    });
    expect(flagVerdict('hostNetwork', admitted(), admitted([PSA_WARNING]))).toMatchObject({
      verdict: 'warned',
      by: 'PodSecurity',
    });
    expect(flagVerdict('hostIPC', admitted(), admitted([PSA_WARNING, OUR_WARNING]))).toMatchObject({
      verdict: 'warned',
      by: HOSTNS_POLICY,
    });
    expect(flagVerdict('hostIPC', admitted(), admitted([PSA_WARNING, REQUIRED_WARNING]))).toMatchObject({
      verdict: 'warned',
      by: REQUIRED_POLICY,
    });
    const psaWarnsAlways = 'would violate PodSecurity "restricted:latest": unrestricted capabilities';
    expect(flagVerdict('hostNetwork', admitted([psaWarnsAlways]), admitted([PSA_WARNING])).verdict).toBe('admitted');
    expect(flagVerdict('hostNetwork', admitted(), admitted(['metadata.name: this is deprecated'])).verdict).toBe(
      'admitted',
    );
  });

  it('admitted silently: not enforced, or covered when an exception selects every pod', () => {
    expect(flagVerdict('hostNetwork', admitted(), admitted())).toEqual({ flag: 'hostNetwork', verdict: 'admitted' });
    expect(flagVerdict('hostNetwork', admitted(), admitted(), ['everything'])).toEqual({
      flag: 'hostNetwork',
      verdict: 'covered',
      coveredBy: ['everything'],
    });
  });

  it('proves nothing when the control probe is refused, RBAC refuses, or the answer is no decision', () => {
    expect(flagVerdict('hostNetwork', refused('exceeded quota: q'), refused(OURS))).toMatchObject({
      verdict: 'error',
      message: expect.stringMatching(/^the control probe .* was refused \(403 Forbidden\)/),
    });
    expect(flagVerdict('hostNetwork', refused(RBAC), refused(RBAC)).message).toMatch(/access refused/);
    expect(flagVerdict('hostNetwork', admitted(), refused(RBAC)).verdict).toBe('error');
    expect(flagVerdict('hostNetwork', admitted(), refused('Pod "x" is invalid', 422, 'Invalid'))).toMatchObject({
      verdict: 'error',
      message: '422 Invalid: Pod "x" is invalid',
    });
    expect(flagVerdict('hostNetwork', admitted(), refused('etcd timeout', 500, 'InternalError')).verdict).toBe('error');
  });

  it('isRbacRefusal tells RBAC from admission', () => {
    expect(isRbacRefusal(refused(RBAC))).toBe(true);
    expect(isRbacRefusal(refused(OURS))).toBe(false);
    expect(isRbacRefusal(admitted())).toBe(false);
  });
});

describe('diagnose', () => {
  const binding = (actions: string[], values = ['kube-system']) => ({
    spec: {
      validationActions: actions,
      matchResources: {
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values }] },
      },
    },
  });
  const labels = { 'kubernetes.io/metadata.name': 'web' };
  const index = (namespaces: Record<string, string>) => ({ spec: { namespaces } });
  /** Everything installed, the grants object of `web` and its index entry (version 42) in place. */
  const full: AdmissionConfig = {
    policy: {},
    binding: binding(['Deny', 'Audit']),
    requiredPolicy: {},
    requiredBinding: binding(['Deny', 'Audit']),
    grants: {},
    index: index({ web: '42' }),
    namespaceVersion: '42',
  };
  /** The diagnosis of a missing grants object, then why hostns-grants-required did not refuse. */
  const missing = (why: string) =>
    'the grants object of this namespace (HostNamespaceGrantSet grants, the param of hostns-host-namespaces) ' +
    'is missing, so hostns-host-namespaces admits; hostns-grants-required, which refuses host namespaces then, ' +
    `did not: ${why}`;
  const unknown = 'cause not known (failurePolicy Ignore admits when evaluation fails)';
  it.each<[AdmissionConfig, string]>([
    [{ unreadable: 'no access' }, 'cause not known: no access'],
    [{ ...full, policy: null, binding: null }, 'the ValidatingAdmissionPolicy hostns-host-namespaces is not installed'],
    [{ ...full, binding: null }, 'the ValidatingAdmissionPolicyBinding hostns-host-namespaces is missing'],
    [
      { ...full, binding: binding(['Audit']) },
      'the binding hostns-host-namespaces only records (validationActions: [Audit])',
    ],
    [
      { ...full, binding: binding(['Deny'], ['kube-system', 'web']) },
      'the namespaceSelector of the binding hostns-host-namespaces ' +
        '(kubernetes.io/metadata.name notin (kube-system,web)) leaves this namespace out',
    ],
    [
      { ...full, grants: null },
      missing('the HostNamespaceGrantIndex cluster still lists this namespace (a stale entry), so it admits'),
    ],
    [
      { ...full, grants: null, index: null },
      missing('its param, the HostNamespaceGrantIndex cluster, is missing (parameterNotFoundAction: Allow admits)'),
    ],
    [
      { ...full, grants: null, requiredPolicy: null },
      missing('the ValidatingAdmissionPolicy hostns-grants-required is not installed'),
    ],
    [
      { ...full, grants: null, requiredBinding: null },
      missing('the ValidatingAdmissionPolicyBinding hostns-grants-required is missing'),
    ],
    [
      { ...full, grants: null, requiredBinding: binding(['Audit']) },
      missing('the binding hostns-grants-required only records (validationActions: [Audit])'),
    ],
    [
      { ...full, grants: null, requiredBinding: binding(['Deny'], ['web']) },
      missing(
        'the namespaceSelector of the binding hostns-grants-required ' +
          '(kubernetes.io/metadata.name notin (web)) leaves this namespace out',
      ),
    ],
    // not indexed, or indexed for a namespace of that name deleted since: it should have refused
    [{ ...full, grants: null, index: index({}) }, missing(unknown)],
    [{ ...full, grants: null, index: index({ web: '7' }) }, missing(unknown)],
    [full, `the policy, binding and grants object are in place; ${unknown}`],
    [{ ...full, binding: binding(['Warn']) }, `the policy, binding and grants object are in place; ${unknown}`],
  ])('%j', (config, expected) => expect(diagnose('web', labels, config)).toBe(expected));

  it("a binding's namespaceSelector is a plain label selector: a hostns.io/ key in it selects (unlike a podSelector)", () => {
    const scoped = {
      spec: {
        validationActions: ['Deny'],
        matchResources: { namespaceSelector: { matchLabels: { 'hostns.io/admission-test': 'run' } } },
      },
    };
    const config = { ...full, binding: scoped, requiredBinding: scoped, grants: null, index: null };
    expect(diagnose('web', { ...labels, 'hostns.io/admission-test': 'run' }, config)).toBe(
      missing('its param, the HostNamespaceGrantIndex cluster, is missing (parameterNotFoundAction: Allow admits)'),
    );
    expect(diagnose('web', labels, config)).toBe(
      'the namespaceSelector of the binding hostns-host-namespaces (hostns.io/admission-test=run) ' +
        'leaves this namespace out',
    );
  });
});

describe('refusalNote', () => {
  const refusedBy = (by: string): FlagResult => ({ flag: 'hostNetwork', verdict: 'refused', by });
  it('says why hostns-grants-required refuses: no grants object, exceptions not honoured', () => {
    expect(refusalNote([refusedBy(REQUIRED_POLICY), refusedBy(HOSTNS_POLICY)])).toBe(
      'no grants object indexed for this namespace yet: hostns-grants-required refuses every host namespace, ' +
        'exceptions included, until the operator writes it',
    );
  });
  it('nothing to add otherwise', () => {
    expect(refusalNote([refusedBy(HOSTNS_POLICY), refusedBy('PodSecurity')])).toBe('');
    expect(refusalNote([{ flag: 'hostPID', verdict: 'admitted' }])).toBe('');
  });
});

const flag = (f: FlagResult['flag'], verdict: FlagResult['verdict']): FlagResult => ({ flag: f, verdict });

describe('namespaceResult', () => {
  it.each([
    [['refused', 'refused', 'refused'], false, 'enforced'],
    [['refused', 'warned', 'refused'], false, 'warn-only'],
    [['refused', 'warned', 'admitted'], false, 'not-enforced'],
    [['refused', 'error', 'admitted'], false, 'inconclusive'],
    [['covered', 'refused', 'refused'], false, 'enforced'],
    [['covered', 'covered', 'covered'], false, 'inconclusive'],
    [['admitted', 'admitted', 'admitted'], true, 'exempt'],
  ] as const)('%j exempt=%s: %s', (verdicts, exempt, expected) => {
    expect(
      namespaceResult(
        [flag('hostNetwork', verdicts[0]), flag('hostPID', verdicts[1]), flag('hostIPC', verdicts[2])],
        exempt,
      ),
    ).toBe(expected);
  });
});

describe('exceptionVerdict', () => {
  const base = {
    namespace: 'ops',
    name: 'debug-tools',
    phase: 'Active' as const,
    allow: ['hostPID' as const],
    selector: 'app=debug-tools',
    labels: { app: 'debug-tools' },
  };
  it('an active exception: its probe admitted is as expected, refused is a finding', () => {
    expect(exceptionVerdict(base, true, admitted(), admitted(), true)).toMatchObject({
      expected: 'admitted',
      got: 'admitted',
      finding: false,
    });
    expect(exceptionVerdict(base, true, admitted(), refused(OURS), true)).toMatchObject({
      got: 'refused',
      by: HOSTNS_POLICY,
      finding: true,
    });
    expect(exceptionVerdict(base, true, admitted(), admitted([OUR_WARNING]), true)).toMatchObject({
      got: 'warned',
      finding: true,
    });
    // the namespace's grants object missing: the exception is not honoured, a finding
    expect(exceptionVerdict(base, true, admitted(), refused(REQUIRED), true)).toMatchObject({
      got: 'refused',
      by: REQUIRED_POLICY,
      finding: true,
    });
    expect(exceptionVerdict(base, true, admitted(), admitted([REQUIRED_WARNING]), true)).toMatchObject({
      got: 'warned',
      by: REQUIRED_POLICY,
      finding: true,
    });
    expect(exceptionVerdict(base, true, admitted(), refused(PSA), true)).toMatchObject({
      got: 'refused',
      by: 'PodSecurity',
      finding: true,
    });
  });

  it('Pod Security warnings do not stop a covered pod', () => {
    expect(exceptionVerdict(base, true, admitted(), admitted([PSA_WARNING]), true)).toMatchObject({
      got: 'warned',
      by: 'PodSecurity',
      finding: false,
    });
  });

  it('an expired exception: refused or warned; admitted is a finding only where the namespace is enforced', () => {
    const expired = { ...base, phase: 'Expired' as const };
    expect(exceptionVerdict(expired, false, admitted(), refused(OURS), true)).toMatchObject({
      expected: 'refused',
      got: 'refused',
      finding: false,
    });
    expect(exceptionVerdict(expired, false, admitted(), admitted([OUR_WARNING]), true)).toMatchObject({
      got: 'warned',
      finding: false,
    });
    expect(exceptionVerdict(expired, false, admitted(), admitted(), true)).toMatchObject({
      got: 'admitted',
      finding: true,
    });
    expect(exceptionVerdict(expired, false, admitted(), admitted(), false)).toMatchObject({
      got: 'admitted',
      finding: false,
    });
  });

  it('no probe when its selector cannot be satisfied; no finding from a probe that proves nothing', () => {
    const { labels: _, ...noLabels } = base;
    expect(
      exceptionVerdict(noLabels, true, admitted(), { unsatisfiable: 'key a must both exist and not exist' }, true),
    ).toMatchObject({
      got: 'not-probed',
      finding: false,
      message: 'no probe can carry labels its selector selects: key a must both exist and not exist',
    });
    expect(exceptionVerdict(base, true, refused(RBAC), refused(RBAC), true)).toMatchObject({
      got: 'error',
      finding: false,
    });
  });
});

describe('summary, exit status and output', () => {
  const ns = (namespace: string, verdicts: FlagResult['verdict'][], exempt = false, detail = '') => {
    const flags = (['hostNetwork', 'hostPID', 'hostIPC'] as const).map((f, i) => ({
      ...flag(f, verdicts[i]!),
      ...(verdicts[i] === 'refused' ? { by: HOSTNS_POLICY } : {}),
    }));
    return { namespace, exempt, flags, result: namespaceResult(flags, exempt), detail };
  };
  const report = (
    namespaces: VerifyReport['namespaces'],
    exceptions: VerifyReport['exceptions'] = [],
  ): VerifyReport => ({ namespaces, exceptions, notes: [] });

  it('exit 0 when every namespace not declared exempt is enforced', () => {
    const r = report([
      ns('web', ['refused', 'refused', 'refused']),
      ns('kube-system', ['admitted', 'admitted', 'admitted'], true, 'declared exempt'),
    ]);
    expect(verifyExitCode(verifySummary(r), false)).toBe(0);
  });

  it('exit 1 when one is not enforced, or only warns (unless accepted), or an exception probe is off', () => {
    expect(verifyExitCode(verifySummary(report([ns('web', ['refused', 'admitted', 'refused'])])), false)).toBe(1);
    const warn = report([ns('web', ['warned', 'warned', 'warned'])]);
    expect(verifyExitCode(verifySummary(warn), false)).toBe(1);
    expect(verifyExitCode(verifySummary(warn, true), false)).toBe(0);
    const off = {
      namespace: 'web',
      name: 'x',
      phase: 'Active' as const,
      allow: ['hostPID' as const],
      selector: 'app=x',
      expected: 'admitted' as const,
      got: 'refused' as const,
      finding: true,
    };
    expect(verifyExitCode(verifySummary(report([ns('web', ['refused', 'refused', 'refused'])], [off])), false)).toBe(1);
  });

  it('exit 2 when a probe proves nothing (it wins over findings), 3 when access was refused', () => {
    const r = report([ns('web', ['error', 'error', 'error']), ns('api', ['admitted', 'admitted', 'admitted'])]);
    expect(verifyExitCode(verifySummary(r), false)).toBe(2);
    expect(verifyExitCode(verifySummary(r), true)).toBe(3);
  });

  it('renders a table per namespace and per exception probe, and JSON with the summary', () => {
    const probe = {
      namespace: 'ops',
      name: 'debug-tools',
      phase: 'Active' as const,
      allow: ['hostPID' as const],
      selector: 'app=debug-tools',
      labels: { ...PROBE_LABELS, app: 'debug-tools' },
      expected: 'admitted' as const,
      got: 'admitted' as const,
      finding: false,
    };
    const r = report(
      [
        ns('ops', ['refused', 'refused', 'refused']),
        ns('web', ['admitted', 'refused', 'refused'], false, 'the binding only records'),
      ],
      [probe],
    );
    const table = renderVerifyTable(r);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE +HOSTNETWORK +HOSTPID +HOSTIPC +RESULT +DETAIL$/);
    expect(lines[1]).toMatch(/^ops +refused +refused +refused +enforced +refused by hostns-host-namespaces$/);
    expect(lines[2]).toMatch(
      /^web +admitted +refused +refused +NOT ENFORCED +refused by hostns-host-namespaces; the binding only records$/,
    );
    expect(table).toMatch(
      /\nNAMESPACE +EXCEPTION +PHASE +ALLOW +PROBE LABELS +EXPECTED +GOT +DETAIL\nops +debug-tools +Active +hostPID +app=debug-tools +admitted +admitted\n/,
    );
    expect(table.trimEnd().split('\n').at(-1)).toBe(
      '2 namespaces: 1 enforced, 0 warn only, 1 not enforced, 0 exempt; 1 exception probe, 0 not as expected',
    );
    const json = JSON.parse(renderVerifyJson(r, DateTime.fromISO('2026-11-27T17:00:00Z', { zone: 'utc' })));
    expect(json.generatedAt).toBe('2026-11-27T17:00:00Z');
    expect(json.summary).toMatchObject({ namespaces: 2, enforced: 1, notEnforced: 1, failed: true, incomplete: false });
    expect(json.namespaces[1].flags[0]).toEqual({ flag: 'hostNetwork', verdict: 'admitted' });
    expect(json.exceptions[0].labels).toEqual({ ...PROBE_LABELS, app: 'debug-tools' });
  });

  it('an exception row shows the whole message only for a finding or a probe that proves nothing', () => {
    const base = {
      namespace: 'ops',
      name: 'old',
      phase: 'Expired' as const,
      allow: ['hostPID' as const],
      selector: 'app=old',
      expected: 'refused' as const,
    };
    const asExpected = { ...base, got: 'refused' as const, by: HOSTNS_POLICY, message: OURS, finding: false };
    const finding = { ...base, got: 'admitted' as const, finding: true, message: 'admitted' };
    const notProbed = {
      ...base,
      got: 'not-probed' as const,
      finding: false,
      message: 'no probe can carry labels its selector selects: x',
    };
    const table = renderVerifyTable(
      report([ns('ops', ['refused', 'refused', 'refused'])], [asExpected, finding, notProbed]),
    );
    const rows = table.split('\n').filter((l) => l.startsWith('ops ') && l.includes(' old '));
    expect(rows[0]).toMatch(/ refused +refused +by hostns-host-namespaces$/);
    expect(rows[1]).toMatch(/ refused +admitted +FINDING: admitted$/);
    expect(rows[2]).toMatch(/ not-probed +no probe can carry labels its selector selects: x$/);
  });
});
