// What the real API server answers to writes no retry can fix, and how they are classified: a pod
// whose annotations already use the whole 256 KiB refuses our annotation (422, terminal) but
// takes the label alone; conflicts and missing objects are classified as what they are.
import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { classifyApiError } from '../../src/kube/api-errors.ts';
import { KubeClient } from '../../src/kube/client.ts';
import { desiredMarks, labelsOnly, marksPatch } from '../../src/policy/pod-marks.ts';
import { createNamespace, kubeconfigPath } from '../harness/clients.ts';

function client(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return new KubeClient(kc);
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the request to fail');
}

describe('API errors classified on the real API server', () => {
  it('annotations over 256 KiB: 422 terminal; the label-only patch lands', async () => {
    const ns = await createNamespace('api-errors');
    const c = client();
    // Someone else's annotations: just under the 262,144-byte total.
    const big = 'x'.repeat(256 * 1024 - 200);
    await c.request('POST', `/api/v1/namespaces/${ns}/pods`, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'fat', annotations: { 'example.com/blob': big } },
        spec: { hostPID: true, containers: [{ name: 'c', image: 'busybox' }] },
      },
    });
    const patch = marksPatch(
      { labels: {}, annotations: {} },
      desiredMarks({
        kind: 'covered',
        used: ['hostPID'],
        exceptions: Array.from({ length: 60 }, (_, i) => `exception-with-a-long-name-${i}`),
      }),
    )!;
    const path = `/api/v1/namespaces/${ns}/pods/fat`;
    const err = await failure(c.request('PATCH', path, { body: patch, contentType: 'application/merge-patch+json' }));
    expect(classifyApiError(err)).toMatchObject({ class: 'terminal', status: 422, reason: 'Invalid' });
    expect(String(err)).toMatch(/annotations: Too long/);

    const labelPatch = labelsOnly(patch)!;
    const pod = await c.request<{ metadata: { labels: Record<string, string> } }>('PATCH', path, {
      body: labelPatch,
      contentType: 'application/merge-patch+json',
    });
    expect(pod.metadata.labels['hostns.io/exception']).toBe('exception-with-a-long-name-0');

    // The uid precondition the operator puts in its patches: a replaced pod answers a conflict.
    const wrongUid = { metadata: { uid: '00000000-0000-0000-0000-000000000000', labels: { a: 'b' } } };
    const replaced = await failure(
      c.request('PATCH', path, { body: wrongUid, contentType: 'application/merge-patch+json' }),
    );
    expect(classifyApiError(replaced).class).toBe('conflict');
  });

  it('409 Conflict on a stale resourceVersion, 409 AlreadyExists on a create, 404 on a missing object', async () => {
    const ns = await createNamespace('api-errors');
    const c = client();
    const cmPath = `/api/v1/namespaces/${ns}/configmaps`;
    const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: '1' } };
    const cm = await c.request<{ metadata: { resourceVersion: string } }>('POST', cmPath, { body });
    expect(classifyApiError(await failure(c.request('POST', cmPath, { body }))).class).toBe('exists');
    await c.request('PUT', `${cmPath}/cm`, { body: { ...body, data: { a: '2' } } });
    const stale = { ...body, metadata: { name: 'cm', resourceVersion: cm.metadata.resourceVersion }, data: { a: '3' } };
    expect(classifyApiError(await failure(c.request('PUT', `${cmPath}/cm`, { body: stale }))).class).toBe('conflict');
    expect(classifyApiError(await failure(c.request('GET', `${cmPath}/nope`))).class).toBe('gone');
    // A name the API refuses: 422, terminal.
    const bad = { ...body, metadata: { name: 'Not_Valid' } };
    expect(classifyApiError(await failure(c.request('POST', cmPath, { body: bad })))).toMatchObject({
      class: 'terminal',
      status: 422,
    });
  });
});
