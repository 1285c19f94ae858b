// Builders for pure tests.
import type { HostNamespaceException } from '../../src/api/v1alpha1.ts';

export function exception(
  overrides: {
    name?: string;
    namespace?: string;
    created?: string;
    spec?: Partial<HostNamespaceException['spec']>;
    status?: HostNamespaceException['status'];
    generation?: number;
  } = {},
): HostNamespaceException {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: {
      name: overrides.name ?? 'node-exporter',
      namespace: overrides.namespace ?? 'monitoring',
      uid: '11111111-2222-3333-4444-555555555555',
      generation: overrides.generation ?? 1,
      creationTimestamp: overrides.created ?? '2026-11-01T00:00:00Z',
    },
    spec: {
      owner: 'team-observability',
      allow: ['hostNetwork', 'hostPID'],
      podSelector: { matchLabels: { app: 'node-exporter' } },
      riskAcceptance: {
        justification: 'node-exporter reads host network and process metrics',
        acceptedBy: 'security-board',
      },
      expiresAt: '2026-12-01T00:00:00Z',
      ...overrides.spec,
    },
    ...(overrides.status ? { status: overrides.status } : {}),
  };
}
