// What every bench phase shares: the context, the operator process, resetting and counting.
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { AuditLog } from '../audit.ts';
import { countByVerbResource, OPERATOR_USER, WRITE_VERBS, type AuditRecord } from '../audit.ts';
import { FLOOR_GRANTS_LABEL, LABEL_EXCEPTION, LABEL_VIOLATION } from '../fixture.ts';
import type { Api } from '../minimal-client.ts';
import { HttpError, mapConcurrent, withRetry } from '../minimal-client.ts';
import { type ExceptionObj, type PodObj } from '../observe.ts';
import { type ControlPlanePids } from '../procstat.ts';
import type { ProductionForm } from '../production.ts';
import { OperatorProcess } from '../../tools/operator-process.ts';

/** The project's Node (v24), for the operator and every bench child process. */
export const NODE = join(process.cwd(), 'node_modules/.bin/node');
/** Namespace of the operator's Lease (config/manager runs it with --leader-elect). */
export const OPERATOR_NAMESPACE = 'hostns-system';

export interface BenchContext {
  api: Api;
  adminKubeconfig: string;
  operatorKubeconfig: string;
  floorKubeconfig: string;
  /** The second replica's user (failover phase). */
  standbyKubeconfig: string;
  audit: AuditLog;
  workDir: string;
  patchConcurrency: number;
  /** kube-apiserver and etcd pids, to meter the CPU each phase costs them. */
  controlPlane: ControlPlanePids;
  /** How the operator runs: config/manager's entry, Node options, environment and flags. */
  form: ProductionForm;
  /** Flags on top of the form's (e.g. --max-concurrent-reconciles, extra exempt namespaces). */
  operatorArgs: string[];
  /** Node flags on top of the form's (e.g. --cpu-prof while profiling). */
  operatorNodeArgs: string[];
  /** Namespaces the operator exempts on top of the form's (where the steady floor runs). */
  exemptNamespaces: string[];
  log: (msg: string) => void;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const EX_PATH = '/apis/hostns.io/v1alpha1';

/** The bench's operator replica; the failover phase runs a second one under its own user and identity. */
export const OPERATOR_IDENTITY = 'hostns-operator-bench';

/**
 * The operator in its production form (ctx.form) plus --expose-gc, so /debug/heap can force a
 * collection before it reports the heap (the flag only exposes gc(); no limit changes).
 */
export function startOperator(
  ctx: BenchContext,
  nodeArgs: string[] = ctx.operatorNodeArgs,
  replica: { kubeconfig: string; identity: string } = {
    kubeconfig: ctx.operatorKubeconfig,
    identity: OPERATOR_IDENTITY,
  },
): Promise<OperatorProcess> {
  return OperatorProcess.start({
    node: NODE,
    entry: ctx.form.entry,
    kubeconfig: replica.kubeconfig,
    logFile: join(ctx.workDir, 'operator.log'),
    logLevel: 'warn',
    args: operatorArgs(ctx),
    nodeArgs: [...ctx.form.nodeArgs, '--expose-gc', ...nodeArgs],
    env: { ...ctx.form.env, POD_NAMESPACE: OPERATOR_NAMESPACE, POD_NAME: replica.identity },
  });
}

/** Every namespace the operator exempts: the form's --exempt-namespaces and the bench's. */
export function exemptNamespacesOf(ctx: BenchContext): string[] {
  const exempt = ctx.form.args.find((a) => a.startsWith('--exempt-namespaces='))?.split('=')[1];
  return [...(exempt ? exempt.split(',') : []), ...ctx.exemptNamespaces];
}

/** The form's flags with the bench's: its exempt namespaces added, the log level set by the bench. */
function operatorArgs(ctx: BenchContext): string[] {
  const all = exemptNamespacesOf(ctx);
  return [
    ...ctx.form.args.filter((a) => !a.startsWith('--log-level') && !a.startsWith('--exempt-namespaces')),
    ...(all.length ? [`--exempt-namespaces=${all.join(',')}`] : []),
    ...ctx.operatorArgs,
  ];
}

/** The exact operator command line, for the report. */
export function operatorCommand(ctx: BenchContext): string {
  const env = Object.entries(ctx.form.env).map(([k, v]) => `${k}=${v} `);
  return `${env.join('')}node ${[...ctx.form.nodeArgs, '--expose-gc'].join(' ')} ${ctx.form.entry} --kubeconfig <operator user> --http-port <free> --log-level warn ${operatorArgs(ctx).join(' ')}`;
}

/** Runs a bench child process (node script) and parses its last stdout line as JSON. */
export function runChild<T>(args: string[], nodeArgs: string[] = []): Promise<{ result: T; wallMs: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('exit', (code) => {
      const wallMs = Date.now() - started;
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !last) return reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-1000)}`));
      resolve({ result: JSON.parse(last) as T, wallMs });
    });
  });
}

/** Puts the fixture back to "never reconciled": no operator marks, no status, no Events, no grants. */
export async function resetOperatorState(ctx: BenchContext): Promise<void> {
  const { api } = ctx;
  const marked: { namespace: string; name: string }[] = [];
  for (const sel of [LABEL_VIOLATION, LABEL_EXCEPTION]) {
    await api.listPaged<PodObj>(`/api/v1/pods?labelSelector=${encodeURIComponent(sel)}`, (items) => {
      for (const p of items) marked.push({ namespace: p.metadata.namespace, name: p.metadata.name });
    });
  }
  const strip = JSON.stringify({
    metadata: {
      labels: { [LABEL_VIOLATION]: null, [LABEL_EXCEPTION]: null },
      // The Event marker too: with it left, the operator would find each violation already announced.
      annotations: { 'hostns.io/violation': null, 'hostns.io/exceptions': null, 'hostns.io/violation-event': null },
    },
  });
  await mapConcurrent(marked, 64, (p) =>
    withRetry(() =>
      api.json('PATCH', `/api/v1/namespaces/${p.namespace}/pods/${p.name}`, strip, 'application/merge-patch+json'),
    ).catch((e) => {
      if (!(e instanceof HttpError && e.status === 404)) throw e;
    }),
  );
  const exceptions: ExceptionObj[] = [];
  await api.listPaged<ExceptionObj>(`${EX_PATH}/hostnamespaceexceptions`, (items) => exceptions.push(...items));
  await mapConcurrent(
    exceptions.filter((e) => e.status),
    64,
    (e) =>
      withRetry(() =>
        api.json(
          'PATCH',
          `${EX_PATH}/namespaces/${e.metadata.namespace}/hostnamespaceexceptions/${e.metadata.name}/status`,
          '{"status":null}',
          'application/merge-patch+json',
        ),
      ),
  );
  await api.raw('DELETE', `${EX_PATH}/hostnamespacegrantindexes/cluster`);
  const namespaces: string[] = [];
  await api.listPaged<{ metadata: { name: string } }>('/api/v1/namespaces', (items) =>
    namespaces.push(...items.map((n) => n.metadata.name)),
  );
  await mapConcurrent(namespaces, 16, (ns) =>
    withRetry(() => api.raw('DELETE', `${EX_PATH}/namespaces/${ns}/hostnamespacegrantsets/grants`)),
  );
  await mapConcurrent(namespaces, 16, (ns) =>
    withRetry(() => api.json('DELETE', `/apis/events.k8s.io/v1/namespaces/${ns}/events`)),
  );
  const floorGrants = encodeURIComponent(FLOOR_GRANTS_LABEL);
  await mapConcurrent(namespaces, 16, (ns) =>
    withRetry(() => api.json('DELETE', `/api/v1/namespaces/${ns}/configmaps?labelSelector=${floorGrants}`)),
  );
}

export async function countPods(api: Api): Promise<number> {
  let n = 0;
  await api.listPaged<PodObj>('/api/v1/pods', (items) => (n += items.length));
  return n;
}

/**
 * Deletes the namespaces whose name starts with one of `prefixes` (a phase's own: their exceptions,
 * pods and Events go with them) and waits until they are gone: a later phase then measures the
 * fixture it documents, not the thousands of exceptions an earlier one left (a full run once left
 * 9,614, and the relist phase measured them). Returns how many there were and whether all went.
 */
export async function deletePhaseNamespaces(
  api: Api,
  prefixes: readonly string[],
  timeoutMs = 600_000,
): Promise<{ deleted: number; gone: boolean }> {
  const names: string[] = [];
  await api.listPaged<{ metadata: { name: string } }>('/api/v1/namespaces', (items) => {
    for (const n of items) if (prefixes.some((p) => n.metadata.name.startsWith(p))) names.push(n.metadata.name);
  });
  return { deleted: names.length, gone: names.length === 0 || (await deleteNamespaces(api, names, timeoutMs)) };
}

export async function deleteNamespaces(api: Api, names: string[], timeoutMs: number): Promise<boolean> {
  await mapConcurrent(names, 16, (n) => api.raw('DELETE', `/api/v1/namespaces/${n}`));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const left = await Promise.all(
      names.map(async (n) => (await api.raw('GET', `/api/v1/namespaces/${n}`)).status !== 404),
    );
    if (!left.some(Boolean)) return true;
    await sleep(1000);
  }
  return false;
}

export function versionOf(bin: string): string {
  try {
    return execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim().split('\n')[0] ?? '';
  } catch {
    return 'unknown';
  }
}

/**
 * The operator's own writes and requests among audit records, by verb and resource. Lease renewals
 * (leader election, one every retry period) are counted apart: they are not reconcile writes.
 */
export function operatorRecords(records: AuditRecord[]) {
  const mine = records.filter((r) => r.user === OPERATOR_USER);
  return {
    writes: countByVerbResource(mine, (r) => WRITE_VERBS.has(r.verb) && r.resource !== 'leases'),
    leaseWrites: mine.filter((r) => WRITE_VERBS.has(r.verb) && r.resource === 'leases').length,
    requests: countByVerbResource(mine),
  };
}

/**
 * Calls `send(i)` for i < `count` at `rate` per second, without waiting for the answers; a call due
 * while `maxInFlight` are unanswered is skipped and counted (the API server fell behind the rate,
 * which must not skew the pacing). Resolves once every call sent was answered.
 */
export async function paced(
  rate: number,
  count: number,
  maxInFlight: number,
  send: (i: number) => Promise<void>,
): Promise<{ skipped: number; seconds: number }> {
  const started = Date.now();
  let skipped = 0;
  let inFlight = 0;
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    // Always yield, even when behind: answers are only counted while the loop waits.
    await sleep(Math.max(0, started + (i * 1000) / rate - Date.now()));
    if (inFlight >= maxInFlight) {
      skipped++;
      continue;
    }
    inFlight++;
    pending.push(send(i).finally(() => inFlight--));
  }
  await Promise.all(pending);
  return { skipped, seconds: (Date.now() - started) / 1000 };
}

/** Trial `t`'s floor and operator runs, one after the other: the floor first in even trials. */
export async function inTrialOrder<F, O>(
  t: number,
  floor: () => Promise<F>,
  operator: () => Promise<O>,
): Promise<{ order: 'floor first' | 'operator first'; floor: F; operator: O }> {
  if (t % 2 === 0) {
    const f = await floor();
    return { order: 'floor first', floor: f, operator: await operator() };
  }
  const o = await operator();
  return { order: 'operator first', floor: await floor(), operator: o };
}

/**
 * Waits until the operator has sent no write but its Lease renewals for `quietMs` (at most
 * `maxMs`), from the audit log; returns how long it took.
 */
export async function waitOperatorQuiet(ctx: BenchContext, quietMs: number, maxMs: number): Promise<number> {
  const started = Date.now();
  let lastWrite = Date.now();
  while (Date.now() - started < maxMs) {
    await sleep(1000);
    const w = ctx.audit
      .readNew()
      .filter((r) => r.user === OPERATOR_USER && WRITE_VERBS.has(r.verb) && r.resource !== 'leases');
    if (w.length > 0) lastWrite = Date.now();
    if (Date.now() - lastWrite >= quietMs) break;
  }
  return Date.now() - started;
}
