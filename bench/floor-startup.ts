// The startup floor, run as its own process exactly as the operator is: a minimal client that
// does a paged LIST of every pod and one metadata merge PATCH per pod that needs a label (every
// pod using a host namespace), `--concurrency` PATCHes in flight. It prints one JSON line.
//
//   node bench/floor-startup.ts --kubeconfig <path> --concurrency 16 --value <run-unique>
import { parseArgs } from 'node:util';
import { Api, mapConcurrent, withRetry } from './minimal-client.ts';

const { values } = parseArgs({
  options: {
    kubeconfig: { type: 'string' },
    concurrency: { type: 'string', default: '16' },
    value: { type: 'string', default: String(Date.now()) },
    'page-size': { type: 'string', default: '500' },
  },
});
if (!values.kubeconfig) throw new Error('--kubeconfig is required');
const concurrency = Number(values.concurrency);
if (!(concurrency >= 1)) throw new Error(`--concurrency must be a positive number, got ${values.concurrency}`);

const startedAt = Date.now();
const api = Api.fromKubeconfig(values.kubeconfig, concurrency);
const needLabel: { namespace: string; name: string }[] = [];
let pods = 0;
interface PodLite {
  metadata: { namespace: string; name: string };
  spec?: { hostNetwork?: boolean; hostPID?: boolean; hostIPC?: boolean };
}
await api.listPaged<PodLite>(
  '/api/v1/pods',
  (items) => {
    pods += items.length;
    for (const p of items) {
      if (p.spec?.hostNetwork || p.spec?.hostPID || p.spec?.hostIPC)
        needLabel.push({ namespace: p.metadata.namespace, name: p.metadata.name });
    }
  },
  Number(values['page-size']),
);
const listedAt = Date.now();
const patch = JSON.stringify({ metadata: { labels: { 'bench.hostns.io/floor': values.value } } });
await mapConcurrent(needLabel, concurrency, (p) =>
  withRetry(() =>
    api.json('PATCH', `/api/v1/namespaces/${p.namespace}/pods/${p.name}`, patch, 'application/merge-patch+json'),
  ),
);
const doneAt = Date.now();
api.close();
const cpu = process.cpuUsage();
process.stdout.write(
  `${JSON.stringify({ pods, patched: needLabel.length, listMs: listedAt - startedAt, patchMs: doneAt - listedAt, inProcessMs: doneAt - startedAt, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`,
);
