// The writes the reconcilers ask for, and how each is made: the only code of the controller that
// sends to the API server. Every response is applied to its cache at once (a PATCH response is
// never older than what the watch will bring), so the next reconcile reads what was written.
import type { DateTime } from 'luxon';
import type { Logger } from 'winston';
import {
  EXCEPTION_KIND,
  EXCEPTION_PLURAL,
  GROUP,
  VERSION,
  type HostNamespaceException,
  type HostNamespaceGrantIndex,
  type HostNamespaceGrantSet,
  type HostNamespaceGrantSetSpec,
} from '../api/v1alpha1.ts';
import { classifyApiError } from '../kube/api-errors.ts';
import { ApiError, isStatus, type KubeApi, type WriteBounds } from '../kube/client.ts';
import { eventName, recordEvent, type EventSpec } from '../kube/events.ts';
import { isWorkloadEvent, type WorkloadEventRecord } from '../kube/workload-event-record.ts';
import { labelsOnly, type MetadataMergePatch } from '../policy/pod-marks.ts';
import type { RawObject, Reflector } from '../kube/reflector.ts';
import type { PodRecord } from '../kube/pod-record.ts';
import { TerminalError } from '../runtime/result.ts';
import { LANE } from './keys.ts';
import { REPORT_API_VERSION, REPORT_PLURAL, reportContent, type Report } from './reports.ts';
import { stableJson } from '../policy/json.ts';
import type { PublishedPolicySettings } from '../policy/settings.ts';
import { GrantsWriteError, writeGrantIndex, writeNamespaceGrants, type GrantsWriteFailure } from './grants-writer.ts';

export type Write =
  /** An Event under its deterministic name; 409 AlreadyExists counts as done. */
  | { kind: 'event'; event: EventSpec }
  /** Our labels/annotations on a pod, by JSON merge patch with the pod's uid as precondition. */
  | { kind: 'podMarks'; namespace: string; name: string; uid: string; metadata: MetadataMergePatch['metadata'] }
  /** An exception's status, PUT with the cached resourceVersion (a concurrent change answers 409). */
  | { kind: 'exceptionStatus'; object: HostNamespaceException }
  /**
   * One namespace's grants object brought to `spec` (undefined: the namespace is exempt, it goes);
   * nothing is sent when `current` already matches.
   */
  | { kind: 'grants'; namespace: string; spec: HostNamespaceGrantSetSpec | undefined; current?: HostNamespaceGrantSet }
  /**
   * The grant index brought to `namespaces` (name -> resourceVersion) and to stating the operator's
   * policy `settings`; nothing sent when current.
   */
  | {
      kind: 'grantIndex';
      namespaces: Record<string, string>;
      settings: PublishedPolicySettings;
      current?: HostNamespaceGrantIndex;
    }
  /** A namespace's OpenReports Report brought to `report` (undefined: deleted); nothing sent when current. */
  | { kind: 'report'; namespace: string; report: Report | undefined; current?: Report };

/** Lifecycle Events first, then status and grants, then pods (see LANE). */
export function writeLane(w: Write): number {
  switch (w.kind) {
    case 'event':
      // An exception's lifecycle Events lead; a pod's or its workload's go with the pod's marks.
      return w.event.regarding.kind === EXCEPTION_KIND ? LANE.exceptionEvents : LANE.pods;
    case 'exceptionStatus':
      return LANE.status;
    case 'grants':
    case 'grantIndex':
      return LANE.grants;
    case 'podMarks':
      return LANE.pods;
    case 'report':
      return LANE.reports;
  }
}

export interface WriterOptions {
  client: KubeApi;
  logger: Logger;
  /** reportingInstance of Events. */
  identity: string;
  exceptions: Reflector<HostNamespaceException>;
  pods: Reflector<PodRecord>;
  grants: Reflector<HostNamespaceGrantSet>;
  grantIndex: Reflector<HostNamespaceGrantIndex>;
  /** With --policy-reports. */
  reports?: Reflector<Report>;
  /** Our Events on workloads, by name (src/kube/workload-event-record.ts): one there is not sent again. */
  workloadEvents: Reflector<WorkloadEventRecord>;
  eventRecorded?: (reason: string, outcome: 'created' | 'exists') => void;
  /** An Event the API refused for good (`reason`: the API's); the writes after it went on. */
  eventWriteFailed?: (reason: string) => void;
  /** Our marks on a pod refused for good (the labels may still have been written alone). */
  podMarksWriteFailed?: (reason: string) => void;
  /**
   * A grants object (`namespace`, or undefined for the index) was written or found current
   * (`failure` undefined), or its write failed.
   */
  grantsWritten?: (namespace: string | undefined, failure: GrantsWriteFailure | undefined, error?: string) => void;
}

