// Per-exception, per-control reporting in review and audit, and the no-enforced-controls finding.
import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { buildAudit, renderAuditJson, renderAuditTable } from '../../src/report/audit.ts';
import { brokenBy, describePodControls } from '../../src/report/controls.ts';
import { buildReview, renderReviewJson, renderReviewMarkdown, renderReviewTable } from '../../src/report/review.ts';

const now = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });
const config = DEFAULT_POLICY;
const within = Duration.fromObject({ days: 30 });

function ex(name: string, controls: string[] | undefined, over: Record<string, unknown> = {}) {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: { name, namespace: 'mon', creationTimestamp: '2026-05-20T00:00:00Z' },
    spec: {
      owner: 'team-a',
      allow: ['hostNetwork'],
      podSelector: { matchLabels: { app: name } },
      riskAcceptance: {
        justification: 'needs the node network for scraping',
        acceptedBy: 'board',
        ...(controls ? { enforcedControls: controls } : {}),
      },
      expiresAt: '2026-08-01T00:00:00Z',
      ...over,
    },
  };
}

const HARDENED = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};
function pod(name: string, app: string, spec: Record<string, unknown> = {}, namespace = 'mon') {
  return {
    metadata: { name, namespace, labels: { app } },
    spec: { hostNetwork: true, containers: [{ name: 'main', image: 'r.io/a', securityContext: HARDENED }], ...spec },
  };
}
const rootInit = { initContainers: [{ name: 'setup', image: 'r.io/a', securityContext: { runAsUser: 0 } }] };
const hostPath = { volumes: [{ name: 'root', hostPath: { path: '/' } }] };

const CONTROLS = ['runAsNonRoot', 'noHostPath', 'noPrivileged'];
const pods = [
  pod('good', 'agents'),
  pod('root-init', 'agents', rootInit),
  pod('both', 'agents', { ...rootInit, ...hostPath }),
  pod('no-host-ns', 'agents', { hostNetwork: false, ...hostPath }), // uses no host namespace: not meant for it
  pod('other', 'others', hostPath),
  pod('elsewhere', 'agents', hostPath, 'other-ns'),
];

describe('review: enforced controls per exception', () => {
  const rows = buildReview([ex('agents', CONTROLS), ex('legacy', undefined), ex('idle', ['noPrivileged'])], pods, {
    now,
    config,
    within,
  });
  const by = Object.fromEntries(rows.map((r) => [r.name, r]));

  it('per control: pods meeting it, and each pod breaking it with where', () => {
    expect(by.agents!.enforcedControls).toEqual([
      {
        control: 'runAsNonRoot',
        met: 1,
        broken: [
          { pod: 'root-init', where: ['init:setup'] },
          { pod: 'both', where: ['init:setup'] },
        ],
        unchecked: 0,
      },
      { control: 'noHostPath', met: 2, broken: [{ pod: 'both', where: ['volume:root'] }], unchecked: 0 },
      { control: 'noPrivileged', met: 3, broken: [], unchecked: 0 },
    ]);
    // Breaking pods are offenders, so the exception covers only the good one.
    expect(by.agents!.coveredPods).toBe(1);
  });

  it('an exception meant for no pod lists its controls, none met, none broken; one without lists none', () => {
    expect(by.idle!.enforcedControls).toEqual([{ control: 'noPrivileged', met: 0, broken: [], unchecked: 0 }]);
    expect(by.legacy!.enforcedControls).toEqual([]);
  });

  it('no-enforced-controls: only for a valid, unexpired exception without enforced controls', () => {
    expect(by.legacy!.findings.map((f) => f.kind)).toEqual(['unused', 'no-enforced-controls']);
    expect(by.legacy!.findings[1]!.message).toContain('spec.riskAcceptance.enforcedControls is empty');
    expect(by.agents!.findings.map((f) => f.kind)).toEqual([]);
    const [expired] = buildReview([ex('old', undefined, { expiresAt: '2026-05-30T00:00:00Z' })], [], {
      now,
      config,
      within,
    });
    expect(expired!.findings.map((f) => f.kind)).toEqual(['expired']);
    const [invalid] = buildReview([ex('bad', undefined, { owner: '' })], [], { now, config, within });
    expect(invalid!.findings.map((f) => f.kind)).toEqual(['invalid']);
  });

  it('table: a second table with a row per enforced control; markdown and JSON carry it too', () => {
    const text = renderReviewTable(rows);
    const lines = text.split('\n');
    const start = lines.indexOf('Enforced controls (pods each exception is meant for):');
    expect(start).toBeGreaterThan(0);
    expect(lines[start + 1]).toMatch(/^NAMESPACE\s+EXCEPTION\s+CONTROL\s+MET\s+BROKEN\s+BROKEN BY$/);
    // In the review's order (most urgent first: idle is unused).
    expect(lines.slice(start + 2, start + 6)).toEqual([
      expect.stringMatching(/^mon\s+idle\s+noPrivileged\s+0\s+0$/),
      expect.stringMatching(/^mon\s+agents\s+runAsNonRoot\s+1\s+2\s+root-init \(init setup\), both \(init setup\)$/),
      expect.stringMatching(/^mon\s+agents\s+noHostPath\s+2\s+1\s+both \(volume root\)$/),
      expect.stringMatching(/^mon\s+agents\s+noPrivileged\s+3\s+0$/),
    ]);
    expect(text).toContain('1 no-enforced-controls');
    expect(renderReviewMarkdown(rows, now)).toContain('| mon | agents | noHostPath | 2 | 1 | both (volume root) |');
    const json = JSON.parse(renderReviewJson(rows, now));
    expect(json.exceptions.find((e: { name: string }) => e.name === 'agents').enforcedControls[1]).toEqual({
      control: 'noHostPath',
      met: 2,
      broken: [{ pod: 'both', where: ['volume:root'] }],
      unchecked: 0,
    });
  });

  it('no exception enforcing a control: no second table', () => {
    expect(renderReviewTable(buildReview([ex('legacy', undefined)], pods, { now, config, within }))).not.toContain(
      'Enforced controls',
    );
  });

  it('names at most three breaking pods per control in a table', () => {
    const broken = ['a', 'b', 'c', 'd', 'e'].map((p) => ({ pod: p, where: ['main'] }));
    expect(brokenBy(broken)).toBe('a (main), b (main), c (main) +2 more');
  });
});

