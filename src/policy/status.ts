// What an exception's status should be and which Events are due: a pure function of the
// exception, its lifecycle, the pods it covers and now. The shell writes the difference.
import type { DateTime } from 'luxon';
import {
  MAX_STATUS_WORKLOADS,
  type AnnouncedEvents,
  type Condition,
  type HostNamespaceException,
  type HostNamespaceExceptionStatus,
  type StatusWorkload,
} from '../api/v1alpha1.ts';
import { impactText, type WorkloadImpact } from './impact.ts';
import type { ExceptionFacts } from './exception.ts';
import { rfc3339, type Enforcement } from './grants.ts';
import { isGranting, type Lifecycle } from './lifecycle.ts';
import { CONDITION_MESSAGE_MAX_BYTES, EVENT_NOTE_MAX_BYTES, truncateUtf8, utf8Bytes } from './limits.ts';
import { formatSelector } from './selector.ts';

export interface PlannedEvent {
  reason: 'Activated' | 'ExpiringSoon' | 'Expired' | 'ReviewOverdue' | 'Invalid' | 'NotEnforced';
  type: 'Normal' | 'Warning';
  action: string;
  note: string;
  /** The transition this Event announces; recorded in status.announced once the Event exists. */
  announce: keyof AnnouncedEvents;
  key: string;
}

export interface ExceptionPlan {
  status: HostNamespaceExceptionStatus;
  events: PlannedEvent[];
}

function condition(
  previous: readonly Condition[] | undefined,
  type: string,
  status: Condition['status'],
  reason: string,
  message: string,
  generation: number | undefined,
  now: DateTime,
): Condition {
  const old = previous?.find((c) => c.type === type);
  // lastTransitionTime moves only when the status flips, so a resync never rewrites it.
  const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : rfc3339(now);
  // The problems of an invalid exception quote user text: bounded in bytes, as the API counts.
  return {
    type,
    status,
    observedGeneration: generation,
    lastTransitionTime,
    reason,
    message: truncateUtf8(message, CONDITION_MESSAGE_MAX_BYTES),
  };
}

/**
 * The desired status and the Events still to raise. Events are keyed by what made them due, so
 * one already recorded in `status.announced` is never planned again. `enforcement` says whether
 * admission honours the exception (src/policy/grants.ts enforcementOf). `workloads`: those whose
 * pods depend on it (src/policy/impact.ts), named in the ExpiringSoon Event and status.workloads.
 */
