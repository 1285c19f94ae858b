import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import { desiredGrants } from '../../src/policy/grants.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { violationNote } from '../../src/policy/classify.ts';
import { stableJson } from '../../src/policy/json.ts';
import { planException } from '../../src/policy/status.ts';
import { exception } from './fixtures.ts';

const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
function plan(ex: ReturnType<typeof exception>, now: string, covered = 0) {
  const facts = readException(ex);
  return planException(ex, facts, evaluateLifecycle(facts, at(now), DEFAULT_POLICY), covered, at(now));
}

describe('planException', () => {
  it('a new valid exception: Activated once, status filled', () => {
    const p = plan(exception(), '2026-11-02T00:00:00Z', 3);
    expect(p.events.map((e) => e.reason)).toEqual(['Activated']);
    expect(p.events[0]!.note).toContain('grants hostNetwork, hostPID to pods matching app=node-exporter until 2026-12-01T00:00:00Z (owner: team-observability)');
    expect(p.status).toMatchObject({
      phase: 'Active',
      coveredPods: 3,
      observedGeneration: 1,
      expiresAt: '2026-12-01T00:00:00Z',
      nextReviewAt: '2026-12-01T00:00:00Z',
      announced: { activated: '2026-12-01T00:00:00Z' },
    });
    expect(p.status.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`)).toEqual(['Active=True/Active', 'Valid=True/Valid', 'ReviewOverdue=False/ReviewCurrent']);
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
    expect(expired.status.conditions?.[0]).toMatchObject({ type: 'Active', status: 'False', reason: 'Expired', lastTransitionTime: '2026-12-01T00:00:00Z' });
    expect(plan(exception({ status: expired.status }), '2026-12-02T00:00:00Z').events).toEqual([]);
  });

  it('an exception first seen already lapsed announces Expired (not Activated)', () => {
    expect(plan(exception(), '2026-12-03T00:00:00Z').events.map((e) => e.reason)).toEqual(['Expired']);
  });

  it('renewal (new expiresAt) is a new validity period: Activated again, old Expired key kept', () => {
    const lapsed = plan(exception(), '2026-12-03T00:00:00Z').status;
    const renewed = exception({
      status: lapsed,
      generation: 2,
      spec: { expiresAt: '2027-01-15T00:00:00Z', riskAcceptance: { justification: 'renewed after the December review', acceptedBy: 'board', acceptedAt: '2026-12-03T00:00:00Z' } },
    });
    const p = plan(renewed, '2026-12-04T00:00:00Z');
    expect(p.events.map((e) => e.reason)).toEqual(['Activated', 'ReviewOverdue']);
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

describe('desiredGrants', () => {
  it('only granting exceptions, not exempt namespaces, sorted, selectors normalised', () => {
    const now = at('2026-11-02T00:00:00Z');
    const views = [
      exception({ name: 'b', namespace: 'ns2' }),
      exception({ name: 'a', namespace: 'ns2', spec: { podSelector: {} } }),
      exception({ name: 'c', namespace: 'ns1', spec: { expiresAt: '2026-11-01T12:00:00Z' } }),
      exception({ name: 'd', namespace: 'kube-system' }),
      exception({ name: 'e', namespace: 'ns1', spec: { owner: '' } }),
    ].map((ex) => {
      const facts = readException(ex);
      return { facts, lifecycle: evaluateLifecycle(facts, now, DEFAULT_POLICY) };
    });
    expect(desiredGrants(views, new Set(['kube-system']))).toEqual({
      namespaces: {
        ns2: [
          { exception: 'a', allow: ['hostNetwork', 'hostPID'], expiresAt: '2026-12-01T00:00:00Z', selector: { matchLabels: {}, matchExpressions: [] } },
          { exception: 'b', allow: ['hostNetwork', 'hostPID'], expiresAt: '2026-12-01T00:00:00Z', selector: { matchLabels: { app: 'node-exporter' }, matchExpressions: [] } },
        ],
      },
    });
  });
});

describe('violationNote', () => {
  it('names the pod, owner, flags and the lapsed exception with its owner', () => {
    const note = violationNote({ namespace: 'ns', name: 'p', owner: 'DaemonSet/agent' }, ['hostNetwork'], [{ name: 'cni', owner: 'team-net' }], () => '2026-12-01T00:00:00Z');
    expect(note).toBe('Pod p (DaemonSet/agent) uses hostNetwork, which no active HostNamespaceException in namespace ns allows. Caused by the lapse of exception cni (owner: team-net, expired 2026-12-01T00:00:00Z).');
  });
});

describe('desiredGrants bounds', () => {
  it('leaves out the last grants by name beyond the bounds, and says which', () => {
    const now = at('2026-11-02T00:00:00Z');
    const views = ['a', 'b', 'c'].flatMap((ns) => ['x', 'y', 'z'].map((name) => exception({ name, namespace: ns }))).map((ex) => {
      const facts = readException(ex);
      return { facts, lifecycle: evaluateLifecycle(facts, now, DEFAULT_POLICY) };
    });
    const g = desiredGrants(views, new Set(), { perNamespace: 2, namespaces: 2 });
    expect(Object.keys(g.namespaces)).toEqual(['a', 'b']);
    expect(g.namespaces.a!.map((x) => x.exception)).toEqual(['x', 'y']);
    expect(g.dropped).toEqual(['a/z', 'b/z', 'c/x', 'c/y', 'c/z']);
    expect(desiredGrants(views, new Set()).dropped).toBeUndefined();
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
    expect(classifiableExceptions(views).map((g) => `${g.name}:${g.granting}`)).toEqual(['active:true', 'soon:true', 'lapsed:false']);
  });
});
