// The API server's clock learnt from its responses, on the real API server, while this process's
// wall clock is faked 10 minutes ahead (an injected clock function: the system clock is untouched;
// the API server runs on this machine, so the system clock is the truth to compare with).
import { KubeConfig } from '@kubernetes/client-node';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { createNamespace, kubeconfigPath } from '../harness/clients.ts';

function client(localWallOffsetMs: number): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new KubeClient(kc, {
    clocks: { monotonicMs: () => performance.now(), wallMs: () => Date.now() + localWallOffsetMs },
  });
}

describe('server clock from API responses (real API server)', () => {
  for (const offsetMin of [10, -7]) {
    it(`wall clock ${offsetMin > 0 ? '+' : ''}${offsetMin} min: serverNow() within 1 s, offset known`, async () => {
      const c = client(offsetMin * 60_000);
      expect(c.serverTime().errorMs).toBe(Infinity); // nothing learnt yet: no claim
      for (let i = 0; i < 12; i++) {
        await c.request('GET', '/version');
        await new Promise((r) => setTimeout(r, 113)); // responses at different sub-second phases
      }
      const est = c.serverTime();
      const truth = Date.now();
      expect(Math.abs(est.now.toMillis() - truth)).toBeLessThan(1000);
      expect(Math.abs(est.now.toMillis() - truth)).toBeLessThanOrEqual(est.errorMs + 50);
      expect(Math.abs(est.offsetMs - -offsetMin * 60_000)).toBeLessThan(1000);
      expect(est.errorMs).toBeLessThan(1000);

      // An object the server stamps: its creationTimestamp (whole seconds) agrees with serverNow().
      const ns = await createNamespace('srv-clock');
      const before = c.serverNow().toMillis();
      const cm = await c.request<{ metadata: { creationTimestamp: string } }>(
        'POST',
        `/api/v1/namespaces/${ns}/configmaps`,
        {
          body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'stamp' } },
        },
      );
      const after = c.serverNow().toMillis();
      const stamped = DateTime.fromISO(cm.metadata.creationTimestamp).toMillis();
      expect(stamped).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
      expect(stamped).toBeLessThanOrEqual(after + 1000);
      console.log(
        `[figures] server clock, local wall ${offsetMin} min off: ` +
          `estimate error ${est.errorMs.toFixed(0)} ms (bound), ` +
          `actual ${Math.abs(est.now.toMillis() - truth).toFixed(0)} ms, offset ${(est.offsetMs / 1000).toFixed(2)} s`,
      );
    });
  }
});
