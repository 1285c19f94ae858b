// Proves the harness: a real kube-apiserver stores pods without kubelet, scheduler or
// controller-manager, and the seeds' audit command works against it.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { core, createNamespace, kubeconfigPath, kubectl } from './clients.ts';

describe('local control plane', () => {
  it('serves a real API: version, discovery, RBAC on', () => {
    const v = kubectl(['version', '-o', 'json']);
    expect(v.code, v.stderr).toBe(0);
    const server = JSON.parse(v.stdout).serverVersion;
    expect(server.gitVersion).toMatch(/^v1\.36\./);
    const rbac = kubectl(['api-versions']);
    expect(rbac.stdout).toContain('rbac.authorization.k8s.io/v1');
    expect(rbac.stdout).toContain('admissionregistration.k8s.io/v1');
    // RBAC really decides: an unprivileged identity may not list pods.
    const denied = kubectl(['auth', 'can-i', 'list', 'pods', '--as', 'system:serviceaccount:default:nobody']);
    expect(denied.stdout.trim()).toBe('no');
  });

  it('stores a hostNetwork pod (Pending, no kubelet) and reads it back with client-node', async () => {
    const ns = await createNamespace('harness');
    await core().createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'uses-host-network', labels: { app: 'probe' } },
        spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await core().createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'clean' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    });
    const pod = await core().readNamespacedPod({ namespace: ns, name: 'uses-host-network' });
    expect(pod.spec?.hostNetwork).toBe(true);
    expect(pod.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(pod.status?.phase).toBe('Pending');

    // The seeds' audit command, verbatim, against the control plane.
    const audit = spawnSync(
      'bash',
      [
        '-c',
        `kubectl get pods -A -o json | jq -r '.items[] | select(.spec.hostNetwork == true) | "\\(.metadata.namespace)/\\(.metadata.name)"'`,
      ],
      { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfigPath() } },
    );
    expect(audit.status, audit.stderr).toBe(0);
    const lines = audit.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith(`${ns}/`));
    expect(lines).toEqual([`${ns}/uses-host-network`]);
  });
});

describe('kube-controller-manager (aggregation only)', () => {
  it('aggregates a labelled ClusterRole into view', async () => {
    const name = `hostns-harness-aggregation-probe`;
    const r = kubectl(
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name, labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
        rules: [{ apiGroups: ['harness.example.com'], resources: ['probes'], verbs: ['get'] }],
      }),
    );
    expect(r.code, r.stderr).toBe(0);
    try {
      const deadline = Date.now() + 30_000;
      let found = false;
      while (!found && Date.now() < deadline) {
        const view = kubectl(['get', 'clusterrole', 'view', '-o', 'json']);
        found = JSON.parse(view.stdout).rules.some((rule: { apiGroups?: string[] }) =>
          rule.apiGroups?.includes('harness.example.com'),
        );
        if (!found) await new Promise((res) => setTimeout(res, 200));
      }
      expect(found).toBe(true);
    } finally {
      kubectl(['delete', 'clusterrole', name]);
    }
  });
});
