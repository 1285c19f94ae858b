// Creating HostNamespaceExceptions in integration tests: a valid default, overridden per test.
import { DateTime } from 'luxon';
import { customObjects } from './clients.ts';

export const GROUP = 'hostns.io';
export const VERSION = 'v1alpha1';
export const PLURAL = 'hostnamespaceexceptions';

/** A valid exception (hostNetwork for app=agent, 30 days), with `spec` fields overridden. */
export function exceptionBody(name: string, spec: Record<string, unknown> = {}) {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'HostNamespaceException',
    metadata: { name },
    spec: {
      owner: 'team-observability',
      allow: ['hostNetwork'],
      podSelector: { matchLabels: { app: 'agent' } },
      riskAcceptance: { justification: 'agent needs the node network to scrape kubelet', acceptedBy: 'security-board' },
      expiresAt: DateTime.utc().plus({ days: 30 }).toISO({ suppressMilliseconds: true }),
      ...spec,
    },
  };
}

export async function createException(ns: string, name: string, spec: Record<string, unknown> = {}) {
  return customObjects().createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: PLURAL,
    body: exceptionBody(name, spec),
  });
}

/** The exception as stored, status included (read with the status fields a test looks at). */
export async function readException<Status = Record<string, unknown>>(
  ns: string,
  name: string,
): Promise<{ spec?: Record<string, unknown>; status?: Status }> {
  return (await customObjects().getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: ns,
    name,
  })) as { spec?: Record<string, unknown>; status?: Status };
}
