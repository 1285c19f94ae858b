// Issue 12: kubectl hostns decides with the operator's settings, without anyone repeating its
// flags. The real operator runs with non-default settings against the run's control plane; the
// CLI (a real process) reads what it published on the grant index; a flag that differs wins with a
// warning; a missing, unreadable or forged value falls back to the defaults with a clear note.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, eventually, kubectl, serviceAccountKubeconfig } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { createException, createPod } from './fixtures-cluster.ts';
import { hostns } from './run-cli.ts';

const ANNOTATION = 'hostns.io/policy-settings';
const INDEX = ['hostnamespacegrantindexes', 'cluster'];
const work = mkdtempSync(join(tmpdir(), 'hostns-settings-it-'));
const ROLES_FILE = 'config/rbac/exception-roles.yaml';

let ns: string;
/** Exempt by the operator's --exempt-namespaces only: the CLI's default would call its pod an offender. */
let exempt: string;
let op: OperatorProcess | undefined;
let rolesExisted = false;
const bindings: string[] = [];

type Review = { exceptions: { name: string; phase: string; findings: { kind: string }[] }[] };
type Audit = { pods: { name: string; status: string }[] };

const registerPhase = () =>
  kubectl(['get', 'hnse', 'renews-soon', '-n', ns, '-o', 'jsonpath={.status.phase}']).stdout.trim();
const published = () => {
  const text = kubectl(['get', ...INDEX, '-o', `jsonpath={.metadata.annotations.hostns\\.io/policy-settings}`]).stdout;
  return text ? (JSON.parse(text) as { settings: Record<string, unknown>; publishedBy: string }) : undefined;
};
const operatorArgs = (identity: string, expiringSoon = '10m') => [
  '--identity',
  identity,
  '--expiring-soon',
  expiringSoon,
  '--exempt-namespaces',
  `kube-system,${exempt}`,
];
function review(args: string[] = [], kubeconfig?: string) {
  const kc = kubeconfig ? ['--kubeconfig', kubeconfig] : [];
  const r = hostns(['review', '-n', ns, '-o', 'json', ...args, ...kc], { kubeconfig: !kubeconfig });
  return { ...r, json: r.code <= 1 ? (JSON.parse(r.stdout) as Review) : undefined };
}
const phaseIn = (r: ReturnType<typeof review>) => r.json?.exceptions.find((e) => e.name === 'renews-soon')?.phase;

beforeAll(async () => {
  ns = await createNamespace('cli-settings');
  exempt = await createNamespace('cli-settings-exempt');
  // Expires in 2 hours: ExpiringSoon for the CLI's default window (7d), Active for a 10m window.
  await createException(ns, {
    name: 'renews-soon',
    allow: ['hostNetwork'],
    matchLabels: { app: 'agent' },
    expiresIn: { hours: 2 },
  });
  await createPod(exempt, 'node-agent', { app: 'node-agent' }, { hostNetwork: true });
  op = await OperatorProcess.start(operatorArgs('settings-it-a'));
  await op.converged(60_000);
}, 120_000);

afterAll(async () => {
  await op?.kill('SIGTERM');
  for (const b of bindings) kubectl(['delete', ...b.split(' '), '--ignore-not-found']);
  if (!rolesExisted) kubectl(['delete', '-f', ROLES_FILE, '--ignore-not-found']);
  rmSync(work, { recursive: true, force: true });
});

