// The grants writer against a recording fake client: what it sends for each state of a namespace.
import { describe, expect, it } from 'vitest';
import type { HostNamespaceGrantSet } from '../../src/api/v1alpha1.ts';
import {
  classifyWriteError,
  GrantsWriteError,
  writeGrantIndex,
  writeNamespaceGrants,
} from '../../src/controller/grants-writer.ts';
import { ApiError, type KubeClient } from '../../src/kube/client.ts';
import { DateTime, Duration } from 'luxon';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { ANNOTATION_POLICY_SETTINGS, publishedPolicySettings } from '../../src/policy/settings.ts';

type Call = { method: string; path: string; body?: unknown };
function fakeClient(fail?: ApiError): { client: KubeClient; calls: Call[] } {
  const calls: Call[] = [];
  const client = {
    request: async (method: string, path: string, opts: { body?: unknown } = {}) => {
      calls.push({ method, path, body: opts.body });
      if (fail) throw fail;
      return { metadata: { name: 'grants', namespace: 'ns', resourceVersion: '2' } };
    },
  } as unknown as KubeClient;
  return { client, calls };
}
const grant = {
  exception: 'a',
  allow: ['hostNetwork' as const],
  expiresAt: '2099-01-01T00:00:00Z',
  selector: { matchLabels: {}, matchExpressions: [] },
};
const current = (spec = { grants: [grant] }, annotations?: Record<string, string>): HostNamespaceGrantSet => ({
  apiVersion: 'hostns.io/v1alpha1',
  kind: 'HostNamespaceGrantSet',
  metadata: { name: 'grants', namespace: 'ns', resourceVersion: '1', ...(annotations ? { annotations } : {}) },
  spec,
});
const PATH = '/apis/hostns.io/v1alpha1/namespaces/ns/hostnamespacegrantsets';

describe('writeNamespaceGrants', () => {
  it('writes nothing when the object is current', async () => {
    const { client, calls } = fakeClient();
    expect(await writeNamespaceGrants(client, 'ns', { grants: [grant] }, current())).toEqual({ action: 'unchanged' });
    expect(calls).toEqual([]);
  });
  it('creates a missing object, empty when the namespace has no grant', async () => {
    const { client, calls } = fakeClient();
    expect((await writeNamespaceGrants(client, 'ns', { grants: [] }, undefined)).action).toBe('created');
    expect(calls).toEqual([
      {
        method: 'POST',
        path: PATH,
        body: expect.objectContaining({
          metadata: expect.objectContaining({ name: 'grants', namespace: 'ns' }),
          spec: { grants: [] },
        }),
      },
    ]);
  });
  it('replaces a different one with its resourceVersion, and drops a foreign allow-delete annotation', async () => {
    const { client, calls } = fakeClient();
    await writeNamespaceGrants(client, 'ns', { grants: [] }, current());
    await writeNamespaceGrants(
      client,
      'ns',
      { grants: [grant] },
      current({ grants: [grant] }, { 'hostns.io/allow-delete': 'true' }),
    );
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([`PUT ${PATH}/grants`, `PUT ${PATH}/grants`]);
    const body = calls[1]!.body as HostNamespaceGrantSet;
    expect(body.metadata.resourceVersion).toBe('1');
    expect(body.metadata.annotations).toBeUndefined();
  });
  it('an exempt namespace: annotates for the guard, then deletes; nothing when already gone', async () => {
    const { client, calls } = fakeClient();
    expect(await writeNamespaceGrants(client, 'ns', undefined, current())).toEqual({ action: 'deleted' });
    expect(calls.map((c) => c.method)).toEqual(['PATCH', 'DELETE']);
    expect(await writeNamespaceGrants(fakeClient().client, 'ns', undefined, undefined)).toEqual({
      action: 'unchanged',
    });
  });
  it.each([
    [new ApiError(500, 'InternalError', 'etcdserver: request is too large', undefined), 'TooLarge'],
    [new ApiError(413, 'RequestEntityTooLarge', 'too large', undefined), 'TooLarge'],
    [new ApiError(422, 'Invalid', 'spec.grants: Too many', undefined), 'Invalid'],
    [new ApiError(409, 'Conflict', 'the object has been modified', undefined), 'Conflict'],
    [new ApiError(403, 'Forbidden', 'exceeded quota', undefined), 'Forbidden'],
    [new ApiError(503, 'ServiceUnavailable', 'unavailable', undefined), 'Unavailable'],
    [new ApiError(404, 'NotFound', 'namespaces "ns" not found', undefined), 'Other'],
  ])('a refused write throws GrantsWriteError naming the namespace, classified (%s)', async (err, failure) => {
    expect(classifyWriteError(err)).toBe(failure);
    const { client } = fakeClient(err);
    const thrown = await writeNamespaceGrants(client, 'ns', { grants: [] }, undefined).catch((e: unknown) => e);
    expect(thrown).toBeInstanceOf(GrantsWriteError);
    expect(thrown).toMatchObject({ namespace: 'ns', failure });
    expect((thrown as Error).message).toContain('grants of namespace ns: ');
  });
  it('a network error is Unavailable', () => {
    expect(classifyWriteError(new Error('ECONNREFUSED'))).toBe('Unavailable');
  });
});

