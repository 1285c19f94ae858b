// The operator as a black box: `node --expose-gc src/main.ts`, reached through its HTTP port.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const NODE = join(process.cwd(), 'node_modules/.bin/node');
export const OPERATOR_ENTRY = 'src/main.ts';

export function operatorExists(): boolean {
  return existsSync(OPERATOR_ENTRY);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export function httpGet(port: number, path: string, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${path}: timed out`)));
    req.end();
  });
}

export interface OperatorOptions {
  kubeconfig: string;
  logFile: string;
  extraArgs?: string[];
  /** Node flags, e.g. --cpu-prof --cpu-prof-dir=... */
  nodeArgs?: string[];
}

export interface HeapReport {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  cachedPods: number;
  gcForced: boolean;
}

export class OperatorProcess {
  readonly port: number;
  readonly startedAt: number;
  readonly child: ChildProcess;
  readyAt?: number;
  private exited: Promise<number | null>;

  private constructor(port: number, child: ChildProcess) {
    this.port = port;
    this.child = child;
    this.startedAt = Date.now();
    this.exited = new Promise((r) => child.once('exit', (code) => r(code)));
  }

  static async start(o: OperatorOptions): Promise<OperatorProcess> {
    const port = await freePort();
    const out = createWriteStream(o.logFile, { flags: 'a' });
    const child = spawn(
      NODE,
      [
        '--expose-gc',
        ...(o.nodeArgs ?? []),
        OPERATOR_ENTRY,
        '--kubeconfig',
        o.kubeconfig,
        '--http-port',
        String(port),
        '--log-level',
        'warn',
        ...(o.extraArgs ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.pipe(out);
    child.stderr.pipe(out);
    return new OperatorProcess(port, child);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls /readyz every 100 ms; records when it first answered 200. */
  async waitReady(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`operator exited (code ${this.child.exitCode}) before /readyz answered 200`);
      try {
        const r = await httpGet(this.port, '/readyz', 2000);
        if (r.status === 200) {
          this.readyAt = Date.now();
          return this.readyAt;
        }
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`operator /readyz not 200 within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async heap(): Promise<HeapReport> {
    const r = await httpGet(this.port, '/debug/heap', 60_000);
    if (r.status !== 200) throw new Error(`GET /debug/heap: HTTP ${r.status}: ${r.text.slice(0, 200)}`);
    return JSON.parse(r.text) as HeapReport;
  }

  async metrics(): Promise<string> {
    const r = await httpGet(this.port, '/metrics');
    return r.text;
  }

  /** SIGTERM, then SIGKILL after 15 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Sum of a Prometheus metric's samples (all label sets), or undefined when absent. */
export function metricSum(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) {
      const v = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (Number.isFinite(v)) sum = (sum ?? 0) + v;
    }
  }
  return sum;
}