describe('the operator publishes its settings', () => {
  it('on the grant index, as hostns.io/policy-settings', () => {
    expect(published()).toMatchObject({
      version: 1,
      settings: {
        exemptNamespaces: [exempt, 'kube-system'].sort(),
        expiringSoon: '10m',
        maxLifetime: '90d',
        reviewInterval: '30d',
      },
      publishedBy: 'settings-it-a',
    });
  });

  it('review and audit agree with the register without a flag, and say nothing about settings', () => {
    expect(registerPhase()).toBe('Active');
    const r = review();
    expect(r.stderr).toBe('');
    expect(phaseIn(r)).toBe('Active');
    const audit = hostns(['audit', '--group-by', 'pod', '-n', exempt, '-o', 'json']);
    expect(audit.stderr).toBe('');
    expect((JSON.parse(audit.stdout) as Audit).pods).toMatchObject([{ name: 'node-agent', status: 'exempt' }]);
    expect(audit.code).toBe(0);
  });

  it('a flag that differs wins, with a warning naming it and the operator’s value', () => {
    const r = review(['--expiring-soon', '7d']);
    expect(phaseIn(r)).toBe('ExpiringSoon');
    expect(r.stderr).toMatch(
      /^warning: flags override the operator's policy settings \(published \S+Z by settings-it-a\): --expiring-soon 7d instead of 10m; phases and findings may disagree with the register\n$/,
    );
    const audit = hostns([
      'audit',
      '--group-by',
      'pod',
      '-n',
      exempt,
      '-o',
      'json',
      '--exempt-namespaces',
      'kube-system',
    ]);
    expect((JSON.parse(audit.stdout) as Audit).pods).toMatchObject([{ name: 'node-agent', status: 'offender' }]);
    expect(audit.stderr).toMatch(/^warning: .*--exempt-namespaces kube-system instead of .*kube-system/);
    // the same value as the operator's is no override
    expect(review(['--expiring-soon', '600s']).stderr).toBe('');
  });

  it('scan with --exceptions-from cluster and verify use them too', () => {
    const pod = `apiVersion: v1
kind: Pod
metadata: {name: node-agent, namespace: ${exempt}}
spec: {hostNetwork: true, containers: [{name: c, image: registry.k8s.io/pause:3.10}]}
`;
    const live = hostns(['scan', '-', '--exceptions-from', 'cluster', '-o', 'json'], { input: pod });
    expect(live.stderr).toBe('');
    expect(live.code).toBe(0); // exempt, as the operator says
    const offline = hostns(['scan', '-', '-o', 'json'], { input: pod });
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(
      /^note: using the CLI's default policy settings \(--exempt-namespaces kube-system, --expiring-soon 7d, --max-lifetime 90d, --review-interval 30d\): scan reads no cluster without --exceptions-from cluster\n$/,
    );
    const verify = hostns(['verify', '-n', exempt, '-o', 'json']);
    expect(verify.stderr).toBe('');
    expect(JSON.parse(verify.stdout)).toMatchObject({
      namespaces: [{ namespace: exempt, exempt: true, result: 'exempt' }],
    });
  });
});

describe('restarts', () => {
  it('the same settings from another replica: zero writes, the annotation left as it was', async () => {
    await op!.kill('SIGTERM');
    op = await OperatorProcess.start(operatorArgs('settings-it-b'));
    await op.converged(60_000);
    await new Promise((r) => setTimeout(r, 1000));
    await op.converged(60_000);
    expect(await op.writes()).toBe(0);
    expect(published()?.publishedBy).toBe('settings-it-a');
  });

  it('changed settings are published at once, by the replica that runs with them', async () => {
    await op!.kill('SIGTERM');
    op = await OperatorProcess.start(operatorArgs('settings-it-c', '3h'));
    await eventually(() => (published()?.publishedBy === 'settings-it-c' ? true : undefined), 30_000, 'republished');
    expect(published()?.settings.expiringSoon).toBe('3h');
    await eventually(() => (registerPhase() === 'ExpiringSoon' ? true : undefined), 30_000, 'register phase');
    expect(phaseIn(review())).toBe('ExpiringSoon');
  });

  it('a forged value is put back by the running operator', async () => {
    const forged = JSON.stringify({ ...published(), settings: { ...published()!.settings, expiringSoon: '30d' } });
    expect(kubectl(['annotate', '--overwrite', ...INDEX, `${ANNOTATION}=${forged}`]).code).toBe(0);
    await eventually(() => (published()?.settings.expiringSoon === '3h' ? true : undefined), 30_000, 'put back');
  });
});

