// A request given up on really ends: the real API server behind a TCP proxy that stops answering,
// and what stays open of the client's connections afterwards (the proxy counts them).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { kubeFailure } from '../../src/kube/errors.ts';
import { cli } from '../cli/in-process.ts';
import { eventually, kubeconfigPath } from '../harness/clients.ts';
import { TcpProxy } from '../harness/tcp-proxy.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hostns-abort-'));
const proxies: TcpProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.down();
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A proxy in front of the run's API server, and a kubeconfig through it. */
async function throughProxy(): Promise<{ proxy: TcpProxy; kubeconfig: string }> {
  const port = Number(/server: https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(kubeconfigPath(), 'utf8'))![1]);
  const proxy = new TcpProxy({ host: '127.0.0.1', port });
  proxies.push(proxy);
  await proxy.listen();
  const kubeconfig = proxy.kubeconfigThrough(kubeconfigPath(), join(scratch, `kubeconfig-${proxy.port}`));
  return { proxy, kubeconfig };
}
function clientFor(kubeconfig: string): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return new KubeClient(kc);
}
const noConnectionLeft = (proxy: TcpProxy, what: string) =>
  eventually(async () => ((await proxy.connections()) === 0 ? true : undefined), 5_000, what);

describe('KubeClient: a request given up on ends its connection', () => {
  it('on an open connection, the timeout aborts the request and closes the connection', async () => {
    const { proxy, kubeconfig } = await throughProxy();
    const client = clientFor(kubeconfig);
    await client.request('GET', '/version');
    expect(await proxy.connections()).toBe(1); // kept alive for the next request
    proxy.hold();
    const err: unknown = await client.request('GET', '/api/v1/namespaces', { timeoutMs: 1000 }).catch((e) => e);
    expect(kubeFailure(err).kind).toBe('timeout');
    await noConnectionLeft(proxy, 'the connection closed by the abort');
  });

  it("the caller's signal aborts it the same way", async () => {
    const { proxy, kubeconfig } = await throughProxy();
    const client = clientFor(kubeconfig);
    await client.request('GET', '/version');
    proxy.hold();
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('leadership lost')), 300);
    const err: unknown = await client
      .request('GET', '/api/v1/namespaces', { signal: stop.signal, timeoutMs: 60_000 })
      .catch((e) => e);
    expect((err as Error).message).toBe('leadership lost');
    await noConnectionLeft(proxy, 'the connection closed by the abort');
  });

  it('a connection still opening (TLS handshake unanswered) is ended by close()', async () => {
    const { proxy, kubeconfig } = await throughProxy();
    proxy.hold();
    const client = clientFor(kubeconfig);
    const err: unknown = await client.request('GET', '/version', { timeoutMs: 1000 }).catch((e) => e);
    expect(kubeFailure(err).kind).toBe('timeout');
    // The request has ended, its connection attempt not (undici gives up after 10 s by itself).
    expect(await proxy.connections()).toBe(1);
    await client.close();
    await noConnectionLeft(proxy, 'the connection attempt ended by close()');
    // The client still works afterwards, on new connections.
    const { kubeconfig: direct } = await throughProxy();
    expect(await clientFor(direct).request<{ major: string }>('GET', '/version')).toHaveProperty('major');
  });
});

describe('kubectl hostns --request-timeout', () => {
  it.each([['audit'], ['review'], ['verify', '-n', 'default'], ['scan', '-', '--exceptions-from', 'cluster']])(
    '%s: given up on in time, with no connection left open',
    async (...args) => {
      const { proxy, kubeconfig } = await throughProxy();
      proxy.hold();
      const r = await cli([...args, '--kubeconfig', kubeconfig, '--request-timeout', '1']);
      expect(r.code).toBe(3);
      expect(r.err).toMatch(
        /^error: .*: no answer from the Kubernetes API at \S+ (within 1s|in time \(--request-timeout\))\n$/,
      );
      // closed by the command before it returned (undici alone would keep one opening for 10 s)
      await noConnectionLeft(proxy, 'connections closed by the command');
    },
  );

  it('a run that succeeds leaves no connection open either (no keep-alive outlives the command)', async () => {
    const { proxy, kubeconfig } = await throughProxy();
    const r = await cli(['audit', '-n', 'default', '--kubeconfig', kubeconfig]);
    expect(r.code).toBe(0);
    await noConnectionLeft(proxy, 'keep-alive connections closed by the command');
  });
});
