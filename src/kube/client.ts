// A thin JSON client over client-node's authentication and TLS: raw objects in and out, so a
// 150,000-pod LIST is never turned into generated model classes, and every request is counted.
import type * as https from 'node:https';
import type { HttpMethod } from '@kubernetes/client-node';
import { RequestContext, type KubeConfig } from '@kubernetes/client-node';
import type { DateTime } from 'luxon';
import type { Socket } from 'node:net';
import { Agent, buildConnector, request as undiciRequest, type Dispatcher } from 'undici';
import { ServerClock, systemLocalClocks, type LocalClocks, type ServerTimeEstimate } from './server-clock.ts';

export class ApiError extends Error {
  readonly status: number;
  readonly reason: string;
  readonly body: unknown;
  constructor(status: number, reason: string, message: string, body: unknown) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.reason = reason;
    this.body = body;
  }
}

export function isStatus(err: unknown, ...codes: number[]): err is ApiError {
  return err instanceof ApiError && codes.includes(err.status);
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: 'application/json' | 'application/merge-patch+json' | 'application/strategic-merge-patch+json';
  signal?: AbortSignal;
  /** Client-side deadline for the whole request (default 30 s). */
  timeoutMs?: number;
  /**
   * The Accept header (default `application/json`); e.g. PARTIAL_METADATA_LIST asks for metadata
   * only, so a LIST of ReplicaSets carries no specs.
   */
  accept?: string;
  /** Called with the response headers (e.g. `Warning`), errors included, before the body is read. */
  onHeaders?: (headers: { get(name: string): string | null }) => void;
}

/**
 * What bounds a leader's write: the term's signal (aborts when leadership ends) and the time the
 * term is still guaranteed. Passed to every write so none can start, or keep waiting, after it.
 */
export type WriteBounds = Pick<RequestOptions, 'signal' | 'timeoutMs'>;

/**
 * Metadata-only reads (client-go's metadata client): the API server answers PartialObjectMetadata,
 * the objects' metadata without spec or status. One Accept value for a LIST, one for a watch's events.
 */
export const PARTIAL_METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const PARTIAL_METADATA = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

export type RequestObserver = (verb: string, path: string, status: number) => void;

export type WatchEventHandler = (ev: { type: string; object: unknown }) => void;

/** What the operator needs of the API: JSON requests and watch streams (tests use an in-memory fake). */
export interface KubeApi {
  readonly server: string;
  request<T = unknown>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  /** `onOpen`: the server accepted the watch (HTTP 200), before any event. `accept`: as in RequestOptions. */
  watch(
    path: string,
    query: RequestOptions['query'],
    onEvent: WatchEventHandler,
    signal: AbortSignal,
    idleMs: number,
    onOpen?: () => void,
    accept?: string,
  ): Promise<void>;
}

export class KubeClient implements KubeApi {
  readonly kc: KubeConfig;
  readonly server: string;
  private dispatcher?: Dispatcher;
  /** Every socket our pool opened and not yet closed, those still connecting included. */
  private readonly sockets = new Set<Socket>();
  private authCache?: { headers: Record<string, string>; until: number };
  private readonly observers: RequestObserver[] = [];
  /** The API server's clock, learnt from every response's Date header. */
  readonly serverClock: ServerClock;
  private readonly clocks: LocalClocks;

  constructor(kc: KubeConfig, opts: { clocks?: LocalClocks } = {}) {
    this.kc = kc;
    this.server = kc.getCurrentCluster()!.server.replace(/\/$/, '');
    this.clocks = opts.clocks ?? systemLocalClocks;
    this.serverClock = new ServerClock(this.clocks);
  }

  /** The API server's time now: what admission and creationTimestamp use (see server-clock.ts). */
  serverNow(): DateTime {
    return this.serverClock.now();
  }

  serverTime(): ServerTimeEstimate {
    return this.serverClock.estimate();
  }

  /** The earliest the API server's time can be now: what lapses are decided on (never early). */
  serverNotBefore(): DateTime {
    return this.serverClock.notBefore();
  }

  /**
   * Narrows the server clock estimate at start-up: a few cheap requests (GET /version) at
   * different sub-second phases (the Date header has whole seconds). Later responses keep it
   * narrow. It stops at the first failure (the estimate only stays wider; start-up reports the
   * unreachable API itself).
   */
  async calibrateClock(requests = 8, spacingMs = 137): Promise<void> {
    for (let i = 0; i < requests; i++) {
      try {
        await this.request('GET', '/version', { timeoutMs: 2000 });
      } catch {
        return;
      }
      // Not unref(): the caller waits for it, and nothing else may hold the process yet (--http-port 0).
      await new Promise((r) => setTimeout(r, spacingMs));
    }
  }

