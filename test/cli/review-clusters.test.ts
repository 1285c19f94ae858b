// The review across clusters: the CLUSTER column in every format, a cluster not reviewed as a row
// with its error, the exit statuses, contexts from the kubeconfig, and the clusters read at once.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime, Duration } from 'luxon';
import { afterAll, describe, expect, it } from 'vitest';
import { acrossClusters, acrossClustersExitCode, type ClusterOutcome } from '../../src/cli/cluster.ts';
import { CliError, EXIT } from '../../src/cli/errors.ts';
import { cli, serve } from './in-process.ts';
import { KubeConfigError, loadKubeConfigContexts, type ContextConfig } from '../../src/kube/kubeconfig.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { buildReview, renderReviewTable } from '../../src/report/review.ts';
import {
  clustersSummary,
  renderClustersJson,
  renderClustersMarkdown,
  renderClustersTable,
  type ClusterReview,
} from '../../src/report/review-clusters.ts';
import { withoutDefaultsNote } from './run-cli.ts';

const now = DateTime.fromISO('2026-06-01T12:00:00Z', { zone: 'utc' });
const options = { now, config: DEFAULT_POLICY, within: Duration.fromObject({ days: 30 }) };
const scratch = mkdtempSync(join(tmpdir(), 'hostns-review-clusters-'));
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(scratch, { recursive: true, force: true });
});

function exception(name: string, namespace: string, expiresAt: string, app = name) {
  return {
    apiVersion: 'hostns.io/v1alpha1',
    kind: 'HostNamespaceException',
    metadata: { name, namespace, creationTimestamp: '2026-05-20T00:00:00Z' },
    spec: {
      owner: 'team-a',
      allow: ['hostNetwork'],
      podSelector: { matchLabels: { app } },
      riskAcceptance: {
        justification: 'scrapes the node network',
        acceptedBy: 'board',
        ticket: 'SEC-1',
        compensatingControls: ['non-root'],
        enforcedControls: ['noPrivileged'],
      },
      expiresAt,
    },
  };
}
const pod = (name: string, namespace: string, app: string) => ({
  metadata: { name, namespace, labels: { app } },
  spec: { hostNetwork: true },
});

// eu: one exception in use, far from expiry; us: one expiring soon and one covering nothing.
const euRows = buildReview(
  [exception('node-exporter', 'mon', '2026-08-01T00:00:00Z')],
  [pod('p', 'mon', 'node-exporter')],
  options,
);
const usRows = buildReview(
  [exception('build-cache', 'ci', '2026-06-10T00:00:00Z'), exception('spare', 'ops', '2026-08-01T00:00:00Z')],
  [pod('b', 'ci', 'build-cache')],
  options,
);
const dead = 'listing HostNamespaceExceptions: cannot reach the Kubernetes API at https://127.0.0.1:1 (ECONNREFUSED)';
const reviews: ClusterReview[] = [
  { cluster: 'prod-eu', server: 'https://eu:6443', rows: euRows },
  { cluster: 'prod-us', server: 'https://us:6443', rows: usRows },
  { cluster: 'old', server: 'https://127.0.0.1:1', error: dead },
];

