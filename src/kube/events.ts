// events.k8s.io/v1 Events with deterministic names: creating the same Event twice answers 409,
// which we count as done. That, plus bookkeeping in the API, makes each Event happen exactly once
// across crashes, restarts and leader changes.
import { createHash } from 'node:crypto';
import type { DateTime } from 'luxon';
import { REPORTING_CONTROLLER } from '../api/v1alpha1.ts';
import {
  derivedName,
  EVENT_NOTE_MAX_BYTES,
  EVENT_REPORTING_INSTANCE_MAX_BYTES,
  truncateUtf8,
} from '../policy/limits.ts';
import { isStatus, type KubeApi, type RequestOptions } from './client.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface EventSpec {
  regarding: EventTarget;
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
  /** What made this Event due (e.g. the expiresAt that lapsed); same key, same Event. */
  key: string;
}

/** MicroTime: the API server accepts exactly six fractional digits. */
export function microTime(t: DateTime): string {
  return t.toUTC().toFormat("yyyy-MM-dd'T'HH:mm:ss.SSS") + '000Z';
}

/**
 * `<object>.<reason>.<hash>`: a valid DNS subdomain for every object name, reason and key. The
 * object name is cut first (never the hash, which is what makes the name unique) and a cut never
 * leaves '-' or '.' before the next dot. Names that fitted before are unchanged, so Events created
 * by an older version are still found (409) after an upgrade.
 */
export function eventName(e: Pick<EventSpec, 'regarding' | 'reason' | 'key'>): string {
  const hash = createHash('sha256').update(`${e.regarding.uid}\n${e.reason}\n${e.key}`).digest('hex').slice(0, 16);
  return derivedName([e.regarding.name, e.reason], hash);
}

export function eventBody(e: EventSpec, now: DateTime, instance: string): Record<string, unknown> {
  return {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: eventName(e), namespace: e.regarding.namespace },
    eventTime: microTime(now),
    type: e.type,
    reason: e.reason,
    action: e.action,
    note: truncateUtf8(e.note, EVENT_NOTE_MAX_BYTES),
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: truncateUtf8(instance, EVENT_REPORTING_INSTANCE_MAX_BYTES, ''),
    regarding: {
      apiVersion: e.regarding.apiVersion,
      kind: e.regarding.kind,
      namespace: e.regarding.namespace,
      name: e.regarding.name,
      uid: e.regarding.uid,
    },
  };
}

/**
 * Creates the Event; 'exists' when an earlier attempt (ours or a previous leader's) already did.
 * `opts.signal`: the leader's term, so a write cannot start (or keep waiting) after it ended.
 */
export async function recordEvent(
  client: KubeApi,
  e: EventSpec,
  now: DateTime,
  instance: string,
  opts: Pick<RequestOptions, 'signal' | 'timeoutMs'> = {},
): Promise<'created' | 'exists'> {
  try {
    await client.request('POST', `/apis/events.k8s.io/v1/namespaces/${e.regarding.namespace}/events`, {
      body: eventBody(e, now, instance),
      ...opts,
    });
    return 'created';
  } catch (err) {
    if (isStatus(err, 409)) return 'exists';
    throw err;
  }
}