export function planException(
  obj: HostNamespaceException,
  facts: ExceptionFacts,
  lc: Lifecycle,
  coveredPods: number,
  enforcement: Enforcement,
  now: DateTime,
  workloads: readonly WorkloadImpact[] = [],
): ExceptionPlan {
  const prev = obj.status ?? {};
  const announced: AnnouncedEvents = { ...(prev.announced ?? {}) };
  const generation = obj.metadata.generation;
  const events: PlannedEvent[] = [];
  const allows = facts.allow.join(', ');
  const expires = lc.expiresAt ? rfc3339(lc.expiresAt) : undefined;
  const owner = facts.owner || '(none)';

  const due = (e: Omit<PlannedEvent, 'key'>, key: string) => {
    if (announced[e.announce] !== key) events.push({ ...e, key });
  };

  if (lc.phase === 'Invalid') {
    due(
      {
        reason: 'Invalid',
        type: 'Warning',
        action: 'Validate',
        announce: 'invalid',
        note: `Exception is invalid and grants nothing: ${lc.problems.join('; ')}.`,
      },
      `generation-${generation ?? 0}`,
    );
  } else if (expires) {
    if (isGranting(lc.phase)) {
      due(
        {
          reason: 'Activated',
          type: 'Normal',
          action: 'Grant',
          announce: 'activated',
          note: `Exception grants ${allows} to pods matching ${formatSelector(facts.selector)} until ${expires} (owner: ${owner}).`,
        },
        expires,
      );
    }
    if (lc.phase === 'ExpiringSoon') {
      due(
        {
          reason: 'ExpiringSoon',
          type: 'Warning',
          action: 'Warn',
          announce: 'expiringSoon',
          note: withImpact(
            `Exception expires at ${expires}; renew it with a fresh risk acceptance (spec.riskAcceptance.acceptedAt) or let it lapse (owner: ${owner}).`,
            workloads,
            expires,
          ),
        },
        expires,
      );
    }
    if (lc.phase === 'Expired') {
      due(
        {
          reason: 'Expired',
          type: 'Warning',
          action: 'Lapse',
          announce: 'expired',
          note: `Exception lapsed at ${expires}: ${allows} is no longer allowed for pods matching ${formatSelector(facts.selector)}; pods it covered are offenders unless another exception covers them (owner: ${owner}).`,
        },
        expires,
      );
    }
    if (lc.reviewOverdue && lc.reviewDueAt) {
      const last = facts.lastReviewedAt
        ? `last reviewed ${rfc3339(facts.lastReviewedAt)}${obj.spec?.review?.reviewedBy ? ` by ${obj.spec.review.reviewedBy}` : ''}`
        : 'never reviewed';
      due(
        {
          reason: 'ReviewOverdue',
          type: 'Warning',
          action: 'Review',
          announce: 'reviewOverdue',
          note: `Review was due at ${rfc3339(lc.reviewDueAt)} (${last}; owner: ${owner}). Record it with: kubectl hostns review --mark-reviewed ${facts.name} -n ${facts.namespace} --by <you>.`,
        },
        rfc3339(lc.reviewDueAt),
      );
    }
  }

  // A pending write is a moment, not news; a refusal admission will keep making is.
  if (!enforcement.enforced && enforcement.reason !== 'GrantsPending') {
    due(
      {
        reason: 'NotEnforced',
        type: 'Warning',
        action: 'Enforce',
        announce: 'notEnforced',
        note: `Exception is ${enforcement.message} (owner: ${owner}).`.slice(0, 1024),
      },
      `${enforcement.reason}/generation-${generation ?? 0}`,
    );
  }

  for (const e of events) announced[e.announce] = e.key;

  const granting = isGranting(lc.phase);
  const activeMessage =
    lc.phase === 'Invalid'
      ? `grants nothing: ${lc.problems.join('; ')}`
      : lc.phase === 'Expired'
        ? `lapsed at ${expires}`
        : `grants ${allows} to pods matching ${formatSelector(facts.selector)} until ${expires}`;
  const conditions: Condition[] = [
    condition(prev.conditions, 'Active', granting ? 'True' : 'False', lc.phase, activeMessage, generation, now),
    condition(
      prev.conditions,
      'Valid',
      lc.phase === 'Invalid' ? 'False' : 'True',
      lc.phase === 'Invalid' ? 'Invalid' : 'Valid',
      lc.phase === 'Invalid' ? lc.problems.join('; ') : 'spec passed every check',
      generation,
      now,
    ),
    condition(
      prev.conditions,
      'ReviewOverdue',
      lc.reviewOverdue ? 'True' : 'False',
      lc.reviewOverdue ? 'ReviewOverdue' : 'ReviewCurrent',
      lc.reviewDueAt ? `next review due ${rfc3339(lc.reviewDueAt)}` : 'no review date',
      generation,
      now,
    ),
    condition(
      prev.conditions,
      'Enforced',
      enforcement.enforced ? 'True' : 'False',
      enforcement.reason,
      enforcement.message,
      generation,
      now,
    ),
  ];

  const status: HostNamespaceExceptionStatus = {
    phase: lc.phase,
    conditions,
    observedGeneration: generation,
    coveredPods,
    ...statusWorkloads(workloads),
    ...registerColumns(facts),
    ...(expires ? { expiresAt: expires } : {}),
    ...(lc.reviewDueAt ? { nextReviewAt: rfc3339(lc.reviewDueAt) } : {}),
    ...(Object.keys(announced).length ? { announced } : {}),
  };
  return { status, events };
}

/**
 * The ExpiringSoon note names what will break: `... After <expiresAt> DaemonSet ns/x (120 pods on
 * 120 nodes) can no longer create pods: new nodes get no x.` Whole sentences within the note's bytes.
 */
function withImpact(note: string, workloads: readonly WorkloadImpact[], expires: string): string {
  if (!workloads.length) return `${note} No workload depends on it now.`;
  const room = EVENT_NOTE_MAX_BYTES - utf8Bytes(note) - 2;
  const text = impactText(workloads, expires, false, room - 1);
  return `${note} ${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/**
 * status.workloads: kind, name and pod count of the first MAX_STATUS_WORKLOADS, and how many in
 * all. No node counts: they change whenever a pod is rescheduled, and the status must not churn
 * with the pods. The pod counts change when a pod of the workload comes or goes, which changes
 * coveredPods as well: they add no status write of their own.
 */
export function statusWorkloads(workloads: readonly WorkloadImpact[]): {
  workloads?: StatusWorkload[];
  workloadCount?: number;
} {
  if (!workloads.length) return {};
  return {
    workloads: workloads.slice(0, MAX_STATUS_WORKLOADS).map((w) => ({
      kind: w.workload.kind,
      name: w.workload.name,
      pods: w.pods,
    })),
    workloadCount: workloads.length,
  };
}

/** status.selector is cut to this many characters (the CRD's maxLength). */
export const STATUS_SELECTOR_MAX = 1024;

/**
 * The register's ALLOWS and -o wide SELECTOR columns: printer columns cannot join a list or render
 * a selector, so the operator writes them as strings. `hostNetwork,hostPID`; `app=x,!debug`.
 * Empty for an exception whose allow list or selector is unreadable (it is Invalid).
 */
export function registerColumns(facts: Pick<ExceptionFacts, 'allow' | 'selector' | 'problems'>): {
  allows: string;
  selector: string;
} {
  const chars = Array.from(formatSelector(facts.selector)); // the CRD counts code points
  const selectorProblem = facts.problems.some((p) => p.startsWith('spec.podSelector'));
  const selector =
    chars.length > STATUS_SELECTOR_MAX ? `${chars.slice(0, STATUS_SELECTOR_MAX - 1).join('')}…` : chars.join('');
  return { allows: facts.allow.join(','), selector: selectorProblem ? '' : selector };
}
