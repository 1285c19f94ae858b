// Objects the CLI integration tests create on the real control plane.
import type { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { DateTime, type DurationLike } from 'luxon';
import { core, customObjects } from '../harness/clients.ts';

export const iso = (t: DateTime) => t.toUTC().toISO({ suppressMilliseconds: true })!;

export interface ExceptionInput {
  name: string;
  allow: string[];
  matchLabels: Record<string, string>;
  expiresIn: DurationLike;
  lastReviewedAgo?: DurationLike;
  reviewedBy?: string;
  /** Default ['noPrivileged'] (the test pods meet it); [] for an exception that enforces none. */
  enforcedControls?: string[];
}

/** In the run's cluster, or in another one when `api` is given (a second control plane). */
export async function createException(
  namespace: string,
  e: ExceptionInput,
  api: CustomObjectsApi = customObjects(),
): Promise<void> {
  const now = DateTime.utc();
  await api.createNamespacedCustomObject({
    group: 'hostns.io',
    version: 'v1alpha1',
    namespace,
    plural: 'hostnamespaceexceptions',
    body: {
      apiVersion: 'hostns.io/v1alpha1',
      kind: 'HostNamespaceException',
      metadata: { name: e.name, namespace },
      spec: {
        owner: 'team-observability',
        allow: e.allow,
        podSelector: { matchLabels: e.matchLabels },
        riskAcceptance: {
          justification: 'scrapes node network statistics from the host namespace',
          acceptedBy: 'security-board',
          // Accepted before its last review (a renewal after it would count as the review).
          acceptedAt: iso(now.minus(e.lastReviewedAgo ?? {}).minus({ hours: 1 })),
          ticket: 'SEC-1234',
          compensatingControls: ['runs as non-root', 'all capabilities dropped'],
          ...(e.enforcedControls?.length === 0 ? {} : { enforcedControls: e.enforcedControls ?? ['noPrivileged'] }),
        },
        expiresAt: iso(now.plus(e.expiresIn)),
        ...(e.lastReviewedAgo
          ? { review: { lastReviewedAt: iso(now.minus(e.lastReviewedAgo)), reviewedBy: e.reviewedBy ?? 'bob' } }
          : {}),
      },
    },
  });
}

export async function createPod(
  namespace: string,
  name: string,
  labels: Record<string, string>,
  flags: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean },
  annotations: Record<string, string> = {},
  api: CoreV1Api = core(),
): Promise<void> {
  await api.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels, annotations },
      spec: { ...flags, containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10' }] },
    },
  });
}
