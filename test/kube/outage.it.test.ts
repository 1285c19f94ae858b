// An API-server outage as the operator sees it: every connection cut, new ones refused for a few
// seconds, pods and exceptions changed meanwhile. The operator must not exit, must back off and
// reconnect, and must converge on what happened while it was blind.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { core, createNamespace, customObjects, eventually, kubeconfigPath } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { TcpProxy } from '../harness/tcp-proxy.ts';
import { createException } from '../harness/exceptions.ts';

let op: OperatorProcess | undefined;
let proxy: TcpProxy | undefined;
const scratch = mkdtempSync(join(tmpdir(), 'hostns-outage-'));
afterAll(async () => {
  await op?.kill('SIGKILL');
  await proxy?.down();
  rmSync(scratch, { recursive: true, force: true });
});

describe('API server outage', () => {
  it('keeps running through an outage, reconnects and converges on what changed meanwhile', async () => {
    const server = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(kubeconfigPath(), 'utf8'))!;
    proxy = new TcpProxy({ host: '127.0.0.1', port: Number(server[1]) });
    await proxy.listen();
    const kc = proxy.kubeconfigThrough(kubeconfigPath(), join(scratch, 'kubeconfig'));
    op = await OperatorProcess.start(['--ready-max-disconnected', '2s'], kc);
    await op.converged();

    const ns = await createNamespace('outage');
    await createException(ns, 'agent', {
      owner: 'team-net',
      riskAcceptance: { justification: 'the agent programs node routes for pods', acceptedBy: 'security-board' },
      expiresAt: DateTime.utc().plus({ days: 20 }).toISO({ suppressMilliseconds: true }),
    });
    await eventually(
      async () => ((await op!.metric('hostns_exceptions', 'phase="Active"')) >= 1 ? true : undefined),
      10_000,
      'exception seen',
    );

    await proxy.down();
    // While the operator is blind: a covered pod, an offender, and the exception deleted later.
    await core().createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'covered', labels: { app: 'agent' } },
        spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await core().createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: 'offender', labels: { app: 'other' } },
        spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    await new Promise((r) => setTimeout(r, 4000));
    expect(op.child.exitCode).toBeNull(); // still running
    // Liveness holds (restarting would only lose the caches); readiness and the metrics tell the truth.
    expect(await op.get('/healthz')).toBe('ok\n');
    const unready = await op.get('/readyz');
    expect(unready).toMatch(/^pods: no watch open for \d+ s$/m);
    expect(unready).toMatch(/^hostnamespaceexceptions: no watch open/m);
    expect(await op.metric('hostns_watch_connected', 'resource="pods"')).toBe(0);
    expect(await op.metric('hostns_watch_last_sync_age_seconds', 'resource="pods"')).toBeGreaterThanOrEqual(3);
    console.log(`[figures] /readyz during the outage:\n${unready}`);

    const t0 = Date.now();
    await proxy.up();
    const labels = async (name: string) =>
      (await core().readNamespacedPod({ namespace: ns, name })).metadata?.labels ?? {};
    await eventually(
      async () => ((await labels('offender'))['hostns.io/violation'] === 'true' ? true : undefined),
      45_000,
      'offender labelled after the outage',
    );
    await eventually(
      async () => ((await labels('covered'))['hostns.io/exception'] === 'agent' ? true : undefined),
      45_000,
      'covered labelled after the outage',
    );
    console.log(
      `[figures] outage 4 s: converged ${Date.now() - t0} ms after the API came back; watch restarts: ${await op.metric('hostns_watch_restarts_total')}`,
    );
    expect(await op.metric('hostns_watch_restarts_total', 'reason="error"')).toBeGreaterThanOrEqual(1);
    await eventually(async () => ((await op!.get('/readyz')) === 'ok\n' ? true : undefined), 10_000, 'ready again');
    // every source watching again: exceptions, pods, grants, namespaces, index, NetworkPolicies, ReplicaSets, Jobs,
    // FailedCreate Events, our Events on workloads
    expect(await op.metric('hostns_watch_connected')).toBe(10);

    // A second outage during which the exception is deleted: the covered pod becomes an offender.
    await proxy.down();
    await customObjects().deleteNamespacedCustomObject({
      group: 'hostns.io',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'hostnamespaceexceptions',
      name: 'agent',
    });
    await new Promise((r) => setTimeout(r, 2000));
    await proxy.up();
    await eventually(
      async () => {
        const l = await labels('covered');
        return l['hostns.io/violation'] === 'true' && !l['hostns.io/exception'] ? true : undefined;
      },
      45_000,
      'relabelled after the exception vanished during an outage',
    );
  });
});
