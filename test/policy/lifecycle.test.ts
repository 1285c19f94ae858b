import { DateTime, Duration } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import { evaluateLifecycle, isGranting, lifetimeDays } from '../../src/policy/lifecycle.ts';
import { exception } from './fixtures.ts';

const at = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
const evalAt = (ex: ReturnType<typeof exception>, now: string, policy = DEFAULT_POLICY) =>
  evaluateLifecycle(readException(ex), at(now), policy);

describe('evaluateLifecycle', () => {
  // created 2026-11-01, expires 2026-12-01: ExpiringSoon from 2026-11-24, review due 2026-12-01.
  it('Active before the window, next transition = ExpiringSoon start', () => {
    const lc = evalAt(exception(), '2026-11-10T00:00:00Z');
    expect(lc.phase).toBe('Active');
    expect(lc.nextTransitionAt?.toISO()).toBe(at('2026-11-24T00:00:00Z').toISO());
    expect(lc.reviewOverdue).toBe(false);
  });

  it('ExpiringSoon inside the window (boundary inclusive), next = expiry', () => {
    expect(evalAt(exception(), '2026-11-23T23:59:59Z').phase).toBe('Active');
    const lc = evalAt(exception(), '2026-11-24T00:00:00Z');
    expect(lc.phase).toBe('ExpiringSoon');
    expect(lc.nextTransitionAt?.toISO()).toBe(at('2026-12-01T00:00:00Z').toISO());
  });

  it('Expired exactly at expiresAt, with no further transition', () => {
    expect(evalAt(exception(), '2026-11-30T23:59:59.999Z').phase).toBe('ExpiringSoon');
    const lc = evalAt(exception(), '2026-12-01T00:00:00Z');
    expect(lc.phase).toBe('Expired');
    expect(lc.nextTransitionAt).toBeUndefined();
    expect(isGranting(lc.phase)).toBe(false);
  });

  it('Invalid when expiresAt is not after creation', () => {
    const lc = evalAt(
      exception({ created: '2026-11-01T00:00:00Z', spec: { expiresAt: '2026-11-01T00:00:00Z' } }),
      '2026-10-01T00:00:00Z',
    );
    expect(lc.phase).toBe('Invalid');
    expect(lc.problems.join()).toMatch(/already past when the exception was created/);
    expect(lc.nextTransitionAt).toBeUndefined();
  });

  it('Invalid when the lifetime exceeds the maximum; exactly the maximum is fine', () => {
    const ok = evalAt(exception({ spec: { expiresAt: '2027-01-30T00:00:00Z' } }), '2026-11-02T00:00:00Z');
    expect(ok.phase).toBe('Active'); // 90 days exactly
    const lc = evalAt(exception({ spec: { expiresAt: '2027-01-30T00:00:01Z' } }), '2026-11-02T00:00:00Z');
    expect(lc.phase).toBe('Invalid');
    expect(lc.problems.join()).toMatch(
      /lifetime from creation to spec.expiresAt is 91 days, over the maximum of 90 days/,
    );
  });

  it('measures the lifetime from riskAcceptance.acceptedAt when set (renewal)', () => {
    const renewed = exception({
      created: '2026-01-01T00:00:00Z',
      spec: {
        expiresAt: '2026-12-20T00:00:00Z',
        riskAcceptance: {
          justification: 'renewed after review by the board',
          acceptedBy: 'board',
          acceptedAt: '2026-11-01T00:00:00Z',
        },
      },
    });
    expect(evalAt(renewed, '2026-11-02T00:00:00Z').phase).toBe('Active');
    const acceptedAfterExpiry = exception({
      spec: {
        expiresAt: '2026-11-20T00:00:00Z',
        riskAcceptance: {
          justification: 'accepted after the expiry date, odd',
          acceptedBy: 'board',
          acceptedAt: '2026-11-21T00:00:00Z',
        },
      },
    });
    expect(evalAt(acceptedAfterExpiry, '2026-11-02T00:00:00Z').problems.join()).toMatch(
      /after spec.riskAcceptance.acceptedAt/,
    );
  });

  it('a configurable window and maximum', () => {
    const policy = {
      ...DEFAULT_POLICY,
      expiringSoonWindow: Duration.fromObject({ days: 20 }),
      maxLifetime: Duration.fromObject({ days: 10 }),
    };
    expect(evalAt(exception(), '2026-11-12T00:00:00Z', policy).phase).toBe('Invalid');
    const short = exception({ spec: { expiresAt: '2026-11-08T00:00:00Z' } });
    expect(evalAt(short, '2026-11-02T00:00:00Z', policy).phase).toBe('ExpiringSoon');
  });

  it('review due 30 days after creation, or after the last review', () => {
    const ex = exception({ spec: { expiresAt: '2027-01-15T00:00:00Z' } });
    const before = evalAt(ex, '2026-11-30T00:00:00Z');
    expect(before.reviewOverdue).toBe(false);
    expect(before.reviewDueAt?.toISO()).toBe(at('2026-12-01T00:00:00Z').toISO());
    expect(before.nextTransitionAt?.toISO()).toBe(at('2026-12-01T00:00:00Z').toISO());
    expect(evalAt(ex, '2026-12-01T00:00:00Z').reviewOverdue).toBe(true);
    const reviewed = exception({
      spec: {
        expiresAt: '2027-01-15T00:00:00Z',
        review: { lastReviewedAt: '2026-11-28T00:00:00Z', reviewedBy: 'alice' },
      },
    });
    const lc = evalAt(reviewed, '2026-12-05T00:00:00Z');
    expect(lc.reviewOverdue).toBe(false);
    expect(lc.reviewDueAt?.toISO()).toBe(at('2026-12-28T00:00:00Z').toISO());
  });

  it('an expired exception is never review-overdue', () => {
    expect(evalAt(exception(), '2026-12-05T00:00:00Z').reviewOverdue).toBe(false);
  });

  it('malformed objects become Invalid with every problem named, never throw', () => {
    const broken = {
      metadata: { name: 'x', namespace: 'y' },
      spec: {
        allow: ['hostNetwork', 'hostNetwork', 'hostUTS'],
        podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] },
        expiresAt: 'next tuesday',
        riskAcceptance: { justification: 'short' },
      },
    };
    const facts = readException(broken);
    const lc = evaluateLifecycle(facts, at('2026-11-02T00:00:00Z'), DEFAULT_POLICY);
    expect(lc.phase).toBe('Invalid');
    const all = lc.problems.join('\n');
    for (const field of [
      'spec.owner',
      'spec.allow: unknown host namespace "hostUTS"',
      'spec.allow has duplicate',
      'operator must be one of',
      'spec.riskAcceptance.justification must be at least 20',
      'spec.riskAcceptance.acceptedBy is required',
      'spec.expiresAt "next tuesday"',
    ]) {
      expect(all).toContain(field);
    }
    for (const junk of [null, 42, 'x', [], { spec: null }, { metadata: null, spec: { allow: 'hostPID' } }]) {
      expect(() =>
        evaluateLifecycle(readException(junk as never), at('2026-11-02T00:00:00Z'), DEFAULT_POLICY),
      ).not.toThrow();
    }
  });
});

