// The enforcement floor, as its own process: at `--at` (epoch ms) a minimal client takes every grant
// out of the grants object (the admission param) of each of `--namespaces`, one merge PATCH each,
// `--concurrency` in flight: what "expiresAt -> the param no longer grants" would take if a lapse
// reached admission only through a param write. Its connections are opened before `--at`. Prints one
// JSON line: when each write completed (ms after `--at`) and how late the first one started.
//
//   node bench/floor-param-update.ts --kubeconfig <path> --namespaces a,b --at 1790000000000 --concurrency 16
import { parseArgs } from 'node:util';
import { Api, mapConcurrent, withRetry } from './minimal-client.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    namespaces: { type: 'string' },
    at: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
  },
});
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const namespaces = (values.namespaces ?? '').split(',').filter(Boolean);
if (namespaces.length === 0) throw new Error('--namespaces is required (comma-separated)');
const at = Number(values.at);
const concurrency = Number(values.concurrency);
if (!(at > 0)) throw new Error(`--at: ${JSON.stringify(values.at)} is not a time in epoch milliseconds`);
if (!(concurrency >= 1)) throw new Error('--concurrency must be a positive number');

const api = Api.fromKubeconfig(values.kubeconfig, concurrency);
const path = (ns: string) => `/apis/hostns.io/v1alpha1/namespaces/${ns}/hostnamespacegrantsets/grants`;
// Warm: one read per namespace opens the pooled connections the writes will use.
await mapConcurrent(namespaces, concurrency, (ns) => api.get(path(ns)));
const lateMs = Math.max(0, Date.now() - at);
if (lateMs === 0) await new Promise((r) => setTimeout(r, at - Date.now()));
const startedAt = Date.now();
const doneAt = await mapConcurrent(namespaces, concurrency, async (ns) => {
  await withRetry(() => api.json('PATCH', path(ns), '{"spec":{"grants":[]}}', 'application/merge-patch+json'));
  return Date.now() - at;
});
api.close();
process.stdout.write(`${JSON.stringify({ namespaces: namespaces.length, lateMs, startedAt, doneAt })}\n`);
