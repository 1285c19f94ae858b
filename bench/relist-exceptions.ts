// A relist after a 410 on a cluster holding many exceptions, in the operator's production form
// (dist/, config/manager's Node options and flags). A full `npm run bench` once left 9,614
// exceptions behind its lapse phases, and the operator ran out of its 128 MiB heap relisting them
// after the relist phase restarted kube-apiserver: it held the cached exceptions and a fresh copy
// of each at once. This reproduces that alone: `--exceptions` exceptions (their statuses written by
// the operator), then for each `--entry` in turn: start it, wait until it is quiet, restart
// kube-apiserver with etcd compacted meanwhile (every watch answered 410), and follow the relist.
// Prints one JSON line per entry: survived or not, heap and RSS before, peaks during.
//
//   node bench/relist-exceptions.ts --exceptions 9600 --entries dist-old/main.js,dist/main.js
import { parseArgs } from 'node:util';
import { ControlPlane } from '../tools/controlplane/controlplane.ts';
import { httpGet, metricSum, OperatorProcess, processMemory } from '../tools/operator-process.ts';
import { ensureNamespaces, exceptionManifest, rfc3339Seconds } from './fixture.ts';
import { installCrds } from '../tools/controlplane/crds.ts';
import { Api, mapConcurrent, withRetry } from './minimal-client.ts';
import { productionForm } from './production.ts';

const { values } = parseArgs({
  options: {
    exceptions: { type: 'string', default: '9600' },
    entries: { type: 'string', default: 'dist/main.js' },
  },
});
const count = Number(values.exceptions);
const perNamespace = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`[relist-exceptions] ${s}\n`);

const cp = await ControlPlane.start({});
try {
  installCrds(cp.kubeconfigPath);
  const api = Api.fromKubeconfig(cp.kubeconfigPath, 64);
  const namespaces = Array.from({ length: Math.ceil(count / perNamespace) }, (_, n) => `relist-exc-${n}`);
  await ensureNamespaces(api, namespaces);
  const expiresAt = rfc3339Seconds(Date.now() + 30 * 86_400_000);
  const t0 = Date.now();
  await mapConcurrent(
    Array.from({ length: count }, (_, i) => i),
    64,
    (i) => {
      const namespace = namespaces[Math.floor(i / perNamespace)]!;
      const body = exceptionManifest({ namespace, name: `e-${i}`, selector: { app: `a${i}` }, expiresAt });
      return withRetry(() =>
        api.json('POST', `/apis/hostns.io/v1alpha1/namespaces/${namespace}/hostnamespaceexceptions`, body),
      );
    },
  );
  log(`${count} exceptions in ${namespaces.length} namespaces created in ${Date.now() - t0} ms`);

  const form = productionForm();
  for (const entry of values.entries.split(',')) {
    const op = await OperatorProcess.start({
      kubeconfig: cp.kubeconfigPath,
      entry,
      nodeArgs: form.nodeArgs,
      env: form.env,
      args: form.args.filter((a) => !a.startsWith('--leader-elect')),
      logLevel: 'warn',
    });
    await op.waitReady(300_000);
    // Quiet: every exception has the status this operator writes, and nothing was written for 5 s.
    let statuses = 0;
    for (;;) {
      statuses = 0;
      await api.listPaged<{ status?: { observedGeneration?: number } }>(
        '/apis/hostns.io/v1alpha1/hostnamespaceexceptions',
        (items) => (statuses += items.filter((e) => e.status?.observedGeneration).length),
      );
      if (statuses >= count) break;
      await sleep(2000);
    }
    await sleep(5000);
    const metrics = async () => (await httpGet(op.port, '/metrics', 5000)).text;
    const before = await metrics();
    const heapBefore = metricSum(before, 'nodejs_heap_size_used_bytes') ?? NaN;
    const listsBefore = metricSum(before, 'hostns_cache_lists_total', 'resource="hostnamespaceexceptions"') ?? 0;
    const rssBefore = processMemory(op.child.pid)?.rss ?? NaN;
    let rssPeak = rssBefore;
    let heapPeak = heapBefore;
    const sampler = setInterval(() => {
      const m = processMemory(op.child.pid);
      if (m && m.rss > rssPeak) rssPeak = m.rss;
    }, 50);
    const restartedAt = await cp.restartApiserver(async () => void (await cp.compactEtcd()));
    let relisted = false;
    const deadline = Date.now() + 300_000;
    while (op.running && Date.now() < deadline) {
      try {
        const text = await metrics();
        heapPeak = Math.max(heapPeak, metricSum(text, 'nodejs_heap_size_used_bytes') ?? 0);
        if ((metricSum(text, 'hostns_cache_lists_total', 'resource="hostnamespaceexceptions"') ?? 0) > listsBefore) {
          relisted = true;
          break;
        }
      } catch {
        // the operator may be busy or gone: the loop condition tells
      }
      await sleep(200);
    }
    clearInterval(sampler);
    const survived = op.running;
    const mib = (b: number) => Math.round(b / 2 ** 20);
    process.stdout.write(
      `${JSON.stringify({
        entry,
        exceptions: count,
        statuses,
        relisted,
        survived,
        secondsToRelist: relisted ? (Date.now() - restartedAt) / 1000 : undefined,
        heapBeforeMiB: mib(heapBefore),
        heapPeakMiB: mib(heapPeak),
        rssBeforeMiB: mib(rssBefore),
        rssPeakMiB: mib(rssPeak),
        ...(survived ? {} : { lastOutput: op.log.slice(-400) }),
      })}\n`,
    );
    await op.stop();
  }
  api.close();
} finally {
  await cp.stop();
}
