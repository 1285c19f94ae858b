// KubeClient's transport against a local HTTP server (no API server needed): JSON in and out, API
// errors, headers, deadlines and the caller's signal, network failures read as before, and watch
// streams cut anywhere (a line, a multi-byte character) across chunks.
import { getEventListeners } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyApiError } from '../../src/kube/api-errors.ts';
import { ApiError, KubeClient } from '../../src/kube/client.ts';
import { kubeFailure } from '../../src/kube/errors.ts';
import { writeCertificates } from '../../tools/controlplane/controlplane.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;
const routes = new Map<string, Handler>();
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      const handler = routes.get(new URL(req.url!, 'http://x').pathname);
      if (handler) return handler(req, res, body);
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', reason: 'NotFound', message: 'no such route', code: 404 }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function client(server = base): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    // Plain HTTP is only allowed with skipTLSVerify (client-node).
    clusters: [{ name: 'c', server, skipTLSVerify: true }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return new KubeClient(kc);
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

describe('KubeClient.request', () => {
  it('sends JSON with its content type, query and auth; returns the parsed body; reads headers', async () => {
    let seen: { method?: string; url?: string; type?: string; auth?: string; body?: string } = {};
    routes.set('/api/v1/namespaces/ns/pods/p', (req, res, body) => {
      seen = {
        method: req.method,
        url: req.url,
        type: req.headers['content-type'],
        auth: req.headers.authorization,
        body,
      };
      json(res, 200, { metadata: { name: 'p', labels: { a: 'é' } } }, { warning: '299 - "deprecated"' });
    });
    const c = client();
    let warning: string | null = null;
    const got = await c.request('PATCH', '/api/v1/namespaces/ns/pods/p', {
      query: { fieldManager: 'x y', dryRun: undefined },
      body: { metadata: { labels: { a: 'é' } } },
      contentType: 'application/merge-patch+json',
      onHeaders: (h) => (warning = h.get('Warning')),
    });
    expect(got).toEqual({ metadata: { name: 'p', labels: { a: 'é' } } });
    expect(seen).toEqual({
      method: 'PATCH',
      url: '/api/v1/namespaces/ns/pods/p?fieldManager=x+y',
      type: 'application/merge-patch+json',
      auth: 'Bearer secret-token',
      body: '{"metadata":{"labels":{"a":"é"}}}',
    });
    expect(warning).toBe('299 - "deprecated"');
    await c.close();
  });

  it('answers >= 400 with an ApiError carrying the Status (JSON or not), classified as before', async () => {
    routes.set('/conflict', (_req, res) =>
      json(res, 409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified', code: 409 }),
    );
    routes.set('/text', (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('upstream down');
    });
    const c = client();
    const conflict = await c.request('PUT', '/conflict', { body: {} }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(ApiError);
    expect(conflict).toMatchObject({ status: 409, reason: 'Conflict' });
    expect((conflict as Error).message).toBe('PUT /conflict: 409 the object has been modified');
    expect(classifyApiError(conflict).class).toBe('conflict');
    const down = await c.request('GET', '/text').catch((e: unknown) => e);
    expect(down).toMatchObject({ status: 503, reason: '', body: 'upstream down' });
    expect(classifyApiError(down).class).toBe('retryable');
    const missing = await c.request('GET', '/nowhere').catch((e: unknown) => e);
    expect(classifyApiError(missing).class).toBe('gone');
    await c.close();
  });

  it('a deadline passed is a TimeoutError; the connection is not reused for the next request', async () => {
    routes.set('/slow', () => undefined); // never answers
    routes.set('/fast', (_req, res) => json(res, 200, { ok: true }));
    const c = client();
    const err = await c.request('GET', '/slow', { timeoutMs: 100 }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(kubeFailure(err).kind).toBe('timeout');
    expect(classifyApiError(err)).toMatchObject({ class: 'retryable', status: 0, reason: 'TimeoutError' });
    expect(await c.request('GET', '/fast')).toEqual({ ok: true });
    await c.close();
  });

  it("the caller's signal aborts with its own reason, already aborted included; no listener is left on it", async () => {
    routes.set('/slow', () => undefined);
    routes.set('/fast', (_req, res) => json(res, 200, { ok: true }));
    const c = client();
    const term = new AbortController();
    // Many requests under one long-lived signal (a leader's term) leave nothing registered on it.
    for (let i = 0; i < 50; i++) await c.request('GET', '/fast', { signal: term.signal });
    expect(getEventListeners(term.signal, 'abort')).toHaveLength(0);
    setTimeout(() => term.abort(new Error('leadership lost')), 50);
    const err = await c.request('GET', '/slow', { signal: term.signal, timeoutMs: 60_000 }).catch((e: unknown) => e);
    expect((err as Error).message).toBe('leadership lost');
    const again = await c.request('GET', '/fast', { signal: term.signal }).catch((e: unknown) => e);
    expect((again as Error).message).toBe('leadership lost');
    expect(getEventListeners(term.signal, 'abort')).toHaveLength(0);
    await c.close();
  });

  it('a refused connection reads as fetch reported it: TypeError "fetch failed", the system code inside', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const c = client(`http://127.0.0.1:${port}`);
    const err = await c.request('GET', '/version', { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toBe('fetch failed');
    expect(kubeFailure(err)).toEqual({ kind: 'unreachable', detail: 'ECONNREFUSED' });
    expect(classifyApiError(err)).toMatchObject({ class: 'retryable', status: 0, reason: 'TypeError' });
    await c.close();
  });

  it('counts every request with its status for the observers', async () => {
    routes.set('/fast', (_req, res) => json(res, 200, { ok: true }));
    const c = client();
    const seen: string[] = [];
    c.onRequest((verb, path, status) => seen.push(`${verb} ${path} ${status}`));
    await c.request('GET', '/fast');
    await c.request('GET', '/nowhere').catch(() => undefined);
    expect(seen).toEqual(['GET /fast 200', 'GET /nowhere 404']);
    await c.close();
  });
});

describe('KubeClient.watch', () => {
  it('delivers each line once, whatever the chunking (lines and a multi-byte character split), skipping torn lines', async () => {
    const events = [
      { type: 'ADDED', object: { metadata: { name: 'a', labels: { team: 'équipe-🚀' } } } },
      { type: 'MODIFIED', object: { metadata: { name: 'b' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '9' } } },
    ];
    const text = `${JSON.stringify(events[0])}\n\n{"type":"ADD\n${JSON.stringify(events[1])}\n${JSON.stringify(events[2])}\n`;
    const bytes = Buffer.from(text, 'utf8');
    routes.set('/api/v1/pods', (req, res) => {
      expect(new URL(req.url!, 'http://x').searchParams.get('watch')).toBe('true');
      res.writeHead(200, { 'content-type': 'application/json' });
      // One byte at a time: every line and the 4-byte emoji are cut across chunks.
      let i = 0;
      const next = () => {
        if (i >= bytes.length) return res.end();
        res.write(bytes.subarray(i, ++i));
        setImmediate(next);
      };
      next();
    });
    const c = client();
    const got: unknown[] = [];
    let opened = false;
    await c.watch(
      '/api/v1/pods',
      { resourceVersion: '1' },
      (ev) => got.push(ev),
      new AbortController().signal,
      10_000,
      () => (opened = true),
    );
    expect(opened).toBe(true);
    expect(got).toEqual(events);
    await c.close();
  });

  it('a refused watch is an ApiError; an aborted one resolves; a silent one fails after idleMs', async () => {
    routes.set('/gone', (_req, res) =>
      json(res, 410, { kind: 'Status', reason: 'Expired', message: 'too old', code: 410 }),
    );
    routes.set('/silent', (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).flushHeaders());
    const c = client();
    const gone = await c.watch('/gone', {}, () => undefined, new AbortController().signal, 10_000).catch((e) => e);
    expect(gone).toMatchObject({ status: 410, reason: 'Expired' });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    await expect(c.watch('/silent', {}, () => undefined, stop.signal, 10_000)).resolves.toBeUndefined();
    const idle = await c.watch('/silent', {}, () => undefined, new AbortController().signal, 100).catch((e) => e);
    expect((idle as Error).message).toBe('watch /silent: nothing received for 100 ms');
    await c.close();
  });
});

describe('KubeClient over TLS', () => {
  // A server that speaks both HTTP/2 and HTTP/1.1 (as kube-apiserver does): the client asks for
  // HTTP/1.1, so that LIST pages, watches and writes do not share one connection's flow-control
  // windows (bench/FINDINGS.md, "transport"); concurrent requests get connections of their own.
  it('speaks HTTP/1.1 to a server offering HTTP/2, one connection per request in flight', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostns-tls-'));
    writeCertificates(dir);
    const versions: string[] = [];
    const sockets = new Set<unknown>();
    const tls = createSecureServer(
      { key: readFileSync(join(dir, 'serving.key')), cert: readFileSync(join(dir, 'serving.crt')), allowHTTP1: true },
      (req, res) => {
        versions.push(req.httpVersion);
        sockets.add(req.socket);
        // Held a little, so the three requests are in flight together.
        setTimeout(() => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: true }));
        }, 50);
      },
    );
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    const c = client(`https://127.0.0.1:${(tls.address() as AddressInfo).port}`);
    try {
      const answers = await Promise.all([1, 2, 3].map(() => c.request('GET', '/version')));
      expect(answers).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      expect(versions).toEqual(['1.1', '1.1', '1.1']);
      expect(sockets.size).toBe(3);
    } finally {
      await c.close();
      await new Promise((r) => tls.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
