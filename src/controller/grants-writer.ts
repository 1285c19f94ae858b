// Writes one namespace's HostNamespaceGrantSet (the admission policy's param there) when it
// differs from the desired spec: create, replace or, for a namespace that became exempt, delete.
// One namespace per call, so a write that fails (too large, refused, conflict) touches no other
// namespace's admission. The shell around it (operator.ts) decides when to call it.
import {
  API_VERSION,
  GRANT_INDEX_KIND,
  GRANT_INDEX_NAME,
  GRANT_INDEX_PLURAL,
  GRANTS_KIND,
  GRANTS_NAME,
  GRANTS_PLURAL,
  GROUP,
  VERSION,
  type HostNamespaceGrantIndex,
  type HostNamespaceGrantSet,
  type HostNamespaceGrantSetSpec,
  type ObjectMeta,
} from '../api/v1alpha1.ts';
import { ApiError, type KubeApi, type WriteBounds } from '../kube/client.ts';
import type { RawObject } from '../kube/reflector.ts';
import { stableJson } from '../policy/json.ts';
import { ANNOTATION_POLICY_SETTINGS, statesSameSettings, type PublishedPolicySettings } from '../policy/settings.ts';

/** The guard (config/admission/guard.yaml) lets a grants object be deleted only with this. */
export const ANNOTATION_ALLOW_DELETE = 'hostns.io/allow-delete';

/** Bounded label values of hostns_grants_write_failures_total. */
export type GrantsWriteFailure = 'TooLarge' | 'Invalid' | 'Conflict' | 'Forbidden' | 'Unavailable' | 'Other';

export class GrantsWriteError extends Error {
  readonly failure: GrantsWriteFailure;
  readonly namespace: string;
  constructor(namespace: string, failure: GrantsWriteFailure, message: string) {
    super(message);
    this.name = 'GrantsWriteError';
    this.namespace = namespace;
    this.failure = failure;
  }
}

export function classifyWriteError(err: unknown): GrantsWriteFailure {
  if (!(err instanceof ApiError)) return 'Unavailable';
  if (err.status === 413 || /request is too large|too long|exceeds the maximum/i.test(err.message)) return 'TooLarge';
  if (err.status === 422 || err.status === 400) return 'Invalid';
  if (err.status === 409) return 'Conflict';
  if (err.status === 401 || err.status === 403) return 'Forbidden';
  if (err.status >= 500 || err.status === 429) return 'Unavailable';
  return 'Other';
}

const collection = (ns: string) => `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${GRANTS_PLURAL}`;
const MANAGED_LABELS = { 'app.kubernetes.io/managed-by': 'hostns-operator' };

/** Whether `current` already is what the operator would write (no stale allow-delete switch either). */
function upToDate(current: { spec?: unknown; metadata: ObjectMeta } | undefined, desired: unknown): boolean {
  if (!current || current.metadata.annotations?.[ANNOTATION_ALLOW_DELETE]) return false;
  return stableJson(current.spec ?? {}) === stableJson(desired);
}

/**
 * `current` with `spec` and our labels, and no annotation but `annotations` (a stale allow-delete
 * switches the guard off).
 */
function replacement<T extends { metadata: ObjectMeta }>(
  current: T,
  spec: unknown,
  annotations?: Record<string, string>,
): T {
  const { annotations: _dropped, ...metadata } = current.metadata;
  const labels = { ...metadata.labels, ...MANAGED_LABELS };
  return { ...current, metadata: { ...metadata, labels, ...(annotations && { annotations }) }, spec };
}

export type GrantsWriteOutcome =
  { action: 'unchanged' } | { action: 'created' | 'replaced'; object: RawObject } | { action: 'deleted' };

/**
 * Brings namespace `ns`'s grants object to `desired` (undefined: the namespace is exempt, the
 * object goes). Writes nothing when it already matches. Throws GrantsWriteError.
 */
export async function writeNamespaceGrants(
  client: KubeApi,
  ns: string,
  desired: HostNamespaceGrantSetSpec | undefined,
  current: HostNamespaceGrantSet | undefined,
  bounds: WriteBounds = {},
): Promise<GrantsWriteOutcome> {
  try {
    if (!desired) {
      if (!current) return { action: 'unchanged' };
      const path = `${collection(ns)}/${GRANTS_NAME}`;
      await client.request('PATCH', path, {
        body: { metadata: { annotations: { [ANNOTATION_ALLOW_DELETE]: 'true' } } },
        contentType: 'application/merge-patch+json',
        ...bounds,
      });
      await client.request('DELETE', path, bounds);
      return { action: 'deleted' };
    }
    if (upToDate(current, desired)) return { action: 'unchanged' };
    if (current) {
      const body = replacement(current, desired);
      const object = await client.request<RawObject>('PUT', `${collection(ns)}/${GRANTS_NAME}`, { body, ...bounds });
      return { action: 'replaced', object };
    }
    const body: HostNamespaceGrantSet = {
      apiVersion: API_VERSION,
      kind: GRANTS_KIND,
      metadata: { name: GRANTS_NAME, namespace: ns, labels: MANAGED_LABELS },
      spec: desired,
    };
    return { action: 'created', object: await client.request<RawObject>('POST', collection(ns), { body, ...bounds }) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404 && !desired) return { action: 'deleted' };
    const message = err instanceof Error ? err.message : String(err);
    throw new GrantsWriteError(ns, classifyWriteError(err), `grants of namespace ${ns}: ${message}`);
  }
}

/**
 * Brings the grant index to `desired` (which namespaces have their grants object) and its
 * hostns.io/policy-settings annotation to `settings` (the operator's policy settings, read by
 * kubectl hostns). Writes nothing when both already match: who published the settings and when
 * are not compared. Throws GrantsWriteError (namespace '').
 */
export async function writeGrantIndex(
  client: KubeApi,
  desired: Record<string, string>,
  settings: PublishedPolicySettings,
  current: HostNamespaceGrantIndex | undefined,
  bounds: WriteBounds = {},
): Promise<GrantsWriteOutcome> {
  const spec = { namespaces: desired };
  const published = current?.metadata.annotations?.[ANNOTATION_POLICY_SETTINGS];
  if (upToDate(current, spec) && statesSameSettings(published, settings)) return { action: 'unchanged' };
  const annotations = { [ANNOTATION_POLICY_SETTINGS]: JSON.stringify(settings) };
  const path = `/apis/${GROUP}/${VERSION}/${GRANT_INDEX_PLURAL}`;
  try {
    if (current) {
      const body = replacement(current, spec, annotations);
      const object = await client.request<RawObject>('PUT', `${path}/${GRANT_INDEX_NAME}`, { body, ...bounds });
      return { action: 'replaced', object };
    }
    const body: HostNamespaceGrantIndex = {
      apiVersion: API_VERSION,
      kind: GRANT_INDEX_KIND,
      metadata: { name: GRANT_INDEX_NAME, labels: MANAGED_LABELS, annotations },
      spec,
    };
    return { action: 'created', object: await client.request<RawObject>('POST', path, { body, ...bounds }) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new GrantsWriteError('', classifyWriteError(err), `grant index: ${message}`);
  }
}