describe('writeGrantIndex', () => {
  const policy = { ...DEFAULT_POLICY, expiringSoonWindow: Duration.fromObject({ minutes: 10 }) };
  const at = DateTime.fromISO('2026-11-27T20:00:00Z', { zone: 'utc' });
  const settings = publishedPolicySettings(policy, at, 'replica-a');
  const index = (annotations?: Record<string, string>) => ({
    apiVersion: 'hostns.io/v1alpha1' as const,
    kind: 'HostNamespaceGrantIndex' as const,
    metadata: { name: 'cluster', resourceVersion: '5', ...(annotations ? { annotations } : {}) },
    spec: { namespaces: { a: '1' } },
  });
  const stated = { [ANNOTATION_POLICY_SETTINGS]: JSON.stringify(settings) };

  it('writes only a difference', async () => {
    const { client, calls } = fakeClient();
    expect(await writeGrantIndex(client, { a: '1' }, settings, index(stated))).toEqual({ action: 'unchanged' });
    expect((await writeGrantIndex(client, { a: '1', b: '2' }, settings, index(stated))).action).toBe('replaced');
    expect((await writeGrantIndex(client, {}, settings, undefined)).action).toBe('created');
    expect(calls.map((c) => c.method)).toEqual(['PUT', 'POST']);
    for (const c of calls) {
      expect((c.body as { metadata: { annotations: unknown } }).metadata.annotations).toEqual(stated);
    }
  });

  it('the same settings published by another replica, at another time, are current', async () => {
    const { client, calls } = fakeClient();
    const later = publishedPolicySettings(policy, at.plus({ days: 3 }), 'replica-b');
    expect(await writeGrantIndex(client, { a: '1' }, later, index(stated))).toEqual({ action: 'unchanged' });
    expect(calls).toEqual([]);
  });

  it('rewrites missing, changed, forged or stale-version settings, keeping no other annotation', async () => {
    const forged = { ...settings, settings: { ...settings.settings, expiringSoon: '7d' } };
    const variants: (Record<string, string> | undefined)[] = [
      undefined,
      { other: 'x' },
      { [ANNOTATION_POLICY_SETTINGS]: JSON.stringify(forged) },
      { [ANNOTATION_POLICY_SETTINGS]: JSON.stringify({ ...settings, version: 2 }) },
      { [ANNOTATION_POLICY_SETTINGS]: '{not json' },
      { [ANNOTATION_POLICY_SETTINGS]: '[]' },
      { ...stated, 'hostns.io/allow-delete': 'true' },
    ];
    for (const annotations of variants) {
      const { client, calls } = fakeClient();
      expect((await writeGrantIndex(client, { a: '1' }, settings, index(annotations))).action).toBe('replaced');
      expect((calls[0]!.body as { metadata: { annotations: unknown } }).metadata.annotations).toEqual(stated);
    }
  });
});
