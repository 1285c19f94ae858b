// `kubectl hostns scan` with the live register as its trusted source, and the CLI's error paths
// (timeouts, broken kubeconfigs, JSON output of --mark-reviewed), as a user runs them: a real
// process against the run's control plane.
import { DATE_TIME_MESSAGE } from '../../src/api/validation.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../harness/clients.ts';
import { createException } from './fixtures-cluster.ts';
import { hostns, withoutDefaultsNote } from './run-cli.ts';

let ns: string;
const work = mkdtempSync(join(tmpdir(), 'hostns-scan-it-'));

const daemonSet = (namespace: string, app: string, flag = 'hostNetwork') => `apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ${app}, namespace: ${namespace}}
spec:
  selector: {matchLabels: {app: ${app}}}
  template:
    metadata: {labels: {app: ${app}}}
    spec:
      ${flag}: true
      containers: [{name: c, image: registry.k8s.io/pause:3.10}]
`;

beforeAll(async () => {
  ns = await createNamespace('cli-scan');
  await createException(ns, {
    name: 'node-exporter',
    allow: ['hostNetwork'],
    matchLabels: { app: 'node-exporter' },
    expiresIn: { days: 30 },
  });
});

describe('scan --exceptions-from cluster', () => {
  it('counts the live register: a matching exception covers, another flag or app does not', () => {
    const r = hostns(['scan', '-', '--exceptions-from', 'cluster', '-o', 'json'], {
      input: [daemonSet(ns, 'node-exporter'), daemonSet(ns, 'node-exporter', 'hostPID'), daemonSet(ns, 'other')].join(
        '---\n',
      ),
    });
    expect(withoutDefaultsNote(r.stderr)).toBe('');
    const json = JSON.parse(r.stdout) as {
      findings: { name: string; flag: string; status: string; exceptions: string[] }[];
      exceptions: { source: string; name: string; namespace: string }[];
    };
    expect(json.findings.map((f) => `${f.name}:${f.flag}:${f.status}`)).toEqual([
      'node-exporter:hostNetwork:covered',
      'node-exporter:hostPID:offender',
      'other:hostNetwork:offender',
    ]);
    expect(json.exceptions.filter((x) => x.namespace === ns)).toMatchObject([
      { name: 'node-exporter', source: 'cluster' },
    ]);
    expect(r.code).toBe(1);
  });

  it('an exception in the change does not approve it, whatever the cluster holds', () => {
    const inline = `apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata: {name: self-approved, namespace: ${ns}}
spec:
  owner: team
  allow: [hostPID]
  podSelector: {matchLabels: {app: sneaky}}
  riskAcceptance: {justification: the change approves its own host PID use, acceptedBy: me}
  expiresAt: "2099-01-01T00:00:00Z"
`;
    const r = hostns(['scan', '-', '--exceptions-from', 'cluster'], {
      input: `${inline}---\n${daemonSet(ns, 'sneaky', 'hostPID')}`,
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(
      /<stdin>:1:1: error: HostNamespaceException .*\/self-approved is part of the scanned change and does not count \(exception-in-change\)/,
    );
    expect(r.stdout).toMatch(/error: DaemonSet .*\/sneaky sets hostPID: true and no HostNamespaceException/);
  });

  it('without a reachable cluster, exits 3 with one line', () => {
    const kc = join(work, 'nowhere.kubeconfig');
    writeFileSync(kc, kubeconfigFor('https://127.0.0.1:1'));
    const r = hostns(['scan', '-', '--exceptions-from', 'cluster', '--kubeconfig', kc], {
      input: daemonSet(ns, 'x'),
      kubeconfig: false,
    });
    expect(r.code).toBe(3);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

function kubeconfigFor(server: string): string {
  return `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: not-a-real-token}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`;
}

describe('errors are one line, with the documented exit status', () => {
  let silent: Server;
  let silentPort = 0;
  beforeAll(async () => {
    // accepts connections and never answers (not even the TLS handshake)
    silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    silentPort = (silent.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => silent.close(() => resolve())));

  it('--request-timeout gives up on a silent server and the process exits (no socket keeps it alive)', () => {
    const kc = join(work, 'silent.kubeconfig');
    writeFileSync(kc, kubeconfigFor(`https://127.0.0.1:${silentPort}`));
    for (const args of [['audit'], ['review'], ['scan', '-', '--exceptions-from', 'cluster']]) {
      const r = hostns([...args, '--request-timeout', '3', '--kubeconfig', kc], {
        input: 'kind: ConfigMap\n',
        kubeconfig: false,
      });
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/^error: .*within 3s\n$/);
    }
  });

  it('a garbage kubeconfig is one line naming the file, exit 2', () => {
    const cases = ['apiVersion: v1\nclusters: [ {\n  garbage: : :\n\tfoo\n', '\u0000\u0001', 'clusters: 3\n'];
    for (const [i, text] of cases.entries()) {
      const kc = join(work, `garbage-${i}.kubeconfig`);
      writeFileSync(kc, text);
      const r = hostns(['audit', '--kubeconfig', kc], { kubeconfig: false });
      expect([2, 3], text).toContain(r.code);
      expect(r.stderr.trimEnd().split('\n'), text).toHaveLength(1);
      expect(r.stderr).toMatch(/^error: /);
    }
  });

  it('review --mark-reviewed -o json prints JSON', () => {
    const r = hostns([
      'review',
      '--mark-reviewed',
      'node-exporter',
      '-n',
      ns,
      '--by',
      'alice@example.com',
      '-o',
      'json',
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      reviewed: { namespace: ns, name: 'node-exporter', reviewedBy: 'alice@example.com' },
    });
  });

  it('--now must be a full RFC 3339 date-time', () => {
    for (const now of [
      '2026',
      '2026-06',
      '2026-06-01',
      '2026-06-01T00:00',
      '2026-06-01T00:00:00',
      '2026-06-01 00:00:00Z',
    ]) {
      const r = hostns(['scan', '-', '--now', now], { input: 'kind: ConfigMap\n', kubeconfig: false });
      expect(r, now).toMatchObject({
        code: 2,
        // The API's one date grammar (src/api/validation.ts), for --now as for every date.
        stderr: `error: --now: ${JSON.stringify(now)} ${DATE_TIME_MESSAGE}\n`,
      });
    }
    expect(
      hostns(['scan', '-', '--now', '2026-06-01T00:00:00.5+02:00'], { input: 'kind: ConfigMap\n', kubeconfig: false })
        .code,
    ).toBe(0);
  });
});
