// Why a pod is an offender (its cause), the marker recording that the pod's HostNamespaceViolation
// Event for that cause was raised, and the Event's note. One Event per pod per cause: the Event's
// name derives from (pod uid, cause), so label flips, status updates, crashes and restarts find
// the same Event; and the marker is a hash of the uid, which the API server assigns at creation,
// so nothing a pod's creator writes can pass for it.
import { createHash } from 'node:crypto';
import type { ExceptionPhase, HostNamespace, LabelSelector } from '../api/v1alpha1.ts';
import type { PodClass } from './classify.ts';
import { describeBreach } from './contract.ts';
import { isDnsSubdomain, truncateUtf8 } from './limits.ts';
import { matchesSelector, type Labels } from './selector.ts';

type Offender = Extract<PodClass, { kind: 'offender' }>;

/** An exception of the pod's namespace as the cause sees it (Invalid ones included). */
export interface ExceptionState {
  name: string;
  owner: string;
  phase: ExceptionPhase;
  allow: readonly HostNamespace[];
  selector: LabelSelector;
  /** RFC 3339. */
  expiresAt?: string;
}

/** How an exception that covered the pod (by its marks) stopped doing so. */
export type LossKind = 'deleted' | 'invalid' | 'expired' | 'unselected' | 'narrowed';

export interface ViolationCause {
  /** The host namespaces at fault. */
  flags: readonly HostNamespace[];
  lapsed: readonly { name: string; owner: string; expiresAt?: string }[];
  broken: Offender['broken'];
  /** Exceptions that covered the pod and no longer do, and how. */
  lost: readonly { name: string; owner?: string; how: LossKind }[];
}

/** The exceptions a pod's marks say covered it (forgeable: they only ever add to an Event's note). */
export const MAX_PRIOR_COVER = 16;
/** The cause as kept in the marker and hashed into the Event's name; bounded. */
const CAUSE_KEY_MAX_BYTES = 1024;

export function priorCover(marks: { labels: Record<string, string>; annotations: Record<string, string> }): string[] {
  const names = new Set<string>();
  const listed = marks.annotations['hostns.io/exceptions'];
  for (const n of (listed ?? '').split(',')) if (isDnsSubdomain(n.trim())) names.add(n.trim());
  const first = marks.labels['hostns.io/exception'];
  if (first && isDnsSubdomain(first)) names.add(first);
  return [...names].sort().slice(0, MAX_PRIOR_COVER);
}

/**
 * The cause of an offence: the flags at fault, the lapsed exceptions and broken contracts that
 * would have allowed them, and the exceptions that covered the pod before (`prior`, from its marks)
 * and no longer do, each with how it stopped.
 */
export function violationCause(
  pod: { labels: Labels },
  cls: Offender,
  prior: readonly string[],
  exceptions: readonly ExceptionState[],
): ViolationCause {
  const byName = new Map(exceptions.map((e) => [e.name, e]));
  const explained = new Set([
    ...cls.exceptions,
    ...cls.lapsed.map((l) => l.name),
    ...cls.broken.map((b) => b.exception),
  ]);
  const allowsFault = (e: ExceptionState) => e.allow.some((h) => cls.uncovered.includes(h));
  const lost: { name: string; owner?: string; how: LossKind }[] = [];
  for (const name of prior) {
    if (explained.has(name)) continue;
    const e = byName.get(name);
    if (!e) lost.push({ name, how: 'deleted' });
    else if (e.phase === 'Invalid') lost.push({ name, owner: e.owner, how: 'invalid' });
    else if (e.phase === 'Expired') {
      if (allowsFault(e)) lost.push({ name, owner: e.owner, how: 'expired' });
    } else if (!matchesSelector(e.selector, pod.labels)) {
      if (allowsFault(e)) lost.push({ name, owner: e.owner, how: 'unselected' });
    } else if (!allowsFault(e)) lost.push({ name, owner: e.owner, how: 'narrowed' });
  }
  const lapsed = cls.lapsed.map((l) => ({ ...l, expiresAt: byName.get(l.name)?.expiresAt }));
  return { flags: cls.uncovered, lapsed, broken: cls.broken, lost };
}