describe('settings that cannot be used: the defaults, with a note saying why', () => {
  const valid = () => ({
    version: 1,
    settings: { exemptNamespaces: ['kube-system'], expiringSoon: '10m', maxLifetime: '90d', reviewInterval: '30d' },
    publishedAt: '2026-11-27T20:00:00Z',
    publishedBy: 'someone',
  });
  const variants: [string, string | undefined, RegExp][] = [
    ['absent', undefined, /the operator has not published its settings on HostNamespaceGrantIndex cluster/],
    ['not JSON', '{"version": 1, "settings": {', /ignored: is not JSON: /],
    ['not an object', '["10m"]', /ignored: is not a JSON object$/],
    ['a newer version', JSON.stringify({ ...valid(), version: 2 }), /ignored: version: 2 is not the version this CLI/],
    [
      'a duration of the wrong type',
      JSON.stringify({ ...valid(), settings: { ...valid().settings, expiringSoon: 600 } }),
      /ignored: settings\.expiringSoon: 600 is not a positive duration/,
    ],
    [
      'namespaces of the wrong type',
      JSON.stringify({ ...valid(), settings: { ...valid().settings, exemptNamespaces: 'kube-system' } }),
      /ignored: settings\.exemptNamespaces: missing, or not a list/,
    ],
    [
      'huge',
      JSON.stringify({ ...valid(), padding: 'x'.repeat(70_000) }),
      /ignored: is \d+ bytes, over the 65536 read$/,
    ],
    [
      'control characters',
      JSON.stringify({ ...valid(), publishedBy: '\u001b[2J\u001b[31mroot' }),
      /ignored: publishedBy: "\\u001b\[2J\\u001b\[31mroot" is not a single-line name/,
    ],
  ];

  beforeAll(async () => {
    // Stopped, so that nothing puts the value back while the CLI reads it.
    await op!.kill('SIGTERM');
    op = undefined;
  });

  it.each(variants)('%s', (_what, value, why) => {
    const set =
      value === undefined
        ? kubectl(['annotate', ...INDEX, `${ANNOTATION}-`])
        : kubectl(['annotate', '--overwrite', ...INDEX, `${ANNOTATION}=${value}`]);
    expect(set.code, set.stderr).toBe(0);
    const r = review();
    expect(r.code).toBe(0);
    expect(phaseIn(r)).toBe('ExpiringSoon'); // the CLI's 7d window
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^note: using the CLI's default policy settings \(--exempt-namespaces kube-system, --expiring-soon 7d, --max-lifetime 90d, --review-interval 30d\): /,
    );
    expect(lines[0]).toMatch(why);
    expect(lines[0]).not.toMatch(/\p{Cc}/u);
    // a flag for every setting: nothing to say
    const all = review(['--exempt-namespaces', 'kube-system', '--expiring-soon', '1h', '--max-lifetime', '90d']);
    expect(all.stderr).toMatch(/\(--review-interval 30d\)/);
  });

  it('a reader without the right to the grant index: the defaults, naming the right', async () => {
    rolesExisted = kubectl(['get', 'clusterrole', 'hostns-exception-viewer']).code === 0;
    expect(kubectl(['apply', '-f', ROLES_FILE]).code).toBe(0);
    kubectl(['annotate', '--overwrite', ...INDEX, `${ANNOTATION}=${JSON.stringify(valid())}`]);
    expect(kubectl(['create', 'serviceaccount', 'reviewer', '-n', ns]).code).toBe(0);
    // view in the namespace only: exceptions and pods there, nothing cluster-scoped
    const local = `rolebinding reviewer-view -n ${ns}`;
    bindings.push(local);
    kubectl(['create', ...local.split(' '), '--clusterrole=view', `--serviceaccount=${ns}:reviewer`]);
    const file = serviceAccountKubeconfig(ns, 'reviewer', join(work, 'reviewer.kubeconfig'));
    const r = await eventually(() => {
      const x = review([], file);
      return x.code === 0 ? x : undefined;
    }, 60_000);
    expect(r.stderr).toMatch(
      /^note: using the CLI's default policy settings .*: not allowed to read HostNamespaceGrantIndex cluster \(get hostnamespacegrantindexes, in the hostns-exception-viewer role\)\n$/,
    );
    // view bound cluster-wide (hostns-exception-viewer is aggregated into it): the settings are read
    const wide = `clusterrolebinding reviewer-view-${ns}`;
    bindings.push(wide);
    kubectl(['create', ...wide.split(' '), '--clusterrole=view', `--serviceaccount=${ns}:reviewer`]);
    const read = await eventually(() => {
      const x = review([], file);
      return x.code === 0 && x.stderr === '' ? x : undefined;
    }, 60_000);
    expect(phaseIn(read)).toBe('Active'); // the 10m window of the value above
  });
});