/**
 * Events (namespace/name) of pods and exceptions this process created or found existing, most
 * recent last: a reconcile retried after its Event (say, its pod's marks were refused) must not POST
 * it again. Bounded; a name forgotten only costs one more 409. Events on workloads are known from
 * their cache instead, which also learns when one is gone (expired after the API server's --event-ttl).
 */
export const KNOWN_EVENTS_MAX = 10_000;

export const EXCEPTIONS_PATH = `/apis/${GROUP}/${VERSION}/${EXCEPTION_PLURAL}`;

/**
 * The function that makes one write (the runtime's `execute`). `bounds`: the leader's term, passed
 * to every request so that no write starts, or keeps waiting, after leadership ended.
 */
export function makeWriter(opts: WriterOptions): (w: Write, now: DateTime, bounds?: WriteBounds) => Promise<void> {
  const { client, logger } = opts;
  const knownEvents = new Set<string>();
  /** Creations under way: a sibling pod's reconcile waits for the same Event instead of racing it. */
  const creating = new Map<string, Promise<unknown>>();
  const remember = (key: string) => {
    knownEvents.add(key);
    if (knownEvents.size > KNOWN_EVENTS_MAX) knownEvents.delete(knownEvents.values().next().value!);
  };
  return async function execute(w: Write, now: DateTime, bounds: WriteBounds = {}): Promise<void> {
    switch (w.kind) {
      case 'event': {
        const { regarding, reason } = w.event;
        const object = `${regarding.kind} ${regarding.namespace}/${regarding.name}`;
        const name = eventName(w.event);
        // Keyed by namespace too: the name derives from the uid a pod's owner reference claims, and a
        // pod in one namespace claiming another's DaemonSet uid must not silence that DaemonSet's Event.
        const key = `${regarding.namespace}/${name}`;
        const onWorkload = isWorkloadEvent(regarding);
        const known = () => (onWorkload ? opts.workloadEvents.store.has(key) : knownEvents.has(key));
        // A workload's Event is due once per cause but planned for each of its offending pods:
        // siblings wait for a creation under way, then find it known; 1,000 pods make one POST.
        const pending = creating.get(key);
        if (pending) await pending.catch(() => undefined);
        if (known()) return;
        let outcome: 'created' | 'exists';
        const attempt = recordEvent(client, w.event, now, opts.identity, bounds);
        creating.set(key, attempt);
        try {
          outcome = await attempt;
          // Known at once, before the watch brings it (the cache keeps names alone).
          if (onWorkload) opts.workloadEvents.applyObserved({ metadata: { name, namespace: regarding.namespace } });
          else remember(key);
        } catch (err) {
          // An Event the API refuses for good must not stop the label, status or grant after it:
          // record the failure, count it, go on. Anything retrying can fix is retried.
          const verdict = classifyApiError(err);
          if (verdict.class === 'gone') return; // its namespace is going: nothing to tell
          if (verdict.class !== 'terminal') throw err;
          opts.eventWriteFailed?.(verdict.reason);
          logger.error('event refused by the API; going on without it', {
            object,
            reason,
            status: verdict.status,
            error: (err as Error).message,
          });
          return;
        } finally {
          if (creating.get(key) === attempt) creating.delete(key);
        }
        opts.eventRecorded?.(reason, outcome);
        if (regarding.kind === EXCEPTION_KIND)
          logger.info('event', { exception: `${regarding.namespace}/${regarding.name}`, reason, outcome });
        else if (regarding.kind !== 'Pod') logger.info('event', { workload: object, reason, outcome });
        return;
      }
      case 'podMarks': {
        const path = `/api/v1/namespaces/${w.namespace}/pods/${w.name}`;
        const pod = `pod ${w.namespace}/${w.name}`;
        const patch = (metadata: MetadataMergePatch['metadata']) =>
          client.request<RawObject>('PATCH', path, {
            body: { metadata: { ...metadata, uid: w.uid } },
            contentType: 'application/merge-patch+json',
            ...bounds,
          });
        try {
          opts.pods.applyObserved(await patch(w.metadata));
          return;
        } catch (err) {
          const verdict = classifyApiError(err);
          if (verdict.class === 'gone') return; // the watch will tell
          // The uid in the patch is a precondition: a pod replaced under the same name is refused
          // and retried from the cache, which by then holds the new pod.
          if (verdict.class === 'conflict')
            throw new ApiError(verdict.status, verdict.reason, `${pod} changed under us; retrying`, undefined);
          if (verdict.class !== 'terminal') throw err;
          opts.podMarksWriteFailed?.(verdict.reason);
          // E.g. 422, the pod's other annotations use the whole 256 KiB: the label, which
          // `kubectl get -l` and admission rely on, is still written alone.
          const labels = labelsOnly({ metadata: w.metadata });
          const refused = `${pod}: our marks refused (${verdict.status} ${verdict.reason}): ${(err as Error).message}`;
          if (!labels) throw new TerminalError(refused, { cause: err });
          try {
            opts.pods.applyObserved(await patch(labels.metadata));
          } catch (err2) {
            const again = classifyApiError(err2);
            if (again.class === 'gone') return;
            if (again.class === 'terminal')
              throw new TerminalError(`${refused}; the labels alone too: ${(err2 as Error).message}`, { cause: err2 });
            throw err2;
          }
          logger.warn('pod annotations refused by the API; labels written alone', {
            pod: `${w.namespace}/${w.name}`,
            status: verdict.status,
            error: (err as Error).message,
          });
          return;
        }
      }
      case 'exceptionStatus': {
        const { namespace, name } = w.object.metadata;
        const updated = await client
          .request<RawObject>(
            'PUT',
            `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${EXCEPTION_PLURAL}/${name}/status`,
            { body: w.object, ...bounds },
          )
          .catch(refusedAsInvalid(`status of ${namespace}/${name}`));
        opts.exceptions.applyObserved(updated);
        return;
      }
      case 'grants':
      case 'grantIndex': {
        const ns = w.kind === 'grants' ? w.namespace : undefined;
        try {
          const outcome =
            w.kind === 'grants'
              ? await writeNamespaceGrants(client, w.namespace, w.spec, w.current, bounds)
              : await writeGrantIndex(client, w.namespaces, w.settings, w.current, bounds);
          if (outcome.action === 'created' || outcome.action === 'replaced') {
            (w.kind === 'grants' ? opts.grants : opts.grantIndex).applyObserved(outcome.object);
          }
          opts.grantsWritten?.(ns, undefined);
        } catch (err) {
          if (!(err instanceof GrantsWriteError)) throw err;
          opts.grantsWritten?.(ns, err.failure, err.message);
          // A conflict means our cache was behind: the retry reads the newer cache.
          throw err;
        }
        return;
      }
      case 'report':
        return writeReport(client, w, opts.reports);
    }
  };
}

