// Reading a HostNamespaceException defensively: objects may reach us from an older CRD, with
// validation off, or edited by hand in etcd. Problems are reported, never thrown.
import { DateTime } from 'luxon';
import {
  HOST_NAMESPACES,
  isHostNamespace,
  type HostNamespace,
  type HostNamespaceException,
  type LabelSelector,
} from '../api/v1alpha1.ts';
import { DATE_TIME_MESSAGE, SINGLE_LINE_MESSAGE, isApiDateTime, textProblem } from '../api/validation.ts';
import { selectorProblems } from './selector.ts';
import { readContract, type ExceptionContract } from './contract.ts';

/** The parts of an exception the policy needs, checked. */
export interface ExceptionFacts {
  namespace: string;
  name: string;
  owner: string;
  allow: HostNamespace[];
  selector: LabelSelector;
  createdAt: DateTime;
  expiresAt?: DateTime;
  acceptedAt?: DateTime;
  lastReviewedAt?: DateTime;
  /** What the exception is bound to and the controls it enforces (empty: labels alone). */
  contract: ExceptionContract;
  /** Why the object cannot be trusted (empty when valid). */
  problems: string[];
}

export const MIN_JUSTIFICATION_LENGTH = 20;

/**
 * A time of the spec, read with the API's one date-time grammar (src/api/validation.ts), so the
 * operator, the CLI, the CRD and the exception policy accept exactly the same strings.
 */
function parseTime(value: unknown, field: string, problems: string[], required: boolean): DateTime | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) problems.push(`${field} is required`);
    return undefined;
  }
  if (typeof value !== 'string') {
    problems.push(`${field} must be an RFC 3339 date-time string`);
    return undefined;
  }
  const t = DateTime.fromISO(value, { setZone: true });
  if (!isApiDateTime(value) || !t.isValid) {
    problems.push(`${field} ${JSON.stringify(value)} is not an RFC 3339 date-time: ${DATE_TIME_MESSAGE}`);
    return undefined;
  }
  return t.toUTC();
}

/** The server's own timestamps (creationTimestamp): any ISO 8601 instant luxon reads. */
function parseServerTime(value: unknown): DateTime | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const t = DateTime.fromISO(value, { setZone: true });
  return t.isValid ? t.toUTC() : undefined;
}

/** A one-line text field: a problem when it is blank or holds control or invisible characters. */
function checkText(value: unknown, field: string, problems: string[], required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || value === '') {
    problems.push(`${field} is required`);
    return;
  }
  const problem = textProblem(value);
  if (problem === 'invisible') problems.push(`${field} ${SINGLE_LINE_MESSAGE}`);
  else if (problem === 'blank') problems.push(`${field} must not be blank (it needs at least one visible character)`);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** Extracts and checks an exception. Never throws, whatever the input. */
export function readException(
  obj: HostNamespaceException | Record<string, unknown>,
  /** Used when the object has no creationTimestamp (a manifest in a file, not yet created). */
  createdIfUnset?: DateTime,
): ExceptionFacts {
  const problems: string[] = [];
  const o = (obj && typeof obj === 'object' ? obj : {}) as Partial<HostNamespaceException>;
  const meta = (o.metadata && typeof o.metadata === 'object' ? o.metadata : {}) as HostNamespaceException['metadata'];
  const spec = (o.spec && typeof o.spec === 'object' ? o.spec : {}) as Partial<HostNamespaceException['spec']>;

  const owner = nonEmptyString(spec.owner) ? spec.owner : '';
  checkText(spec.owner, 'spec.owner', problems, true);

  let allow: HostNamespace[] = [];
  if (!Array.isArray(spec.allow) || spec.allow.length === 0) {
    problems.push(`spec.allow must list at least one of ${HOST_NAMESPACES.join(', ')}`);
  } else {
    for (const a of spec.allow) {
      if (!isHostNamespace(a)) problems.push(`spec.allow: unknown host namespace ${JSON.stringify(a)}`);
    }
    if (new Set(spec.allow).size !== spec.allow.length) problems.push('spec.allow has duplicate entries');
    allow = HOST_NAMESPACES.filter((h) => (spec.allow as unknown[]).includes(h));
  }

  let selector: LabelSelector = {};
  if (spec.podSelector === undefined) {
    problems.push('spec.podSelector is required ({} selects every pod in the namespace)');
  } else {
    const sp = selectorProblems(spec.podSelector);
    problems.push(...sp);
    if (sp.length === 0) selector = spec.podSelector;
  }

  const ra = (spec.riskAcceptance && typeof spec.riskAcceptance === 'object' ? spec.riskAcceptance : {}) as Partial<
    HostNamespaceException['spec']['riskAcceptance']
  >;
  if (!nonEmptyString(ra.justification)) problems.push('spec.riskAcceptance.justification is required');
  else if (ra.justification.trim().length < MIN_JUSTIFICATION_LENGTH) {
    problems.push(`spec.riskAcceptance.justification must be at least ${MIN_JUSTIFICATION_LENGTH} characters`);
  }
  checkText(ra.acceptedBy, 'spec.riskAcceptance.acceptedBy', problems, true);

  const { contract, problems: contractProblems } = readContract(spec);
  problems.push(...contractProblems);

  const expiresAt = parseTime(spec.expiresAt, 'spec.expiresAt', problems, true);
  const acceptedAt = parseTime(ra.acceptedAt, 'spec.riskAcceptance.acceptedAt', problems, false);
  const review = spec.review && typeof spec.review === 'object' ? spec.review : {};
  const lastReviewedAt = parseTime(review.lastReviewedAt, 'spec.review.lastReviewedAt', problems, false);
  const createdAt =
    parseServerTime(meta.creationTimestamp) ?? createdIfUnset?.toUTC() ?? DateTime.fromMillis(0, { zone: 'utc' });

  return {
    namespace: meta.namespace ?? '',
    name: meta.name ?? '',
    owner,
    allow,
    selector,
    createdAt,
    expiresAt,
    acceptedAt,
    lastReviewedAt,
    contract,
    problems,
  };
}
