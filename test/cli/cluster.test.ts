// The CLI's Kubernetes failures, read once (src/kube/errors.ts) and told as one line with an exit
// status; --request-timeout and paging against a local HTTP server (no cluster needed).
import type { Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeApiError } from '../../src/cli/cluster.ts';
import { EXIT } from '../../src/cli/errors.ts';
import { cli, serve } from './in-process.ts';
import { ApiError } from '../../src/kube/client.ts';
import { kubeFailure } from '../../src/kube/errors.ts';
import { withoutDefaultsNote } from './run-cli.ts';

const scratch = mkdtempSync(join(tmpdir(), 'hostns-cli-cluster-'));
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(scratch, { recursive: true, force: true });
});

const status = (code: number, reason: string, message: string, name?: string) =>
  new ApiError(code, reason, `GET x: ${code} ${message}`, {
    kind: 'Status',
    code,
    reason,
    message,
    ...(name ? { details: { name } } : {}),
  });

describe('one reading of a failed request', () => {
  const server = 'https://cluster.example:6443';
  it.each([
    [
      new ApiError(404, '', 'GET x: 404 404 page not found', '404 page not found'),
      EXIT.cluster,
      /CRD \(hostnamespaceexceptions\.hostns\.io\) is not installed in the cluster at https:\/\/cluster\.example:6443/,
    ],
    [
      status(404, 'NotFound', 'the server could not find the requested resource'),
      EXIT.cluster,
      /CRD .* is not installed/,
    ],
    [
      status(404, 'NotFound', 'hostnamespaceexceptions.hostns.io "nope" not found', 'nope'),
      EXIT.usage,
      /^reading: hostnamespaceexceptions\.hostns\.io "nope" not found$/,
    ],
    [status(401, 'Unauthorized', 'Unauthorized'), EXIT.cluster, /did not accept our credentials \(401 Unauthorized\)/],
    [
      status(403, 'Forbidden', 'pods is forbidden: User "x" cannot list'),
      EXIT.cluster,
      /^reading: forbidden: pods is forbidden/,
    ],
    [
      status(422, 'Invalid', 'spec.review.reviewedBy: Required value'),
      EXIT.usage,
      /the API refused the change: spec\.review\.reviewedBy/,
    ],
    [status(500, 'InternalError', 'etcd down'), EXIT.cluster, /the API server answered 500: etcd down/],
    [
      Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }),
      EXIT.cluster,
      /cannot reach the Kubernetes API at https:\/\/cluster\.example:6443 \(ECONNREFUSED\)/,
    ],
    [
      new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
      EXIT.cluster,
      /no answer from the Kubernetes API at .* within 7s/,
    ],
  ])('%s', (err, exit, message) => {
    const e = describeApiError(err, server, 'reading', 7);
    expect(e.exitCode).toBe(exit);
    expect(e.message).toMatch(message);
  });

  it('kubeFailure never throws, whatever it is given', () => {
    for (const junk of [undefined, null, 42, 'text', {}, new Error('plain')])
      expect(() => kubeFailure(junk)).not.toThrow();
    expect(kubeFailure(undefined).kind).toBe('unreachable');
  });
});

function kubeconfigFor(port: number): string {
  const path = join(scratch, `kubeconfig-${port}`);
  writeFileSync(
    path,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: x}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n`,
  );
  return path;
}

describe('kubectl hostns against a local HTTP server', () => {
  it('--request-timeout: an API server that never answers is given up on, exit 3', async () => {
    const port = await serve(servers, () => undefined); // accepts, never answers
    const r = await cli(['audit', '--kubeconfig', kubeconfigFor(port), '--request-timeout', '1']);
    expect(r.code).toBe(EXIT.cluster);
    expect(r.err).toBe(
      `error: listing HostNamespaceExceptions: no answer from the Kubernetes API at http://127.0.0.1:${port} within 1s\n`,
    );
  });

  it('audit by workload: ReplicaSets and Jobs asked as metadata; without the right to list them, a warning', async () => {
    const accepts: string[] = [];
    const port = await serve(servers, (req, res) => {
      const url = new URL(req.url!, 'http://x');
      res.setHeader('Content-Type', 'application/json');
      if (url.pathname.endsWith('/replicasets') || url.pathname.endsWith('/jobs')) {
        accepts.push(String(req.headers.accept));
        res.statusCode = 403;
        const message = `${url.pathname} is forbidden: User "x" cannot list`;
        res.end(JSON.stringify({ kind: 'Status', code: 403, reason: 'Forbidden', message }));
        return;
      }
      const pod = {
        metadata: {
          name: 'web-5d-a',
          namespace: 'team',
          ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d', uid: 'u', controller: true }],
        },
        spec: { hostNetwork: true },
      };
      res.end(JSON.stringify({ metadata: {}, items: url.pathname.endsWith('/pods') ? [pod] : [] }));
    });
    const r = await cli(['audit', '--kubeconfig', kubeconfigFor(port), '--now', '2026-06-01T00:00:00Z', '-o', 'json']);
    expect(accepts).toEqual([
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
      'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1',
    ]);
    expect(r.err).toContain(
      'warning: cannot list replicasets (forbidden): their pods are grouped by ReplicaSet, not by Deployment',
    );
    expect(r.err).toContain('warning: cannot list jobs (forbidden)');
    expect(JSON.parse(r.out).workloads).toMatchObject([
      { kind: 'ReplicaSet', name: 'web-5d', pods: 1, status: 'offender' },
    ]);
    expect(r.code).toBe(EXIT.ok);
  });

  it('follows continue tokens with --chunk-size as the page size', async () => {
    const seen: string[] = [];
    const port = await serve(servers, (req, res) => {
      const url = new URL(req.url!, 'http://x');
      seen.push(
        `${url.pathname}?limit=${url.searchParams.get('limit')}&continue=${url.searchParams.get('continue') ?? ''}`,
      );
      res.setHeader('Content-Type', 'application/json');
      const cont = url.searchParams.get('continue');
      if (url.pathname.endsWith('/pods')) {
        const pod = (name: string) => ({
          metadata: { name, namespace: 'team', labels: {} },
          spec: { hostNetwork: true },
        });
        res.end(
          JSON.stringify(
            cont ? { metadata: {}, items: [pod('p2')] } : { metadata: { continue: 'page2' }, items: [pod('p1')] },
          ),
        );
      } else {
        res.end(JSON.stringify({ metadata: {}, items: [] }));
      }
    });
    const r = await cli([
      'audit',
      '--group-by',
      'pod',
      '--kubeconfig',
      kubeconfigFor(port),
      '--chunk-size',
      '1',
      '-o',
      'json',
      '--now',
      '2026-06-01T00:00:00Z',
    ]);
    expect(withoutDefaultsNote(r.err)).toBe('');
    expect(JSON.parse(r.out).pods.map((p: { name: string }) => p.name)).toEqual(['p1', 'p2']);
    // The operator's settings are read beside the first list (either may arrive first).
    const index = '/apis/hostns.io/v1alpha1/hostnamespacegrantindexes/cluster?limit=null&continue=';
    expect(seen).toContain(index);
    expect(seen.filter((p) => p !== index)).toEqual([
      '/apis/hostns.io/v1alpha1/hostnamespaceexceptions?limit=1&continue=',
      '/api/v1/pods?limit=1&continue=',
      '/api/v1/pods?limit=1&continue=page2',
    ]);
    expect(r.code).toBe(EXIT.ok);
  });
});