describe('acceptedAt in the future', () => {
  const ex = exception({
    spec: {
      expiresAt: '2027-01-20T00:00:00Z',
      riskAcceptance: {
        justification: 'accepted in advance, which stretches the lifetime',
        acceptedBy: 'board',
        acceptedAt: '2026-11-20T00:00:00Z',
      },
    },
  });
  it('is Invalid until then (5 min skew tolerated), then heals by itself at a scheduled transition', () => {
    const early = evalAt(ex, '2026-11-10T00:00:00Z');
    expect(early.phase).toBe('Invalid');
    expect(early.problems).toEqual(['spec.riskAcceptance.acceptedAt 2026-11-20T00:00:00.000Z is in the future']);
    expect(early.nextTransitionAt?.toISO()).toBe(at('2026-11-19T23:55:00Z').toISO());
    expect(evalAt(ex, '2026-11-19T23:56:00Z').phase).toBe('Active');
  });
  it('does not heal when something else is wrong too', () => {
    const bad = exception({ spec: { ...ex.spec, owner: '' } });
    expect(evalAt(bad, '2026-11-10T00:00:00Z').nextTransitionAt).toBeUndefined();
  });
});

describe('lastReviewedAt in the future (it would silence ReviewOverdue until then)', () => {
  const ex = exception({ spec: { review: { lastReviewedAt: '2026-12-20T00:00:00Z', reviewedBy: 'jane' } } });
  it('is Invalid like a future acceptedAt (5 min skew tolerated), and heals by itself', () => {
    const lc = evalAt(ex, '2026-11-10T00:00:00Z');
    expect(lc.phase).toBe('Invalid');
    expect(lc.problems).toEqual(['spec.review.lastReviewedAt 2026-12-20T00:00:00.000Z is in the future']);
    expect(lc.nextTransitionAt?.toISO()).toBe(at('2026-12-19T23:55:00Z').toISO());
    const skew = exception({ spec: { review: { lastReviewedAt: '2026-11-10T00:04:00Z' } } });
    expect(evalAt(skew, '2026-11-10T00:00:00Z').phase).toBe('Active');
  });
  it('a past review is fine and moves the due date', () => {
    const past = exception({ spec: { review: { lastReviewedAt: '2026-11-05T00:00:00Z' } } });
    const lc = evalAt(past, '2026-11-10T00:00:00Z');
    expect(lc.phase).toBe('Active');
    expect(lc.reviewDueAt?.toISO()).toBe(at('2026-12-05T00:00:00Z').toISO());
  });
  it('with a future acceptedAt too, heals at the earlier of the two', () => {
    const both = exception({
      spec: {
        expiresAt: '2027-01-20T00:00:00Z',
        review: { lastReviewedAt: '2026-12-01T00:00:00Z' },
        riskAcceptance: {
          justification: 'accepted in advance, which stretches the lifetime',
          acceptedBy: 'board',
          acceptedAt: '2026-11-20T00:00:00Z',
        },
      },
    });
    const lc = evalAt(both, '2026-11-10T00:00:00Z');
    expect(lc.problems).toHaveLength(2);
    expect(lc.nextTransitionAt?.toISO()).toBe(at('2026-11-19T23:55:00Z').toISO());
  });
});

