// A deliberately minimal Kubernetes client for the bench: node:https with keep-alive, JSON in and
// out, line-delimited watches. It is the "minimal client" of the floors, and the bench's own
// observer, so nothing in it may depend on the operator's code.
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface Credentials {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Reads server + client certificate from a kubeconfig with inline *-data fields (ours). */
export function readKubeconfig(path: string): Credentials {
  const doc = parseYaml(readFileSync(path, 'utf8')) as {
    'current-context'?: string;
    contexts?: { name: string; context: { cluster: string; user: string } }[];
    clusters?: { name: string; cluster: { server: string; 'certificate-authority-data'?: string } }[];
    users?: { name: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string } }[];
  };
  const ctx = doc.contexts?.find((c) => c.name === doc['current-context'])?.context;
  const cluster = doc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster;
  const user = doc.users?.find((u) => u.name === ctx?.user)?.user;
  const b64 = (v: string | undefined, field: string) => {
    if (!v) throw new Error(`${path}: ${field} is required (the bench reads inline certificate data only)`);
    return Buffer.from(v, 'base64');
  };
  if (!cluster?.server) throw new Error(`${path}: clusters[].cluster.server is required`);
  return {
    server: cluster.server,
    ca: b64(cluster['certificate-authority-data'], 'certificate-authority-data'),
    cert: b64(user?.['client-certificate-data'], 'client-certificate-data'),
    key: b64(user?.['client-key-data'], 'client-key-data'),
  };
}

export class HttpError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 300)}`);
    this.status = status;
    this.body = body;
  }
}

export interface WatchEvent<T = any> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface WatchHandle {
  /** Resolves when the server sent its first byte (the watch is registered). */
  started: Promise<void>;
  /** Resolves when the stream ends (server close, error or stop()). */
  done: Promise<void>;
  stop(): void;
}

export class Api {
  readonly creds: Credentials;
  private readonly agent: Agent;

  constructor(creds: Credentials, maxSockets = 64) {
    this.creds = creds;
    this.agent = new Agent({ keepAlive: true, maxSockets, ca: creds.ca, cert: creds.cert, key: creds.key });
  }

  static fromKubeconfig(path: string, maxSockets = 64): Api {
    return new Api(readKubeconfig(path), maxSockets);
  }

  /** One request; resolves with the parsed JSON body (text for non-JSON), rejects with HttpError on >= 300. */
  raw(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<{ status: number; text: string }> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.creds.server}${path}`,
        {
          method,
          agent: this.agent,
          headers: {
            Accept: accept,
            ...(payload !== undefined
              ? { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  async json<T = any>(method: string, path: string, body?: unknown, contentType?: string, accept?: string): Promise<T> {
    const { status, text } = await this.raw(method, path, body, contentType, accept);
    if (status >= 300) throw new HttpError(method, path, status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T = any>(path: string): Promise<T> {
    return this.json<T>('GET', path);
  }

  /** Paged LIST: calls onPage with each page's items; returns the list's resourceVersion. */
  async listPaged<T = any>(path: string, onPage: (items: T[]) => void, limit = 500): Promise<string> {
    let cont: string | undefined;
    let rv: string;
    const sep = path.includes('?') ? '&' : '?';
    do {
      const page = await this.get<{ items: T[]; metadata: { continue?: string; resourceVersion: string } }>(
        `${path}${sep}limit=${limit}${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`,
      );
      onPage(page.items);
      rv = page.metadata.resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return rv;
  }

  /**
   * A watch from `resourceVersion` (empty: "from now", via a list first is the caller's job).
   * Events are delivered as parsed JSON, with the local time they arrived.
   */
  watch<T = any>(
    path: string,
    resourceVersion: string,
    onEvent: (ev: WatchEvent<T>, arrivedAt: number) => void,
  ): WatchHandle {
    const sep = path.includes('?') ? '&' : '?';
    const url = `${this.creds.server}${path}${sep}watch=true&allowWatchBookmarks=true${resourceVersion ? `&resourceVersion=${resourceVersion}` : ''}&timeoutSeconds=3600`;
    let startedResolve!: () => void;
    let startedReject!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => ((startedResolve = res), (startedReject = rej)));
    let doneResolve!: () => void;
    const done = new Promise<void>((res) => (doneResolve = res));
    // A dedicated agent-less connection: a watch must not hold one of the pooled sockets.
    const req = request(
      url,
      { method: 'GET', ca: this.creds.ca, cert: this.creds.cert, key: this.creds.key, agent: false },
      (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => {
            startedReject(new HttpError('WATCH', path, res.statusCode ?? 0, text));
            doneResolve();
          });
          return;
        }
        startedResolve();
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const arrivedAt = Date.now();
          buf += chunk;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (line.trim()) onEvent(JSON.parse(line) as WatchEvent<T>, arrivedAt);
          }
        });
        res.on('end', () => doneResolve());
        res.on('error', () => doneResolve());
        res.on('close', () => doneResolve());
      },
    );
    req.on('error', (err) => {
      startedReject(err);
      doneResolve();
    });
    req.end();
    started.catch(() => {});
    return { started, done, stop: () => req.destroy() };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Runs `task` over `items` with at most `concurrency` in flight; returns results in order. */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await task(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return out;
}

/** Retries `fn` on 429/5xx/connection resets (the API server sheds load at scale). */
export async function withRetry<R>(fn: () => Promise<R>, attempts = 8): Promise<R> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 0;
      const retriable = status === 429 || status >= 500 || (!(err instanceof HttpError) && i < attempts);
      if (!retriable || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** i));
    }
  }
}