describe('audit: the controls each pod keeps', () => {
  const rows = buildAudit(pods, [ex('agents', CONTROLS), ex('others', undefined)], { now, config });
  const by = Object.fromEntries(rows.map((r) => [`${r.namespace}/${r.name}`, r]));

  it('per pod and exception: the controls met and those broken, where', () => {
    expect(by['mon/good']!.controls).toEqual([
      { exception: 'agents', met: ['runAsNonRoot', 'noHostPath', 'noPrivileged'], broken: [], unchecked: [] },
    ]);
    expect(by['mon/both']!.controls).toEqual([
      {
        exception: 'agents',
        met: ['noPrivileged'],
        broken: [
          { control: 'runAsNonRoot', where: ['init:setup'] },
          { control: 'noHostPath', where: ['volume:root'] },
        ],
        unchecked: [],
      },
    ]);
    // An exception without enforced controls, or none selecting the pod: nothing to report.
    expect(by['mon/other']!.controls).toEqual([]);
    expect(by['other-ns/elsewhere']!.controls).toEqual([]);
  });

  it('the offender’s detail names the broken contract; the table has a CONTROLS column', () => {
    expect(by['mon/both']!.status).toBe('offender');
    expect(by['mon/both']!.brokenContracts).toEqual([
      {
        exception: 'agents',
        breaches: [
          expect.stringContaining('init container setup breaks control runAsNonRoot'),
          expect.stringContaining('volume root breaks control noHostPath'),
        ],
        summary: 'breaks runAsNonRoot, noHostPath',
      },
    ]);
    const text = renderAuditTable(rows);
    const line = text.split('\n').find((l) => /^mon\s+both\s/.test(l))!;
    expect(line).toContain('1/3 met; broken: runAsNonRoot (init setup), noHostPath (volume root)');
    expect(line).toContain('not allowed: hostNetwork; contract of agents broken: breaks runAsNonRoot, noHostPath');
    expect(text.split('\n').find((l) => /^mon\s+good\s/.test(l))).toContain('3/3 met');
    const json = JSON.parse(renderAuditJson(rows, now));
    expect(json.pods.find((p: { name: string }) => p.name === 'root-init').controls[0].broken).toEqual([
      { control: 'runAsNonRoot', where: ['init:setup'] },
    ]);
  });

  it('several exceptions meant for one pod are named in the cell', () => {
    expect(
      describePodControls([
        { exception: 'a', met: ['noPrivileged'], broken: [], unchecked: [] },
        {
          exception: 'b',
          met: [],
          broken: [{ control: 'noHostPath', where: ['volume:v'] }],
          unchecked: ['networkRestricted'],
        },
      ]),
    ).toBe('a: 1/1 met; b: 0/2 met; broken: noHostPath (volume v); not checked: networkRestricted');
  });
});