  /**
   * One GET /version every `intervalMs`, so the estimate is corrected soon after a suspend (the
   * monotonic clock stops, the server's does not) even when nothing else is sent: watch streams
   * carry no Date header. Returns the function that stops it.
   */
  keepClockFresh(intervalMs = 10_000): () => void {
    const timer = setInterval(
      () => void this.request('GET', '/version', { timeoutMs: 5000 }).catch(() => undefined),
      intervalMs,
    );
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * The connection pool: client-node's TLS settings for the kubeconfig (as its own dispatcher
   * uses them), through a connector that records every socket it opens, so close() can end one
   * still connecting. Through a proxy (proxy-url), client-node's own dispatcher.
   *
   * HTTP/1.1, one connection per request in flight (undici 8 would negotiate HTTP/2 and put every
   * watch, LIST page and write on one connection behind 256 KiB stream windows): at 50,000 pods
   * that took a quarter off the LIST and raised the write rate (bench/FINDINGS.md, "transport").
   */
  private async pool(ctx: RequestContext): Promise<Dispatcher | undefined> {
    const tls: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(tls);
    const options = this.kc.createDispatcherOptions(this.kc.getCurrentCluster(), tls as https.AgentOptions);
    if (options.type !== 'agent' && options.type !== 'none') return ctx.getDispatcher();
    const connect = options.type === 'agent' ? options.connect : { keepAlive: true, keepAliveInitialDelay: 30_000 };
    // undici's connector returns the socket it opens (its type says void).
    const connector = buildConnector({ ...connect, allowH2: false } as buildConnector.BuildOptions) as unknown as (
      ...args: Parameters<buildConnector.connector>
    ) => Socket | undefined;
    return new Agent({
      allowH2: false,
      connect: (opts, callback) => {
        const socket = connector(opts, callback);
        if (socket) {
          this.sockets.add(socket);
          socket.once('close', () => this.sockets.delete(socket));
        }
        return socket;
      },
    });
  }

  /**
   * Closes every connection of this client at once, one still connecting included: an aborted
   * request ends at once with its connection, but undici would keep a connection it was still
   * opening (a TLS handshake a server does not answer) until its own 10 s connect timeout. A
   * command-line run calls it when done, so nothing it started outlives it. Requests after it
   * open new connections.
   */
  async close(): Promise<void> {
    const dispatcher = this.dispatcher;
    this.dispatcher = undefined;
    this.authCache = undefined;
    for (const socket of this.sockets) socket.destroy();
    await dispatcher?.destroy().catch(() => undefined);
  }

  onRequest(observer: RequestObserver): void {
    this.observers.push(observer);
  }

  /**
   * Auth headers and one shared keep-alive dispatcher. client-node rebuilds both (a new undici
   * Agent included) on every call, so they are computed at most every 30 s: rotating tokens
   * (in-cluster files, exec plugins) are picked up within that.
   */
  private async auth(
    url: string,
    method: string,
  ): Promise<{ headers: Record<string, string>; dispatcher?: Dispatcher }> {
    if (!this.authCache || Date.now() > this.authCache.until) {
      const ctx = new RequestContext(url, method as (typeof HttpMethod)[keyof typeof HttpMethod]);
      await this.kc.applySecurityAuthentication(ctx);
      this.dispatcher ??= await this.pool(ctx);
      this.authCache = { headers: ctx.getHeaders(), until: Date.now() + 30_000 };
    }
    // Identity encoding: the API server would gzip every large LIST page and watch stream, which
    // costs both sides CPU for no gain on a cluster network (client-go's DisableCompression).
    return { headers: { ...this.authCache.headers, 'Accept-Encoding': 'identity' }, dispatcher: this.dispatcher };
  }

