// Events at the API's limits, on the real API server: pod names of 253 characters cut on '-' or
// '.', notes of exactly 1,024 bytes and more in every alphabet, each created once and found again.
import { KubeConfig } from '@kubernetes/client-node';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { KubeClient } from '../../src/kube/client.ts';
import { eventName, recordEvent, type EventSpec } from '../../src/kube/events.ts';
import { isDnsSubdomain } from '../../src/policy/limits.ts';
import { core, createNamespace, kubeconfigPath } from '../harness/clients.ts';

function client(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new KubeClient(kc);
}

/** A valid pod name of exactly 253 characters with `sep` at 0-based index `at`. */
const podName = (at: number, sep: string) => `${'a'.repeat(at)}${sep}${'b'.repeat(252 - at)}`;

describe('Events at the limits (real API server)', () => {
  it('253-character pod names with "-" or "." where the Event name is cut: each Event created once', async () => {
    const ns = await createNamespace('ev-names');
    const c = client();
    const now = DateTime.utc();
    let created = 0;
    // HostNamespaceViolation leaves 213 characters of the pod name (0-based 0..212); Expired 228.
    const cases = [209, 210, 211, 212, 213, 214].flatMap((at) => ['-', '.'].map((sep) => ({ at, sep })));
    for (const { at, sep } of cases) {
      const name = podName(at, sep);
      expect(name).toHaveLength(253);
      const pod = await core().createNamespacedPod({
        namespace: ns,
        body: { metadata: { name }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'busybox' }] } },
      });
      for (const reason of ['HostNamespaceViolation', 'Expired']) {
        const e: EventSpec = {
          regarding: { apiVersion: 'v1', kind: 'Pod', namespace: ns, name, uid: pod.metadata!.uid! },
          type: 'Warning',
          reason,
          action: 'Classify',
          note: `pod ${name} at the limit`,
          key: `${pod.metadata!.resourceVersion}/hostNetwork`,
        };
        expect(isDnsSubdomain(eventName(e))).toBe(true);
        expect(await recordEvent(c, e, now, 'it')).toBe('created');
        expect(await recordEvent(c, e, now, 'it')).toBe('exists'); // same name: exactly once
        created++;
      }
    }
    const events = await c.request<{ items: { metadata: { name: string }; regarding: { name: string } }[] }>(
      'GET',
      `/apis/events.k8s.io/v1/namespaces/${ns}/events`,
    );
    expect(events.items).toHaveLength(created);
    expect(new Set(events.items.map((e) => e.metadata.name)).size).toBe(created);
  });

  it('notes of 1,024 bytes and beyond in every alphabet are accepted, cut at a character boundary', async () => {
    const ns = await createNamespace('ev-notes');
    const c = client();
    const now = DateTime.utc();
    const notes = [
      'a'.repeat(1020) + '😀', // exactly 1,024 bytes: kept whole
      'a'.repeat(1021) + '😀', // 1,025 bytes
      `owner: ${'😀'.repeat(253)}`, // 253 emoji: 506 UTF-16 units, 1,012 bytes + prefix
      'é'.repeat(600),
      '日本語'.repeat(200),
      'aé日😀👩‍👩‍👧'.repeat(60),
    ];
    for (const [i, note] of notes.entries()) {
      const e: EventSpec = {
        regarding: { apiVersion: 'v1', kind: 'Namespace', namespace: ns, name: ns, uid: `uid-${i}` },
        type: 'Normal',
        reason: 'Limits',
        action: 'Test',
        note,
        key: String(i),
      };
      expect(await recordEvent(c, e, now, 'it')).toBe('created');
      const got = await c.request<{ note: string }>(
        'GET',
        `/apis/events.k8s.io/v1/namespaces/${ns}/events/${eventName(e)}`,
      );
      expect(Buffer.byteLength(got.note)).toBeLessThanOrEqual(1024);
      if (Buffer.byteLength(note) <= 1024) expect(got.note).toBe(note);
      else expect(note.startsWith(got.note.slice(0, -1)) && got.note.endsWith('…')).toBe(true);
    }
  });
});
