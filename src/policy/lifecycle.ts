// Exception lifecycle: a pure function of (exception, now, config).
import { Duration, type DateTime } from 'luxon';
import type { ExceptionPhase } from '../api/v1alpha1.ts';
import type { PolicyConfig } from './config.ts';
import type { ExceptionFacts } from './exception.ts';

export interface Lifecycle {
  phase: ExceptionPhase;
  /** Why the exception is Invalid (empty otherwise). */
  problems: string[];
  expiresAt?: DateTime;
  /** When it becomes (or became) ExpiringSoon. */
  expiringSoonAt?: DateTime;
  /** When its next review is (or was) due. */
  reviewDueAt?: DateTime;
  /** A review is due and the exception still grants something. */
  reviewOverdue: boolean;
  /** The earliest instant after `now` at which this evaluation changes; undefined when none will. */
  nextTransitionAt?: DateTime;
}

/** True for the phases in which an exception grants what it allows. */
export function isGranting(phase: ExceptionPhase): boolean {
  return phase === 'Active' || phase === 'ExpiringSoon';
}

/** Clock skew tolerated between whoever wrote `acceptedAt` (or `lastReviewedAt`) and the operator. */
export const ACCEPTED_AT_SKEW = Duration.fromObject({ minutes: 5 });

const DAY_MS = 86_400_000;

/**
 * A lifetime in whole days, rounded up: the ONE computation behind every "N days" message (the
 * exception policy's CEL does the same integer arithmetic on milliseconds), so a lifetime just
 * over the maximum never reads as equal to it. 120 days exactly is 120; 90 days and 1 ms is 91.
 */
export function lifetimeDays(from: DateTime, to: DateTime): number {
  const ms = to.toMillis() - from.toMillis();
  return ms <= 0 ? 0 : Math.floor((ms + DAY_MS - 1) / DAY_MS);
}

export function evaluateLifecycle(ex: ExceptionFacts, now: DateTime, config: PolicyConfig): Lifecycle {
  const problems = [...ex.problems];
  const { expiresAt } = ex;
  // A risk accepted in the future would stretch the real lifetime (the exception policy cannot
  // see "now" on an UPDATE): such an exception grants nothing until that time comes.
  const acceptedValidFrom = ex.acceptedAt?.minus(ACCEPTED_AT_SKEW);
  const acceptedInFuture = acceptedValidFrom !== undefined && now < acceptedValidFrom;
  if (acceptedInFuture) {
    problems.push(`spec.riskAcceptance.acceptedAt ${ex.acceptedAt!.toISO()} is in the future`);
  }
  // A review recorded in the future would silence ReviewOverdue until then: treated like a future
  // acceptance (Invalid until that time comes; the exception policy refuses it at creation).
  const reviewedValidFrom = ex.lastReviewedAt?.minus(ACCEPTED_AT_SKEW);
  const reviewedInFuture = reviewedValidFrom !== undefined && now < reviewedValidFrom;
  if (reviewedInFuture) {
    problems.push(`spec.review.lastReviewedAt ${ex.lastReviewedAt!.toISO()} is in the future`);
  }
  if (expiresAt) {
    if (expiresAt <= ex.createdAt) {
      problems.push(
        `spec.expiresAt ${expiresAt.toISO()} was already past when the exception was created (${ex.createdAt.toISO()})`,
      );
    }
    const start = ex.acceptedAt ?? ex.createdAt;
    const from = ex.acceptedAt ? 'spec.riskAcceptance.acceptedAt' : 'creation';
    if (expiresAt <= start && ex.acceptedAt) {
      problems.push(`spec.expiresAt must be after spec.riskAcceptance.acceptedAt`);
    } else if (expiresAt.diff(start) > config.maxLifetime) {
      const days = lifetimeDays(start, expiresAt);
      problems.push(
        `lifetime from ${from} to spec.expiresAt is ${days} days, over the maximum of ${config.maxLifetime.as('days')} days`,
      );
    }
  }
  // A renewal (a new risk acceptance) is a review too: the next one is due an interval after the
  // later of the last recorded review (creation when never reviewed) and the acceptance.
  const lastReview = ex.lastReviewedAt ?? ex.createdAt;
  const reviewedAt = ex.acceptedAt && ex.acceptedAt > lastReview ? ex.acceptedAt : lastReview;
  const reviewDueAt = reviewedAt.plus(config.reviewInterval);
  if (problems.length > 0 || !expiresAt) {
    // Only a future acceptedAt or lastReviewedAt heals by itself; everything else needs a new spec.
    const healing = [
      acceptedInFuture ? acceptedValidFrom : undefined,
      reviewedInFuture ? reviewedValidFrom : undefined,
    ].filter((t): t is DateTime => t !== undefined);
    const heals = healing.length > 0 && problems.length === healing.length;
    const healsAt = heals ? healing.reduce((a, b) => (a < b ? a : b)) : undefined;
    const heal = healsAt ? { nextTransitionAt: healsAt } : {};
    return { phase: 'Invalid', problems, expiresAt, reviewDueAt, reviewOverdue: false, ...heal };
  }

  const expiringSoonAt = expiresAt.minus(config.expiringSoonWindow);
  let phase: ExceptionPhase;
  if (now >= expiresAt) phase = 'Expired';
  else if (now >= expiringSoonAt) phase = 'ExpiringSoon';
  else phase = 'Active';

  const granting = isGranting(phase);
  const reviewOverdue = granting && now >= reviewDueAt;
  const candidates = granting ? [expiringSoonAt, expiresAt, reviewDueAt] : [];
  const future = candidates.filter((t) => t > now).sort((a, b) => a.toMillis() - b.toMillis());
  return { phase, problems, expiresAt, expiringSoonAt, reviewDueAt, reviewOverdue, nextTransitionAt: future[0] };
}
