// `node bench/scan-throughput.ts [--mb 50] [--heap 96]`: kubectl hostns scan on one large
// multi-document file against the floor of a plain YAML parse of the same file, each in its own
// process: wall time, throughput (MB/s) and peak RSS. Prints a Markdown section for RESULTS.md.
// The small-heap row shows memory does not grow with the file: the CLI's own modules (the
// Kubernetes client among them) take about 34 MB of heap before the scan starts.
// The file is generated (a mix of Deployments, DaemonSets and ConfigMaps; every 100th document is
// a workload that uses hostNetwork) into a temporary folder and removed afterwards.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { mb: { type: 'string', default: '50' }, heap: { type: 'string', default: '96' } },
});
const targetBytes = Number(values.mb) * 1024 * 1024;
const root = join(import.meta.dirname, '..');

function documentAt(i: number): string {
  const labels = `      labels: {app: app-${i}, team: team-${i % 17}, tier: backend}`;
  if (i % 3 === 2)
    return (
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: ns-${i % 50}\n` +
      `data:\n  settings.yaml: |\n    key: value-${i}\n    other: ${'x'.repeat(200)}\n`
    );
  const kind = i % 3 === 0 ? 'Deployment' : 'DaemonSet';
  return `apiVersion: apps/v1
kind: ${kind}
metadata:
  name: workload-${i}
  namespace: ns-${i % 50}
spec:
  selector:
    matchLabels: {app: app-${i}}
  template:
    metadata:
${labels}
    spec:
${i % 100 === 0 ? '      hostNetwork: true\n' : ''}      containers:
        - name: main
          image: registry.example.com/app:${i}
          args: [--port=8080, --verbose]
          resources: {requests: {cpu: 10m, memory: 32Mi}}
`;
}

function generate(path: string): { bytes: number; documents: number } {
  const parts: string[] = [];
  let bytes = 0;
  let i = 0;
  while (bytes < targetBytes) {
    const d = (i ? '---\n' : '') + documentAt(i++);
    parts.push(d);
    bytes += Buffer.byteLength(d);
  }
  writeFileSync(path, parts.join(''));
  return { bytes, documents: i };
}

interface Measured {
  ms: number;
  maxRssMb: number;
  exit: number | null;
  stderr: string;
}

/** Runs `code` (an ES module body) in a fresh node with the given heap; it prints nothing we keep. */
function measure(code: string, file: string, heapMb?: number): Measured {
  const wrapper = `const t0 = performance.now(); ${code}
process.on('exit', (c) => {
  const m = { ms: performance.now() - t0, maxRssKb: process.resourceUsage().maxRSS, c };
  process.stderr.write('\\nMEASURE ' + JSON.stringify(m) + '\\n');
});`;
  const args = [...(heapMb ? [`--max-old-space-size=${heapMb}`] : []), '--input-type=module', '-e', wrapper, file];
  const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', maxBuffer: 1 << 30 });
  const m = /MEASURE (.*)/.exec(r.stderr ?? '');
  const parsed = m ? (JSON.parse(m[1]!) as { ms: number; maxRssKb: number }) : { ms: NaN, maxRssKb: NaN };
  return {
    ms: parsed.ms,
    maxRssMb: parsed.maxRssKb / 1024,
    exit: r.status,
    stderr: (r.stderr ?? '').replace(/\nMEASURE .*\n?/, '').trim(),
  };
}

const SCAN = `const { run } = await import('./src/cli/kubectl-hostns.ts');
let out = 0;
const io = {
  stdout: { write: (s) => (out += s.length) },
  stderr: { write: (s) => process.stderr.write(s) },
  readStdin: () => '',
  env: {},
};
process.exitCode = await run(['scan', process.argv[1], '-o', 'json', '--now', '2026-06-01T00:00:00Z'], io);`;
// the floor: the yaml library's parser over the same text, nothing kept (tokens only)
const FLOOR_PARSE = `const { Parser } = await import('yaml'); const { readFileSync } = await import('node:fs');
let n = 0; for (const t of new Parser().parse(readFileSync(process.argv[1], 'utf8'))) if (t.type === 'document') n++;`;
// what the scan did before issue 14: every document of the whole file parsed and held at once
const WHOLE_FILE = `const { parseAllDocuments } = await import('yaml');
const { readFileSync } = await import('node:fs');
const docs = parseAllDocuments(readFileSync(process.argv[1], 'utf8'));
let n = 0;
for (const d of docs) if (d.toJS()) n++;`;

const dir = mkdtempSync(join(tmpdir(), 'hostns-scan-bench-'));
try {
  const file = join(dir, 'large.yaml');
  const { documents } = generate(file);
  const mb = statSync(file).size / (1024 * 1024);
  const heap = Number(values.heap);
  const empty = join(dir, 'empty.yaml');
  writeFileSync(empty, 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n');
  const rows: [string, Measured][] = [
    ['start-up: `kubectl hostns scan` of a one-document file', measure(SCAN, empty)],
    ['floor: yaml `Parser` over the text (tokens only)', measure(FLOOR_PARSE, file)],
    ['`kubectl hostns scan FILE -o json`', measure(SCAN, file)],
    [`\`kubectl hostns scan\`, \`--max-old-space-size=${heap}\``, measure(SCAN, file, heap)],
    ['reference: `parseAllDocuments` + `toJS`, whole file held', measure(WHOLE_FILE, file)],
  ];
  const lines = [
    '## Scan throughput (`node bench/scan-throughput.ts`)',
    '',
    `One ${mb.toFixed(1)} MB file of ${documents.toLocaleString('en')} documents ` +
      '(Deployments, DaemonSets, ConfigMaps), ' +
      `${cpus().length} CPUs, Node ${process.version}. Each row is its own process; peak RSS is the process's maxRSS.`,
    '',
    '| run | exit | time | throughput | peak RSS |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(([name, m], i) => {
      const throughput = i === 0 ? '' : `${(mb / (m.ms / 1000)).toFixed(1)} MB/s`;
      return `| ${name} | ${m.exit} | ${(m.ms / 1000).toFixed(2)} s | ${throughput} | ${m.maxRssMb.toFixed(0)} MB |`;
    }),
    '',
  ];
  process.stdout.write(lines.join('\n'));
  for (const [name, m] of rows)
    if (m.exit !== 0 && m.exit !== 1) process.stderr.write(`${name}: exit ${m.exit}\n${m.stderr.slice(0, 2000)}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