  url(path: string, query?: RequestOptions['query']): string {
    const u = new URL(this.server + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) u.searchParams.set(k, String(v));
    return u.toString();
  }

  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = this.url(path, opts.query);
    const { headers, dispatcher } = await this.auth(url, method);
    headers['Accept'] = opts.accept ?? 'application/json';
    headers['User-Agent'] = 'hostns-operator';
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['Content-Type'] = opts.contentType ?? 'application/json';
    }
    const deadline = new Deadline(opts.timeoutMs ?? 30_000, opts.signal);
    let status = 0;
    try {
      const sent = this.clocks.monotonicMs();
      const res = await undiciRequest(url, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body,
        dispatcher,
        signal: deadline.signal,
      }).catch(fetchLike(deadline.signal));
      const responseHeaders = headerReader(res.headers);
      this.serverClock.observe(responseHeaders.get('date'), sent, this.clocks.monotonicMs());
      status = res.statusCode;
      opts.onHeaders?.(responseHeaders);
      const text = await res.body.text().catch(fetchLike(deadline.signal));
      let json: unknown = undefined;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = text;
      }
      if (status >= 400) {
        const s = (json ?? {}) as { reason?: string; message?: string };
        throw new ApiError(
          status,
          s.reason ?? '',
          `${method} ${path}: ${status} ${s.message ?? text.slice(0, 200)}`,
          json,
        );
      }
      return json as T;
    } finally {
      deadline.clear();
      for (const o of this.observers) o(method, path, status);
    }
  }

  /**
   * A watch stream: calls `onEvent` per JSON line until the server closes, the signal aborts, or
   * nothing (not even a bookmark) arrives for `idleMs`. Resolves on a clean end, rejects on error.
   */
  async watch(
    path: string,
    query: RequestOptions['query'],
    onEvent: WatchEventHandler,
    signal: AbortSignal,
    idleMs: number,
    onOpen?: () => void,
    accept?: string,
  ): Promise<void> {
    const url = this.url(path, { ...query, watch: true });
    const { headers, dispatcher } = await this.auth(url, 'GET');
    headers['Accept'] = accept ?? 'application/json';
    headers['User-Agent'] = 'hostns-operator';
    const idle = new AbortController();
    let timer = setTimeout(() => idle.abort(new Error(`watch ${path}: nothing received for ${idleMs} ms`)), idleMs);
    const reset = () => {
      clearTimeout(timer);
      timer = setTimeout(() => idle.abort(new Error(`watch ${path}: nothing received for ${idleMs} ms`)), idleMs);
    };
    try {
      const sent = this.clocks.monotonicMs();
      const both = AbortSignal.any([signal, idle.signal]);
      const res = await undiciRequest(url, { method: 'GET', headers, dispatcher, signal: both }).catch(fetchLike(both));
      this.serverClock.observe(headerReader(res.headers).get('date'), sent, this.clocks.monotonicMs());
      for (const o of this.observers) o('WATCH', path, res.statusCode);
      if (res.statusCode !== 200) {
        const text = await res.body.text().catch(fetchLike(both));
        let json: { reason?: string; message?: string } = {};
        try {
          json = JSON.parse(text);
        } catch {
          /* not JSON */
        }
        throw new ApiError(
          res.statusCode,
          json.reason ?? '',
          `watch ${path}: ${res.statusCode} ${json.message ?? text.slice(0, 200)}`,
          json,
        );
      }
      onOpen?.();
      // UTF-8 decoded by the stream: a character split across chunks is held back until complete.
      res.body.setEncoding('utf8');
      let buffered = '';
      for await (const chunk of res.body as AsyncIterable<string>) {
        reset();
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          let ev: { type: string; object: unknown };
          try {
            ev = JSON.parse(line);
          } catch {
            continue; // a torn line cannot be trusted; the next relist repairs anything missed
          }
          onEvent(ev);
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (idle.signal.aborted) throw idle.signal.reason;
      if (err instanceof ApiError) throw err;
      return fetchLike(signal)(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Response headers (lower-case names, repeated ones as arrays) read like fetch's Headers. */
function headerReader(headers: Record<string, string | string[] | undefined>): { get(name: string): string | null } {
  return {
    get(name) {
      const v = headers[name.toLowerCase()];
      return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

/**
 * Network failures as fetch reported them (TypeError 'fetch failed', the cause inside), so that
 * classification (api-errors.ts) and messages (errors.ts) read them as before. An abort (the
 * deadline, the caller's signal) rejects with the signal's reason, as fetch did.
 */
function fetchLike(signal: AbortSignal) {
  return (err: unknown): never => {
    if (signal.aborted) throw signal.reason;
    if (
      err instanceof Error &&
      (err instanceof ApiError || (err instanceof TypeError && err.message === 'fetch failed'))
    )
      throw err;
    throw new TypeError('fetch failed', { cause: err });
  };
}

/**
 * A request's deadline and its caller's signal (a leader's term) as one signal: one timer and one
 * listener per request, removed when it ends (AbortSignal.timeout + AbortSignal.any per request
 * cost more and keep their listeners until collected). The reasons are theirs: a TimeoutError
 * DOMException for the deadline, the caller's reason for its abort.
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly caller?: AbortSignal;
  private readonly onAbort = () => this.controller.abort(this.caller!.reason);
  readonly signal: AbortSignal = this.controller.signal;

  constructor(timeoutMs: number, caller?: AbortSignal) {
    this.caller = caller;
    // Whole milliseconds, as AbortSignal.timeout took them.
    this.timer = setTimeout(
      () => this.controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      Math.max(1, Math.ceil(timeoutMs)),
    );
    this.timer.unref();
    if (caller?.aborted) this.controller.abort(caller.reason);
    else caller?.addEventListener('abort', this.onAbort, { once: true });
  }

  clear(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onAbort);
  }
}
