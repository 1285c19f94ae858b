// The operator as a child process, reached through its HTTP port: the one helper the tests
// (test/harness/operator-process.ts), the bench and anything else that runs `node src/main.ts`
// (or the compiled `dist/main.js`) share. Spawn, wait for /readyz, read /metrics, stop, and read
// the process's memory from /proc as the kernel sees it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

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

/** GET http://127.0.0.1:port/path with a deadline; never follows redirects. */
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

/**
 * Sum of a Prometheus metric's samples whose label block contains `labels` (a substring, e.g.
 * `verb="PATCH"`), or undefined when no sample matches.
 */
export function metricSum(text: string, name: string, labels = ''): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name || !(m[2] ?? '').includes(labels)) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

/** Resident memory of a process from /proc/<pid>/status: now (VmRSS) and its peak (VmHWM), bytes. */
export function processMemory(pid: number | undefined): { rss: number; peakRss: number } | undefined {
  if (!pid) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    const rss = kib('VmRSS');
    const peakRss = kib('VmHWM');
    return Number.isFinite(rss) && Number.isFinite(peakRss) ? { rss, peakRss } : undefined;
  } catch {
    return undefined;
  }
}

export interface OperatorProcessOptions {
  kubeconfig: string;
  /** Operator flags after the fixed --kubeconfig, --http-port and --log-level. */
  args?: string[];
  /** Node flags before the entry point (e.g. --cpu-prof, --max-old-space-size=...). */
  nodeArgs?: string[];
  /** `src/main.ts` (type-stripped, the default) or `dist/main.js` (compiled: the production form). */
  entry?: string;
  /** Environment on top of this process's (e.g. NODE_OPTIONS, MALLOC_ARENA_MAX). */
  env?: Record<string, string>;
  logLevel?: string;
  /** The node binary (default: the one running this process). */
  node?: string;
  /** Append the operator's output to this file; without it, the output is kept in `log`. */
  logFile?: string;
}

export class OperatorProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Date.now() just before the spawn. */
  readonly startedAt: number;
  /** When /readyz first answered 200 (after waitReady). */
  readyAt?: number;
  /** The operator's stdout and stderr, when no logFile was given. */
  log = '';
  private readonly exited: Promise<void>;

  private constructor(child: ChildProcess, port: number, startedAt: number) {
    this.child = child;
    this.port = port;
    this.startedAt = startedAt;
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  /** Spawns the operator; it is not ready yet (see waitReady). */
  static async start(o: OperatorProcessOptions): Promise<OperatorProcess> {
    const port = await freePort();
    const startedAt = Date.now();
    const child = spawn(
      o.node ?? process.execPath,
      [
        ...(o.nodeArgs ?? []),
        o.entry ?? 'src/main.ts',
        '--kubeconfig',
        o.kubeconfig,
        '--http-port',
        String(port),
        '--log-level',
        o.logLevel ?? 'info',
        ...(o.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } },
    );
    const op = new OperatorProcess(child, port, startedAt);
    if (o.logFile) {
      const out = createWriteStream(o.logFile, { flags: 'a' });
      child.stdout!.pipe(out);
      child.stderr!.pipe(out);
    } else {
      child.stdout!.on('data', (d) => (op.log += d));
      child.stderr!.on('data', (d) => (op.log += d));
    }
    return op;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Polls /readyz every 100 ms until it answers 200; returns (and records) when it did. */
  async waitReady(timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`operator exited (code ${this.child.exitCode}) before /readyz answered 200`);
      const r = await httpGet(this.port, '/readyz', 2000).catch(() => undefined);
      if (r?.status === 200) return (this.readyAt = Date.now());
      if (Date.now() > deadline) throw new Error(`operator /readyz not 200 within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }

  get(path: string, timeoutMs?: number): Promise<{ status: number; text: string }> {
    return httpGet(this.port, path, timeoutMs);
  }

  /** Sum of a metric over the label sets whose block contains `labels`; 0 when absent. */
  async metric(name: string, labels = ''): Promise<number> {
    return metricSum((await this.get('/metrics')).text, name, labels) ?? 0;
  }

  /** Resident memory now and at its peak, from /proc (undefined once it exited or without /proc). */
  memory(): { rss: number; peakRss: number } | undefined {
    return processMemory(this.child.pid);
  }

  /** Sends `signal` and returns at once (SIGSTOP / SIGCONT pause and resume the process). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child.kill(signal);
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    await this.exited;
  }

  /** SIGTERM (a graceful shutdown), then SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.kill('SIGTERM');
    clearTimeout(timer);
  }
}