describe('rendering a review across clusters', () => {
  it('table: CLUSTER first, the clusters not reviewed first with their error, then urgency across clusters', () => {
    const lines = renderClustersTable(reviews).split('\n');
    expect(lines[0]).toMatch(/^CLUSTER +NAMESPACE +NAME +OWNER +ALLOW +PHASE .* +FINDINGS$/);
    expect(lines[1]).toMatch(new RegExp(`^old {3,}.* {3}cluster not reviewed: ${dead.replace(/[()]/g, '\\$&')}$`));
    expect(lines[1]!.replace(/^old +/, '').startsWith('cluster not reviewed')).toBe(true); // every other cell empty
    expect(lines[2]).toMatch(/^prod-us +ci +build-cache +.*expires in 8d/);
    expect(lines[3]).toMatch(/^prod-us +ops +spare +.*covers no pod$/);
    expect(lines[4]).toMatch(/^prod-eu +mon +node-exporter +team-a +hostNetwork +Active /);
    expect(lines.slice(5)).toEqual([
      '',
      '3 exceptions, 2 with findings (1 expiring, 1 unused); 2 of 3 clusters reviewed (prod-eu, prod-us); NOT reviewed: old',
      '',
    ]);
  });

  it('table: the single-cluster columns are kept as they are, only CLUSTER is added', () => {
    const single = renderReviewTable(euRows).split('\n')[0]!;
    const across = renderClustersTable(reviews.slice(0, 1)).split('\n')[0]!;
    expect(across.replace(/^CLUSTER +/, '').split(/ {3,}/)).toEqual(single.split(/ {3,}/));
  });

  it('table: colour paints the cluster not reviewed red, and never when not asked', () => {
    expect(renderClustersTable(reviews, true).split('\n')[1]).toMatch(
      // eslint-disable-next-line no-control-regex -- the ANSI colours are what is tested
      /^\u001b\[31mold\u001b\[0m .*\u001b\[31mcluster not reviewed/,
    );
    expect(renderClustersTable(reviews, false)).not.toContain('\u001b[');
  });

  it('markdown: a CLUSTER column, the selector, the clusters in the heading', () => {
    const md = renderClustersMarkdown(reviews, now).split('\n');
    expect(md[0]).toBe('### Host namespace exceptions: review of 2026-06-01 12:00 UTC, clusters prod-eu, prod-us, old');
    expect(md[2]).toMatch(/^\| CLUSTER \| NAMESPACE \| NAME \| .* \| SELECTOR \| CONTROLS \| FINDINGS \|$/);
    expect(md[4]).toMatch(/^\| old \|( {3}\|){12} cluster not reviewed: listing .*\(ECONNREFUSED\) \|$/);
    expect(md[7]).toContain('| prod-eu | mon | node-exporter | team-a | hostNetwork | Active |');
    expect(md[7]).toContain('| app=node-exporter |');
  });

  it('json: every cluster with reviewed or its error, every row with its cluster first', () => {
    const json = JSON.parse(renderClustersJson(reviews, now));
    expect(json.generatedAt).toBe('2026-06-01T12:00:00Z');
    expect(json.clusters).toEqual([
      { cluster: 'prod-eu', server: 'https://eu:6443', reviewed: true, exceptions: 1 },
      { cluster: 'prod-us', server: 'https://us:6443', reviewed: true, exceptions: 2 },
      { cluster: 'old', server: 'https://127.0.0.1:1', reviewed: false, error: dead },
    ]);
    expect(json.exceptions.map((r: { cluster: string; name: string }) => `${r.cluster}/${r.name}`)).toEqual([
      'prod-us/build-cache',
      'prod-us/spare',
      'prod-eu/node-exporter',
    ]);
    expect(Object.keys(json.exceptions[0])[0]).toBe('cluster');
    expect(json.exceptions[2]).toEqual({ cluster: 'prod-eu', ...JSON.parse(JSON.stringify(euRows[0])) });
  });

  it('the same urgency across clusters breaks ties by cluster name', () => {
    const a = { cluster: 'b', server: '', rows: euRows };
    const b = { cluster: 'a', server: '', rows: euRows };
    const rows = JSON.parse(renderClustersJson([a, b], now)).exceptions.map((r: { cluster: string }) => r.cluster);
    expect(rows).toEqual(['a', 'b']);
  });

  it('no exception anywhere: one line naming the clusters, in each format', () => {
    const empty = [
      { cluster: 'a', server: '', rows: [] },
      { cluster: 'b', server: '', rows: [] },
    ];
    expect(renderClustersTable(empty)).toBe('No HostNamespaceException found in clusters a, b.\n');
    expect(renderClustersMarkdown(empty.slice(0, 1), now)).toMatch(
      /\n\nNo HostNamespaceException found in cluster a\.\n$/,
    );
    expect(JSON.parse(renderClustersJson(empty, now)).exceptions).toEqual([]);
  });

  it('every cluster failed: a row each, nothing reviewed', () => {
    const failed = [
      { cluster: 'a', server: '', error: 'x: forbidden' },
      { cluster: 'b', server: '', error: 'y: 401' },
    ];
    const table = renderClustersTable(failed).split('\n');
    expect(table.slice(1, 3).map((l) => l.split(/ {3,}/))).toEqual([
      ['a', 'cluster not reviewed: x: forbidden'],
      ['b', 'cluster not reviewed: y: 401'],
    ]);
    expect(clustersSummary(failed)).toBe('0 exceptions, 0 with findings; 0 of 2 clusters reviewed; NOT reviewed: a, b');
  });
});

describe('exit status across clusters', () => {
  const ok: ClusterOutcome<number> = { context: 'a', server: '', value: 1 };
  const bad: ClusterOutcome<number> = { context: 'b', server: '', error: new CliError(EXIT.cluster, 'down') };
  it.each([
    ['all answered', [ok, ok], false, EXIT.ok],
    ['all answered, findings to fail on', [ok, ok], true, EXIT.findings],
    ['one of two failed: incomplete', [ok, bad], false, EXIT.usage],
    ['incomplete wins over findings', [ok, bad], true, EXIT.usage],
    ['every cluster failed', [bad, bad], true, EXIT.cluster],
    ['the only cluster failed', [bad], false, EXIT.cluster],
  ] as const)('%s', (_, outcomes, fail, code) => {
    expect(acrossClustersExitCode(outcomes, fail)).toBe(code);
  });
});

function kubeconfigFile(name: string, contexts: Record<string, string | undefined>, current?: string): string {
  const path = join(scratch, name);
  const entries = Object.entries(contexts);
  const body = {
    apiVersion: 'v1',
    kind: 'Config',
    ...(current ? { 'current-context': current } : {}),
    clusters: entries
      .filter(([, s]) => s)
      .map(([n, server]) => ({ name: n, cluster: { server, 'insecure-skip-tls-verify': true } })),
    users: [{ name: 'u', user: { token: 'x' } }],
    contexts: entries.map(([n]) => ({ name: n, context: { cluster: n, user: 'u' } })),
  };
  writeFileSync(path, JSON.stringify(body));
  return path;
}

describe('contexts from the kubeconfig', () => {
  const file = kubeconfigFile('three', { a: 'http://a:1', b: 'http://b:1', c: 'http://c:1' });
  it('every context, in the kubeconfig order, without a current-context', () => {
    const all = loadKubeConfigContexts({ kubeconfig: file, contexts: 'all' }, {});
    expect(all.map((t) => [t.context, t.kc.getCurrentContext(), t.kc.getCurrentCluster()?.server])).toEqual([
      ['a', 'a', 'http://a:1'],
      ['b', 'b', 'http://b:1'],
      ['c', 'c', 'http://c:1'],
    ]);
  });

  it('the named ones, in the order given, repeats dropped', () => {
    const named = loadKubeConfigContexts({ kubeconfig: file, contexts: ['c', 'a', 'c'] }, {});
    expect(named.map((t) => t.context)).toEqual(['c', 'a']);
  });

  it('from KUBECONFIG as a merged list of files', () => {
    const other = kubeconfigFile('other', { d: 'http://d:1' });
    const all = loadKubeConfigContexts({ contexts: 'all' }, { KUBECONFIG: `${file}:${other}` });
    expect(all.map((t) => t.context)).toEqual(['a', 'b', 'c', 'd']);
  });

  it.each([
    [['a', 'nope'], /^--context nope: no such context in the kubeconfig \(have: a, b, c\)$/],
    [['', 'a'], /^--context : no such context/],
  ])('a name the kubeconfig lacks is a usage error: %j', (contexts, message) => {
    const load = () => loadKubeConfigContexts({ kubeconfig: file, contexts }, {});
    expect(load).toThrow(KubeConfigError);
    expect(load).toThrow(message);
  });

  it('a kubeconfig without contexts is a usage error with --all-contexts', () => {
    const none = join(scratch, 'none');
    writeFileSync(none, JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [], users: [], contexts: [] }));
    expect(() => loadKubeConfigContexts({ kubeconfig: none, contexts: 'all' }, {})).toThrow(
      'the kubeconfig has no contexts',
    );
  });
});

describe('acrossClusters', () => {
  const targets = (names: string[]): ContextConfig[] =>
    loadKubeConfigContexts(
      {
        kubeconfig: kubeconfigFile(`t-${names.join('')}`, Object.fromEntries(names.map((n) => [n, `http://${n}:1`]))),
        contexts: 'all',
      },
      {},
    );

  it('runs every cluster at once: each waits for all the others to have started', async () => {
    const list = targets(['a', 'b', 'c']);
    let started = 0;
    let release!: () => void;
    const allStarted = new Promise<void>((r) => (release = r));
    const outcomes = await acrossClusters(list, async (t) => {
      if (++started === list.length) release();
      await allStarted; // run one after the other, this never resolves and the test times out
      return t.context.toUpperCase();
    });
    expect(outcomes).toEqual([
      { context: 'a', server: 'http://a:1', value: 'A' },
      { context: 'b', server: 'http://b:1', value: 'B' },
      { context: 'c', server: 'http://c:1', value: 'C' },
    ]);
  });

  it('a cluster failing with a CliError is its outcome; the others still answer', async () => {
    const outcomes = await acrossClusters(targets(['a', 'b']), async (t) => {
      if (t.context === 'a') throw new CliError(EXIT.cluster, 'a is down');
      return 1;
    });
    expect(outcomes[0]).toMatchObject({ context: 'a', error: { exitCode: EXIT.cluster, message: 'a is down' } });
    expect(outcomes[1]).toEqual({ context: 'b', server: 'http://b:1', value: 1 });
  });

  it("a context naming a cluster the kubeconfig lacks is that context's failure, not the run's", async () => {
    const file = kubeconfigFile('dangling', { ok: 'http://ok:1', dangling: undefined });
    const list = loadKubeConfigContexts({ kubeconfig: file, contexts: 'all' }, {});
    const outcomes = await acrossClusters(list, async () => 'read');
    expect(outcomes[0]).toMatchObject({ context: 'ok', value: 'read' });
    expect(outcomes[1]).toMatchObject({ context: 'dangling', server: '' });
    expect('error' in outcomes[1]! && outcomes[1].error.message).toBe(
      'the context names cluster "dangling", which the kubeconfig does not define',
    );
  });

  it('a bug (not a CliError) fails the run', async () => {
    await expect(acrossClusters(targets(['a']), async () => Promise.reject(new TypeError('bug')))).rejects.toThrow(
      'bug',
    );
  });
});

describe('kubectl hostns review across clusters, against local HTTP servers', () => {
  it('asks every cluster at once: each server answers only once both were asked', async () => {
    let asked = 0;
    let release!: () => void;
    const both = new Promise<void>((r) => (release = r));
    const fleet = (items: unknown[]) => (req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('Content-Type', 'application/json');
      if (!req.url!.includes('hostnamespaceexceptions'))
        return void res.end(JSON.stringify({ metadata: {}, items: [] }));
      if (++asked === 2) release();
      void both.then(() => res.end(JSON.stringify({ metadata: {}, items })));
    };
    const eu = await serve(servers, fleet([exception('node-exporter', 'mon', '2026-08-01T00:00:00Z')]));
    const us = await serve(servers, fleet([]));
    const file = kubeconfigFile('fleet', { eu: `http://127.0.0.1:${eu}`, us: `http://127.0.0.1:${us}` });
    // One after the other, the first server would wait for a second request that never comes.
    const r = await cli([
      'review',
      '--kubeconfig',
      file,
      '--all-contexts',
      '--request-timeout',
      '20',
      '-o',
      'json',
      '--now',
      now.toISO()!,
    ]);
    expect(withoutDefaultsNote(r.err)).toBe('');
    expect(r.code).toBe(EXIT.ok);
    const json = JSON.parse(r.out);
    expect(json.clusters.map((c: { cluster: string; reviewed: boolean }) => [c.cluster, c.reviewed])).toEqual([
      ['eu', true],
      ['us', true],
    ]);
    expect(json.exceptions.map((x: { cluster: string; name: string }) => `${x.cluster}/${x.name}`)).toEqual([
      'eu/node-exporter',
    ]);
  });

  it('usage errors before any request: --context with --all-contexts, --mark-reviewed across clusters', async () => {
    const file = kubeconfigFile('usage', { a: 'http://127.0.0.1:1', b: 'http://127.0.0.1:1' });
    const both = await cli(['review', '--kubeconfig', file, '--all-contexts', '--context', 'a']);
    expect(both).toEqual({
      code: EXIT.usage,
      out: '',
      err: 'error: --context and --all-contexts exclude each other\n',
    });
    const mark = await cli([
      'review',
      '--kubeconfig',
      file,
      '--context',
      'a',
      '--context',
      'b',
      '--mark-reviewed',
      'x',
      '-n',
      'n',
      '--by',
      'me',
    ]);
    expect(mark).toEqual({
      code: EXIT.usage,
      out: '',
      err: 'error: --mark-reviewed records a review in one cluster: give at most one --context\n',
    });
    const nope = await cli(['review', '--kubeconfig', file, '--context', 'a', '--context', 'nope']);
    expect(nope).toEqual({
      code: EXIT.usage,
      out: '',
      err: 'error: --context nope: no such context in the kubeconfig (have: a, b)\n',
    });
  });

  it('the same context twice is one cluster: the single-cluster review, no CLUSTER column', async () => {
    const port = await serve(servers, (_req, res) => res.end(JSON.stringify({ metadata: {}, items: [] })));
    const file = kubeconfigFile('twice', { a: `http://127.0.0.1:${port}` });
    const r = await cli(['review', '--kubeconfig', file, '--context', 'a', '--context', 'a']);
    expect({ ...r, err: withoutDefaultsNote(r.err) }).toEqual({
      code: EXIT.ok,
      out: 'No HostNamespaceException found.\n',
      err: '',
    });
  });
});