/** The cause as one canonical line: what the Event's name and the marker are derived from. */
export function causeKey(c: ViolationCause): string {
  const parts = [c.flags.join(',')];
  if (c.lapsed.length) parts.push('lapsed=' + c.lapsed.map((l) => `${l.name}@${l.expiresAt ?? ''}`).join(','));
  if (c.broken.length)
    parts.push('broken=' + c.broken.map((b) => `${b.exception}@${b.breaches.map((x) => x.kind).join('+')}`).join(','));
  if (c.lost.length) parts.push('lost=' + c.lost.map((l) => `${l.name}@${l.how}`).join(','));
  return truncateUtf8(parts.join(';'), CAUSE_KEY_MAX_BYTES, '');
}

function causeHash(uid: string, key: string): string {
  return createHash('sha256').update(`${uid}\n${key}`).digest('hex').slice(0, 32);
}

/** The marker value recording that the Event for `key` was raised for the pod `uid`. */
export function violationMarker(uid: string, key: string): string {
  return `${causeHash(uid, key)} ${key}`;
}

/** The cause key a marker records, when the marker is genuine for this pod; undefined otherwise. */
export function markedCause(uid: string, marker: string | undefined): string | undefined {
  if (!marker || !uid) return undefined;
  const space = marker.indexOf(' ');
  if (space < 0) return undefined;
  const key = marker.slice(space + 1);
  return marker.slice(0, space) === causeHash(uid, key) ? key : undefined;
}

/** The flags at fault a cause key names. */
export function causeFlags(key: string): string {
  return key.split(';', 1)[0]!;
}

const LOSS_TEXT: Record<LossKind, (name: string, flags: string) => string> = {
  deleted: (n) => `the deletion of exception ${n}`,
  invalid: (n) => `exception ${n} becoming Invalid`,
  expired: (n) => `the lapse of exception ${n}`,
  unselected: (n) => `exception ${n} no longer selecting it (its podSelector or the pod's labels changed)`,
  narrowed: (n, flags) => `exception ${n} no longer allowing ${flags} (its allow list changed)`,
};

/** The note of a pod's HostNamespaceViolation Event: what it uses, and each exception behind the cause. */
export function violationNote(pod: { namespace: string; name: string; owner?: string }, cause: ViolationCause): string {
  const what = pod.owner ? `Pod ${pod.name} (${pod.owner})` : `Pod ${pod.name}`;
  return `${what} uses ${cause.flags.join(', ')}, ${notAllowed(pod.namespace)}${causeText(cause)}`;
}

/**
 * The note of the same Event on the pod's workload (once per workload per cause): which pod was
 * found first, and the same cause, so `kubectl describe daemonset` says why its pods are offenders.
 */
export function workloadViolationNote(
  workload: { kind: string; namespace: string; name: string },
  pod: string,
  cause: ViolationCause,
): string {
  const what = `${workload.kind} ${workload.name} has pods using ${cause.flags.join(', ')} (first: pod ${pod})`;
  return `${what}, ${notAllowed(workload.namespace)}${causeText(cause)}`;
}

const notAllowed = (namespace: string) => `which no active HostNamespaceException in namespace ${namespace} allows.`;

/** Each exception behind a cause, one sentence each ('' for a pod no exception ever covered). */
function causeText(cause: ViolationCause): string {
  const flags = cause.flags.join(', ');
  const owner = (o: string | undefined) => (o === undefined ? '' : ` (owner: ${o || '(none)'})`);
  let note = '';
  if (cause.lapsed.length) {
    const each = cause.lapsed.map(
      (l) => `exception ${l.name} (owner: ${l.owner || '(none)'}, expired ${l.expiresAt ?? '?'})`,
    );
    note += ` Caused by the lapse of ${each.join(', ')}.`;
  }
  if (cause.lost.length) {
    note += ` Caused by ${cause.lost.map((l) => LOSS_TEXT[l.how](l.name, flags) + owner(l.owner)).join(', ')}.`;
  }
  for (const b of cause.broken) {
    const why = b.breaches.length
      ? b.breaches.map(describeBreach).join('; ')
      : 'its security profile could not be read to check';
    note += ` Exception ${b.exception}${owner(b.owner)} selects it but its contract is broken: ${why}.`;
  }
  return note;
}
