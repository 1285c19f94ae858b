import { DateTime } from 'luxon';
import type { HostNamespaceException } from '../../src/api/v1alpha1.ts';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import type { Enforcement } from '../../src/policy/grants.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { violationNote } from '../../src/policy/violation.ts';
import { stableJson } from '../../src/policy/json.ts';
import { STATUS_SELECTOR_MAX, planException, registerColumns } from '../../src/policy/status.ts';
import { exception } from './fixtures.ts';

const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
const ENFORCED: Enforcement = {
  enforced: true,
  reason: 'InAdmissionGrants',
  message: 'in the admission grants of namespace monitoring',
};
function plan(ex: ReturnType<typeof exception>, now: string, covered = 0, enforcement = ENFORCED) {
  const facts = readException(ex);
  return planException(ex, facts, evaluateLifecycle(facts, at(now), DEFAULT_POLICY), covered, enforcement, at(now));
}

describe('planException', () => {
  it('a new valid exception: Activated once, status filled', () => {
    const p = plan(exception(), '2026-11-02T00:00:00Z', 3);
    expect(p.events.map((e) => e.reason)).toEqual(['Activated']);
    expect(p.events[0]!.note).toContain(
      'grants hostNetwork, hostPID to pods matching app=node-exporter until 2026-12-01T00:00:00Z (owner: team-observability)',
    );
    expect(p.status).toMatchObject({
      phase: 'Active',
      coveredPods: 3,
      observedGeneration: 1,
      expiresAt: '2026-12-01T00:00:00Z',
      nextReviewAt: '2026-12-01T00:00:00Z',
      announced: { activated: '2026-12-01T00:00:00Z' },
    });
    expect(p.status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual([
      'Active=True/Active',
      'Valid=True/Valid',
      'ReviewOverdue=False/ReviewCurrent',
      'Enforced=True/InAdmissionGrants',
    ]);
  });

  it('is idempotent: planning again on its own status plans no Event and the same status', () => {
    const first = plan(exception(), '2026-11-02T00:00:00Z', 3);
    const again = plan(exception({ status: first.status }), '2026-11-05T00:00:00Z', 3);
    expect(again.events).toEqual([]);
    expect(stableJson(again.status)).toBe(stableJson(first.status)); // lastTransitionTime kept
  });

  it('each lapse step is announced exactly once', () => {
    let status = plan(exception(), '2026-11-02T00:00:00Z').status;
    const soon = plan(exception({ status }), '2026-11-25T00:00:00Z');
    expect(soon.events.map((e) => e.reason)).toEqual(['ExpiringSoon']);
    status = soon.status;
    expect(plan(exception({ status }), '2026-11-26T00:00:00Z').events).toEqual([]);
    const expired = plan(exception({ status }), '2026-12-01T00:00:00Z');
    expect(expired.events.map((e) => `${e.type}/${e.reason}`)).toEqual(['Warning/Expired']);
    expect(expired.events[0]!.note).toMatch(/lapsed at 2026-12-01T00:00:00Z.*owner: team-observability/);
    expect(expired.status.phase).toBe('Expired');
    expect(expired.status.conditions?.[0]).toMatchObject({
      type: 'Active',
      status: 'False',
      reason: 'Expired',
      lastTransitionTime: '2026-12-01T00:00:00Z',
    });
    expect(plan(exception({ status: expired.status }), '2026-12-02T00:00:00Z').events).toEqual([]);
  });

  it('an exception first seen already lapsed announces Expired (not Activated)', () => {
    expect(plan(exception(), '2026-12-03T00:00:00Z').events.map((e) => e.reason)).toEqual(['Expired']);
  });

  it('renewal (new expiresAt) is a new validity period: Activated again, old Expired key kept; it is a review too', () => {
    const lapsed = plan(exception(), '2026-12-03T00:00:00Z').status;
    const renewed = exception({
      status: lapsed,
      generation: 2,
      spec: {
        expiresAt: '2027-01-15T00:00:00Z',
        riskAcceptance: {
          justification: 'renewed after the December review',
          acceptedBy: 'board',
          acceptedAt: '2026-12-03T00:00:00Z',
        },
      },
    });
    const p = plan(renewed, '2026-12-04T00:00:00Z');
    // Before renewals counted as reviews this raised ReviewOverdue at once (issue 12).
    expect(p.events.map((e) => e.reason)).toEqual(['Activated']);
    expect(p.status.nextReviewAt).toBe('2027-01-02T00:00:00Z');
    expect(p.status.phase).toBe('Active');
  });

  it('ReviewOverdue once per due date', () => {
    const ex = exception({ spec: { expiresAt: '2027-01-15T00:00:00Z' } });
    const first = plan(ex, '2026-11-02T00:00:00Z');
    const overdue = plan(exception({ ...ex, status: first.status, spec: ex.spec }), '2026-12-02T00:00:00Z');
    expect(overdue.events.map((e) => e.reason)).toEqual(['ReviewOverdue']);
    expect(overdue.events[0]!.note).toContain('never reviewed');
    expect(overdue.events[0]!.note).toContain('kubectl hostns review --mark-reviewed node-exporter -n monitoring');
    expect(overdue.status.conditions?.[2]).toMatchObject({ type: 'ReviewOverdue', status: 'True' });
  });

  it('Invalid: one Warning per generation naming the problems; grants nothing', () => {
    const bad = exception({ spec: { expiresAt: '2027-06-01T00:00:00Z' } });
    const p = plan(bad, '2026-11-02T00:00:00Z');
    expect(p.events.map((e) => `${e.type}/${e.reason}`)).toEqual(['Warning/Invalid']);
    expect(p.events[0]!.note).toMatch(/over the maximum of 90 days/);
    expect(p.status).toMatchObject({ phase: 'Invalid', coveredPods: 0, announced: { invalid: 'generation-1' } });
    expect(plan(exception({ ...bad, status: p.status, spec: bad.spec }), '2026-11-03T00:00:00Z').events).toEqual([]);
  });
});

describe('violationNote', () => {
  it('names the pod, owner, flags and the lapsed exception with its owner', () => {
    const note = violationNote(
      { namespace: 'ns', name: 'p', owner: 'DaemonSet/agent' },
      {
        flags: ['hostNetwork'],
        lapsed: [{ name: 'cni', owner: 'team-net', expiresAt: '2026-12-01T00:00:00Z' }],
        broken: [],
        lost: [],
      },
    );
    expect(note).toBe(
      'Pod p (DaemonSet/agent) uses hostNetwork, which no active HostNamespaceException in namespace ns allows. Caused by the lapse of exception cni (owner: team-net, expired 2026-12-01T00:00:00Z).',
    );
  });
});

describe('classifiableExceptions (the rule the controller and the CLI share)', () => {
  it('Active/ExpiringSoon grant, Expired only explains, Invalid is left out', async () => {
    const { classifiableExceptions } = await import('../../src/policy/classify.ts');
    const now = at('2026-11-26T00:00:00Z');
    const views = [
      exception({ name: 'active', spec: { expiresAt: '2026-12-20T00:00:00Z' } }),
      exception({ name: 'soon' }),
      exception({ name: 'lapsed', spec: { expiresAt: '2026-11-20T00:00:00Z' } }),
      exception({ name: 'invalid', spec: { owner: '' } }),
    ].map((ex) => {
      const facts = readException(ex);
      return { facts, lifecycle: evaluateLifecycle(facts, now, DEFAULT_POLICY) };
    });
    expect(classifiableExceptions(views).map((g) => `${g.name}:${g.granting}`)).toEqual([
      'active:true',
      'soon:true',
      'lapsed:false',
    ]);
  });
});

type Spec = Partial<HostNamespaceException['spec']>;

describe("registerColumns: the register's ALLOWS and -o wide SELECTOR, as status strings", () => {
  const facts = (spec: Spec) => readException(exception({ spec }));
  it.each<[string, Spec, { allows: string; selector: string }]>([
    ['two flags, one label', {}, { allows: 'hostNetwork,hostPID', selector: 'app=node-exporter' }],
    [
      'all three flags in canonical order, whatever the spec order',
      { allow: ['hostIPC', 'hostNetwork', 'hostPID'] },
      { allows: 'hostNetwork,hostPID,hostIPC', selector: 'app=node-exporter' },
    ],
    [
      'every operator',
      {
        podSelector: {
          matchLabels: { app: 'x' },
          matchExpressions: [
            { key: 't', operator: 'In', values: ['a', 'b'] },
            { key: 'u', operator: 'NotIn', values: ['c'] },
            { key: 'e', operator: 'Exists' },
            { key: 'd', operator: 'DoesNotExist' },
          ],
        },
      },
      { allows: 'hostNetwork,hostPID', selector: 'app=x,t in (a,b),u notin (c),e,!d' },
    ],
    [
      'namespace-wide',
      { podSelector: {}, namespaceWide: true },
      { allows: 'hostNetwork,hostPID', selector: '(all pods)' },
    ],
    [
      'an unreadable selector shows nothing rather than "(all pods)"',
      { podSelector: { matchLabels: { 'hostns.io/violation': 'true' } } },
      { allows: 'hostNetwork,hostPID', selector: '' },
    ],
  ])('%s', (_, spec, expected) => {
    expect(registerColumns(facts(spec))).toEqual(expected);
  });

  it('cuts a long selector at the CRD limit, by characters', () => {
    const matchLabels = Object.fromEntries(
      Array.from({ length: 32 }, (_, i) => [`example.com/key-${'é'.repeat(40)}-${i}`, 'v'.repeat(63)]),
    );
    const { selector } = registerColumns(facts({ podSelector: { matchLabels } }));
    expect(Array.from(selector)).toHaveLength(STATUS_SELECTOR_MAX);
    expect(selector.endsWith('…')).toBe(true);
  });

  it('planException writes them into the status', () => {
    const ex = exception();
    const f = readException(ex);
    const plan = planException(
      ex,
      f,
      evaluateLifecycle(f, DateTime.fromISO('2026-11-10T00:00:00Z'), DEFAULT_POLICY),
      1,
      ENFORCED,
      DateTime.fromISO('2026-11-10T00:00:00Z'),
    );
    expect(plan.status).toMatchObject({ allows: 'hostNetwork,hostPID', selector: 'app=node-exporter' });
  });
});

describe('planException: Enforced', () => {
  const budget: Enforcement = {
    enforced: false,
    reason: 'GrantsBudgetExceeded',
    message: 'not honoured at admission: namespace monitoring has 65 granting exceptions',
  };
  const writeFailed: Enforcement = {
    enforced: false,
    reason: 'GrantsWriteFailed',
    message: 'not honoured at admission: writing failed: 500',
  };
  const pending: Enforcement = {
    enforced: false,
    reason: 'GrantsPending',
    message: 'the grants object of namespace monitoring is being written',
  };

  it.each([
    ['over budget', budget],
    ['write failing', writeFailed],
  ])('%s: Enforced=False with the reason, one NotEnforced Warning Event, never twice', (_, enforcement) => {
    const p = plan(exception(), '2026-11-02T00:00:00Z', 0, enforcement);
    const enforced = p.status.conditions?.find((c) => c.type === 'Enforced');
    expect(enforced).toMatchObject({ status: 'False', reason: enforcement.reason, message: enforcement.message });
    const notEnforced = p.events.filter((e) => e.reason === 'NotEnforced');
    expect(notEnforced).toHaveLength(1);
    expect(notEnforced[0]).toMatchObject({
      type: 'Warning',
      announce: 'notEnforced',
      key: `${enforcement.reason}/generation-1`,
    });
    expect(notEnforced[0]!.note).toBe(`Exception is ${enforcement.message} (owner: team-observability).`);
    const again = plan(exception({ status: p.status }), '2026-11-02T00:01:00Z', 0, enforcement);
    expect(again.events).toEqual([]);
    expect(again.status.conditions?.find((c) => c.type === 'Enforced')?.lastTransitionTime).toBe(
      enforced!.lastTransitionTime,
    );
  });

  it('a pending write is Enforced=False without an Event; a new cause after a fix raises a new Event', () => {
    const p = plan(exception(), '2026-11-02T00:00:00Z', 0, pending);
    expect(p.status.conditions?.find((c) => c.type === 'Enforced')).toMatchObject({
      status: 'False',
      reason: 'GrantsPending',
    });
    expect(p.events.map((e) => e.reason)).toEqual(['Activated']);
    const over = plan(exception({ status: p.status }), '2026-11-02T00:01:00Z', 0, budget);
    expect(over.events.map((e) => e.reason)).toEqual(['NotEnforced']);
    const fixed = plan(exception({ status: over.status }), '2026-11-02T00:02:00Z', 0, ENFORCED);
    expect(fixed.events).toEqual([]);
    expect(fixed.status.conditions?.find((c) => c.type === 'Enforced')).toMatchObject({
      status: 'True',
      lastTransitionTime: '2026-11-02T00:02:00Z',
    });
    const failing = plan(exception({ status: fixed.status }), '2026-11-02T00:03:00Z', 0, writeFailed);
    expect(failing.events.map((e) => e.key)).toEqual(['GrantsWriteFailed/generation-1']);
  });

  it('the Event note is capped at the 1024 bytes Events allow', () => {
    const long: Enforcement = { ...writeFailed, message: 'x'.repeat(5000) };
    expect(
      plan(exception(), '2026-11-02T00:00:00Z', 0, long).events.find((e) => e.reason === 'NotEnforced')!.note.length,
    ).toBe(1024);
  });
});
