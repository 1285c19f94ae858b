// Counting what a client sent, from the API server's side: an audit policy that records, at
// Metadata level, every request of the bench's named users (the operator and the floor each get
// their own client certificate) and nothing else. Independent of what the operator reports.
import { closeSync, openSync, readSync, statSync, existsSync } from 'node:fs';

export const OPERATOR_USER = 'hostns-bench-operator';
export const FLOOR_USER = 'hostns-bench-floor';
/** The second operator replica of the failover phase, so that its requests are told apart. */
export const STANDBY_USER = 'hostns-bench-standby';

export function auditPolicyYaml(users: string[]): string {
  return [
    'apiVersion: audit.k8s.io/v1',
    'kind: Policy',
    'omitStages: ["RequestReceived"]',
    'rules:',
    '- level: Metadata',
    `  users: [${users.map((u) => JSON.stringify(u)).join(', ')}]`,
    '- level: None',
    '',
  ].join('\n');
}

export interface AuditRecord {
  auditID: string;
  verb: string;
  user: string;
  resource: string;
  subresource?: string;
  code?: number;
  receivedAt: number;
}

/** Reads the audit log from a byte offset; one record per request (its last stage wins). */
export class AuditLog {
  readonly path: string;
  private offset = 0;
  private partial = '';

  constructor(path: string) {
    this.path = path;
  }

  /** Moves the cursor to the end: later reads return only requests logged from now on. */
  skipToEnd(): void {
    this.partial = '';
    this.offset = existsSync(this.path) ? statSync(this.path).size : 0;
  }

  readNew(): AuditRecord[] {
    if (!existsSync(this.path)) return [];
    const size = statSync(this.path).size;
    if (size <= this.offset) return [];
    const fd = openSync(this.path, 'r');
    const buf = Buffer.alloc(size - this.offset);
    readSync(fd, buf, 0, buf.length, this.offset);
    closeSync(fd);
    this.offset = size;
    const text = this.partial + buf.toString('utf8');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const byId = new Map<string, AuditRecord>();
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as {
        auditID: string;
        verb: string;
        user?: { username?: string };
        objectRef?: { resource?: string; subresource?: string };
        requestURI?: string;
        responseStatus?: { code?: number };
        requestReceivedTimestamp?: string;
      };
      byId.set(e.auditID, {
        auditID: e.auditID,
        verb: e.verb,
        user: e.user?.username ?? '',
        // Non-resource requests (discovery, /version) have no objectRef: name them by path.
        resource: e.objectRef?.resource ?? (e.requestURI ?? '').split('?')[0]!,
        subresource: e.objectRef?.subresource,
        code: e.responseStatus?.code,
        receivedAt: e.requestReceivedTimestamp ? Date.parse(e.requestReceivedTimestamp) : 0,
      });
    }
    return [...byId.values()];
  }
}

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Counts by "verb resource[/subresource]", e.g. {"patch pods": 1000, "create events": 1000}. */
export function countByVerbResource(
  records: readonly AuditRecord[],
  filter: (r: AuditRecord) => boolean = () => true,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (!filter(r)) continue;
    const key = `${r.verb} ${r.resource}${r.subresource ? `/${r.subresource}` : ''}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

export function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((s, v) => s + v, 0);
}

/** Sums `apiserver_request_total` by verb from a Prometheus text exposition (cross-check). */
export function requestTotalsByVerb(metricsText: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of metricsText.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (verb && Number.isFinite(value)) out[verb] = (out[verb] ?? 0) + value;
  }
  return out;
}

export function deltaByKey(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const d = (after[k] ?? 0) - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