/**
 * Create, replace (at the cached resourceVersion: a concurrent change answers 409 and the retry
 * reads the newer cache) or delete our Report; nothing is sent when it already says the same.
 */
async function writeReport(
  client: KubeApi,
  w: Extract<Write, { kind: 'report' }>,
  reports?: Reflector<Report>,
): Promise<void> {
  const path = `/apis/${REPORT_API_VERSION}/namespaces/${w.namespace}/${REPORT_PLURAL}`;
  const { report, current } = w;
  if (!report) {
    if (!current) return;
    await client.request('DELETE', `${path}/${current.metadata.name}`).catch((err) => {
      if (!isStatus(err, 404)) throw err;
    });
    return;
  }
  if (current && stableJson(reportContent(current)) === stableJson(reportContent(report))) return;
  const refused = refusedAsInvalid(`Report ${w.namespace}/${report.metadata.name}`);
  const written = current
    ? await client
        .request<RawObject>('PUT', `${path}/${report.metadata.name}`, {
          body: { ...report, metadata: { ...current.metadata, labels: report.metadata.labels } },
        })
        .catch(refused)
    : await client.request<RawObject>('POST', path, { body: report }).catch(refused);
  reports?.applyObserved(written);
}

/** 400/422: the API server refuses this body; sending it again cannot succeed. */
function refusedAsInvalid(what: string) {
  return (err: unknown): never => {
    if (isStatus(err, 400, 422)) throw new TerminalError(`${what} refused as invalid: ${err.message}`, { cause: err });
    throw err;
  };
}