describe('lifetimeDays: the one lifetime computation (the exception policy CEL does the same)', () => {
  const from = at('2030-01-01T00:00:00Z');
  it.each<[string, number]>([
    ['2030-01-01T00:00:00Z', 0],
    ['2030-01-01T00:00:00.001Z', 1],
    ['2030-01-02T00:00:00Z', 1],
    ['2030-01-02T00:00:00.001Z', 2],
    ['2030-04-01T00:00:00Z', 90], // 90 days exactly: the maximum, admitted
    ['2030-04-01T00:00:01Z', 91], // one second over: never reads "90 days, over the maximum of 90"
    ['2030-04-30T23:00:00Z', 120],
    ['2030-05-01T00:00:00Z', 120], // 120 days exactly: 120 (the policy said 119 before)
  ])('to %s is %i days', (to, days) => {
    expect(lifetimeDays(from, at(to))).toBe(days);
  });
  it('is what the lifetime problem says', () => {
    const lc = evalAt(
      exception({ created: '2030-01-01T00:00:00Z', spec: { expiresAt: '2030-05-01T00:00:00Z' } }),
      '2030-01-02T00:00:00Z',
    );
    expect(lc.problems.join()).toContain(
      'lifetime from creation to spec.expiresAt is 120 days, over the maximum of 90 days',
    );
  });
});

describe('a renewal is a review', () => {
  it('the next review is due an interval after the later of the last review (or creation) and the acceptance', () => {
    const now = DateTime.fromISO('2026-11-20T00:00:00Z', { zone: 'utc' });
    const due = (ra: Record<string, unknown>, review?: Record<string, unknown>) => {
      const base = exception();
      const ex = exception({
        spec: { riskAcceptance: { ...base.spec.riskAcceptance, ...ra }, ...(review ? { review } : {}) },
      });
      return evaluateLifecycle(readException(ex), now, DEFAULT_POLICY).reviewDueAt?.toISO();
    };
    const created = due({});
    // Renewed after the last review: the renewal counts as the review.
    expect(due({ acceptedAt: '2026-11-15T00:00:00Z' }, { lastReviewedAt: '2026-11-05T00:00:00Z' })).toBe(
      '2026-12-15T00:00:00.000Z',
    );
    // Reviewed after the renewal: the review counts.
    expect(due({ acceptedAt: '2026-11-05T00:00:00Z' }, { lastReviewedAt: '2026-11-15T00:00:00Z' })).toBe(
      '2026-12-15T00:00:00.000Z',
    );
    // An acceptance before creation moves nothing.
    expect(due({ acceptedAt: '2020-01-01T00:00:00Z' })).toBe(created);
  });
});
