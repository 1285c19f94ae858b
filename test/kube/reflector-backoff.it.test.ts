// Backoff after an outage must not carry over to the next one: a reflector behind a TCP proxy
// goes through two short outages; after the first it reconnects and its watch delivers an event,
// so the first retry of the second outage waits the floor (0.5 s), not the level the first one
// reached. The retry delays are read from the reflector's own log lines.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { createLogger, format, transports } from 'winston';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { Reflector, type RawObject } from '../../src/kube/reflector.ts';
import { core, createNamespace, eventually, kubeconfigPath } from '../harness/clients.ts';
import { TcpProxy } from '../harness/tcp-proxy.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hostns-backoff-'));
let proxy: TcpProxy | undefined;
let reflector: Reflector<RawObject> | undefined;
afterAll(async () => {
  await reflector?.stop();
  await proxy?.down();
  rmSync(scratch, { recursive: true, force: true });
});

/** The reflector's 'retrying' log lines (their retryInMs), through a logger format. */
function retryLog() {
  const seen: number[] = [];
  const capture = format((info) => {
    if (info.message === 'list/watch failed, retrying' && typeof info.retryInMs === 'number') seen.push(info.retryInMs);
    return info;
  });
  return {
    seen,
    logger: createLogger({ level: 'debug', format: capture(), transports: [new transports.Console({ silent: true })] }),
  };
}

describe('reflector backoff across two outages (real API server, TCP proxy)', () => {
  it('the second outage retries after the floor because the watch was healthy in between', async () => {
    const ns = await createNamespace('backoff');
    const server = /server: https:\/\/127\.0\.0\.1:(\d+)/.exec(readFileSync(kubeconfigPath(), 'utf8'))!;
    proxy = new TcpProxy({ host: '127.0.0.1', port: Number(server[1]) });
    await proxy.listen();
    const kc = new KubeConfig();
    kc.loadFromFile(proxy.kubeconfigThrough(kubeconfigPath(), join(scratch, 'kubeconfig')));
    const retries = retryLog();
    reflector = new Reflector<RawObject>({
      client: new KubeClient(kc),
      path: `/api/v1/namespaces/${ns}/configmaps`,
      resource: 'configmaps',
      transform: (raw) => raw,
      onChange: () => {},
      logger: retries.logger,
    });
    reflector.start();
    await reflector.synced();
    const seen = (name: string) => (reflector!.store.has(`${ns}/${name}`) ? true : undefined);
    const create = (name: string) => core().createNamespacedConfigMap({ namespace: ns, body: { metadata: { name } } });

    // First outage: 6 s, long enough for the backoff to grow to several seconds.
    await proxy.down();
    await new Promise((r) => setTimeout(r, 6000));
    const firstOutage = [...retries.seen];
    expect(Math.max(...firstOutage)).toBeGreaterThanOrEqual(1600); // grew: 0.5, 1, 2, ... (jittered)
    await proxy.up();
    await create('between');
    await eventually(() => seen('between'), 30_000, 'the watch delivers again after the first outage');

    // 5 s later, a second short outage.
    await new Promise((r) => setTimeout(r, 5000));
    const before = retries.seen.length;
    await proxy.down();
    await eventually(() => (retries.seen.length > before ? true : undefined), 10_000, 'a retry in the second outage');
    const firstRetry = retries.seen[before]!;
    expect(firstRetry).toBeLessThanOrEqual(600); // the floor, jittered: not the 4-8 s of the first outage
    await new Promise((r) => setTimeout(r, 1500));
    const up = performance.now();
    await proxy.up();
    await create('after');
    await eventually(() => seen('after'), 30_000, 'the watch delivers again after the second outage');
    console.log(
      `[figures] backoff: first outage retries ${firstOutage.join(', ')} ms; ` +
        `second outage first retry ${firstRetry} ms; ` +
        `event seen ${Math.round(performance.now() - up)} ms after the API came back`,
    );
  });
});
