// events.k8s.io/v1 Events with deterministic names: creating the same Event twice answers 409,
// which we count as done. That, plus bookkeeping in the API, makes each Event happen exactly once
// across crashes, restarts and leader changes.
import { createHash } from 'node:crypto';
import type { DateTime } from 'luxon';
import { REPORTING_CONTROLLER } from '../api/v1alpha1.ts';
import { isStatus, type KubeApi } from './client.ts';

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

/** `<object>.<reason>.<hash>`: a valid DNS subdomain of at most 253 characters. */
export function eventName(e: Pick<EventSpec, 'regarding' | 'reason' | 'key'>): string {
  const hash = createHash('sha256').update(`${e.regarding.uid}\n${e.reason}\n${e.key}`).digest('hex').slice(0, 16);
  const base = e.regarding.name.slice(0, 253 - hash.length - e.reason.length - 2);
  return `${base}.${e.reason.toLowerCase()}.${hash}`;
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
    note: e.note.length > 1024 ? `${e.note.slice(0, 1021)}...` : e.note,
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: instance.slice(0, 128),
    regarding: {
      apiVersion: e.regarding.apiVersion,
      kind: e.regarding.kind,
      namespace: e.regarding.namespace,
      name: e.regarding.name,
      uid: e.regarding.uid,
    },
  };
}

/** Creates the Event; 'exists' when an earlier attempt (ours or a previous leader's) already did. */
export async function recordEvent(client: KubeApi, e: EventSpec, now: DateTime, instance: string): Promise<'created' | 'exists'> {
  try {
    await client.request('POST', `/apis/events.k8s.io/v1/namespaces/${e.regarding.namespace}/events`, { body: eventBody(e, now, instance) });
    return 'created';
  } catch (err) {
    if (isStatus(err, 409)) return 'exists';
    throw err;
  }
}