describe('networkRestricted in review and audit: checked as the operator does when NetworkPolicies are read', () => {
  const exceptions = [ex('agents', ['networkRestricted'], { allow: ['hostPID'] })];
  const pods = [
    pod('restricted', 'agents', { hostNetwork: false, hostPID: true }),
    {
      ...pod('open', 'agents', { hostNetwork: false, hostPID: true }),
      metadata: { name: 'open', namespace: 'mon', labels: { app: 'agents', open: 'yes' } },
    },
  ];
  const networkPolicies = [
    {
      metadata: { name: 'egress', namespace: 'mon' },
      spec: { podSelector: { matchExpressions: [{ key: 'open', operator: 'DoesNotExist' }] }, policyTypes: ['Egress'] },
    },
    { metadata: { name: 'elsewhere', namespace: 'other' }, spec: { podSelector: {}, policyTypes: ['Egress'] } },
  ];
  it('with the NetworkPolicies: the unrestricted pod breaks it and is an offender', () => {
    const [row] = buildReview(exceptions, pods, { now, config, within, networkPolicies });
    expect(row!.enforcedControls).toEqual([
      { control: 'networkRestricted', met: 1, broken: [{ pod: 'open', where: ['pod'] }], unchecked: 0 },
    ]);
    expect(row!.coveredPods).toBe(1);
    const audit = buildAudit(pods, exceptions, { now, config, networkPolicies });
    expect(audit.find((r) => r.name === 'open')).toMatchObject({ status: 'offender' });
    expect(renderAuditTable(audit)).toContain('contract of agents broken: breaks networkRestricted');
  });
  it('without them (not readable): not checked, and nobody is an offender for it', () => {
    const [row] = buildReview(exceptions, pods, { now, config, within });
    expect(row!.enforcedControls).toEqual([{ control: 'networkRestricted', met: 0, broken: [], unchecked: 2 }]);
    expect(row!.coveredPods).toBe(2);
    expect(renderReviewTable([row!])).toMatch(/networkRestricted +0 +0 +not checked on 2 \(operator only\)/);
    const audit = buildAudit(pods, exceptions, { now, config });
    expect(audit.map((r) => r.status)).toEqual(['covered', 'covered']);
    expect(renderAuditTable(audit)).toContain('0/1 met; not checked: networkRestricted');
  });
});

describe('audit detail of a broken binding', () => {
  it('names the binding breach in full and the broken controls by name', () => {
    const e = ex('agents', ['noHostPath'], { boundTo: { serviceAccountNames: ['agent'] } });
    const [row] = buildAudit([pod('p', 'agents', hostPath)], [e], { now, config });
    expect(row!.brokenContracts[0]!.summary).toBe('runs as ServiceAccount default, not agent; breaks noHostPath');
    expect(renderAuditTable([row!])).toContain(
      'contract of agents broken: runs as ServiceAccount default, not agent; breaks noHostPath',
    );
  });
});

describe('review: Invalid by the operator for a reason outside the object (dedicated namespaces)', () => {
  const valid = (status: 'True' | 'False', message: string, observedGeneration = 1) => ({
    conditions: [
      {
        type: 'Valid',
        status,
        reason: 'Invalid',
        message,
        lastTransitionTime: '2026-06-01T00:00:00Z',
        observedGeneration,
      },
    ],
  });
  const withStatus = (status: unknown, generation = 1) => {
    const e = ex('agents', ['noPrivileged']);
    return { ...e, metadata: { ...e.metadata, generation }, status };
  };
  it('the operator’s Valid=False of the current spec is an invalid finding; an older one, or True, is not', () => {
    const why = 'namespace mon has no label hostns.io/exceptions: HostNamespaceExceptions may only exist in ...';
    const [row] = buildReview([withStatus(valid('False', why))], [], { now, config, within });
    expect(row!.findings[0]).toEqual({ kind: 'invalid', message: `invalid (the operator says): ${why}` });
    for (const e of [withStatus(valid('False', why, 1), 2), withStatus(valid('True', 'spec passed every check'))]) {
      const [r] = buildReview([e], [], { now, config, within });
      expect(r!.findings.map((f) => f.kind)).toEqual(['unused']);
    }
  });
});
