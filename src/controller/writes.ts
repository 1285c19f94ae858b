// The writes the reconcilers ask for, and how each is made: the only code of the controller that
// sends to the API server. Every response is applied to its cache at once (a PATCH response is
// never older than what the watch will bring), so the next reconcile reads what was written.
import type { DateTime } from 'luxon';
import type { Logger } from 'winston';
import {
  EXCEPTION_PLURAL,
  GROUP,
  VERSION,
  type HostNamespaceException,
  type HostNamespaceGrantIndex,
  type HostNamespaceGrantSet,
  type HostNamespaceGrantSetSpec,
} from '../api/v1alpha1.ts';
import { ApiError, isStatus, type KubeApi } from '../kube/client.ts';
import { recordEvent, type EventSpec } from '../kube/events.ts';
import type { MetadataMergePatch } from '../policy/pod-marks.ts';
import type { RawObject, Reflector } from '../kube/reflector.ts';
import type { PodRecord } from '../kube/pod-record.ts';
import { TerminalError } from '../runtime/result.ts';
import { LANE } from './keys.ts';
import {
  GrantsWriteError,
  writeGrantIndex,
  writeNamespaceGrants,
  type GrantsWriteFailure,
} from './grants-writer.ts';

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
  /** The grant index brought to `namespaces` (name -> resourceVersion); nothing sent when current. */
  | { kind: 'grantIndex'; namespaces: Record<string, string>; current?: HostNamespaceGrantIndex };

/** Lifecycle Events first, then status and grants, then pods (see LANE). */
export function writeLane(w: Write): number {
  switch (w.kind) {
    case 'event':
      return w.event.regarding.kind === 'Pod' ? LANE.pods : LANE.exceptionEvents;
    case 'exceptionStatus':
      return LANE.status;
    case 'grants':
    case 'grantIndex':
      return LANE.grants;
    case 'podMarks':
      return LANE.pods;
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
  eventRecorded?: (reason: string, outcome: 'created' | 'exists') => void;
  /**
   * A grants object (`namespace`, or undefined for the index) was written or found current
   * (`failure` undefined), or its write failed.
   */
  grantsWritten?: (namespace: string | undefined, failure: GrantsWriteFailure | undefined, error?: string) => void;
}

export const EXCEPTIONS_PATH = `/apis/${GROUP}/${VERSION}/${EXCEPTION_PLURAL}`;

/** The function that makes one write (the runtime's `execute`). */
export function makeWriter(opts: WriterOptions): (w: Write, now: DateTime) => Promise<void> {
  const { client, logger } = opts;
  return async function execute(w: Write, now: DateTime): Promise<void> {
    switch (w.kind) {
      case 'event': {
        const outcome = await recordEvent(client, w.event, now, opts.identity);
        opts.eventRecorded?.(w.event.reason, outcome);
        const { regarding, reason } = w.event;
        if (regarding.kind !== 'Pod')
          logger.info('event', { exception: `${regarding.namespace}/${regarding.name}`, reason, outcome });
        return;
      }
      case 'podMarks': {
        try {
          const updated = await client.request<RawObject>('PATCH', `/api/v1/namespaces/${w.namespace}/pods/${w.name}`, {
            body: { metadata: { ...w.metadata, uid: w.uid } },
            contentType: 'application/merge-patch+json',
          });
          opts.pods.applyObserved(updated);
        } catch (err) {
          if (isStatus(err, 404)) return; // gone; the watch will tell
          // The uid in the patch is a precondition: a pod replaced under the same name is refused
          // (409/422) and retried from the cache, which by then holds the new pod.
          if (isStatus(err, 409, 422)) {
            throw new ApiError(
              err.status,
              err.reason,
              `pod ${w.namespace}/${w.name} changed under us; retrying`,
              undefined,
            );
          }
          throw err;
        }
        return;
      }
      case 'exceptionStatus': {
        const { namespace, name } = w.object.metadata;
        const updated = await client
          .request<RawObject>(
            'PUT',
            `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${EXCEPTION_PLURAL}/${name}/status`,
            {
              body: w.object,
            },
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
              ? await writeNamespaceGrants(client, w.namespace, w.spec, w.current)
              : await writeGrantIndex(client, w.namespaces, w.current);
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
    }
  };
}

/** 400/422: the API server refuses this body; sending it again cannot succeed. */
function refusedAsInvalid(what: string) {
  return (err: unknown): never => {
    if (isStatus(err, 400, 422)) throw new TerminalError(`${what} refused as invalid: ${err.message}`, { cause: err });
    throw err;
  };
}
