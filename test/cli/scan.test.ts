import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { renderScanText } from '../../src/report/scan-output.ts';
import { scanSources, type ScanSource } from '../../src/report/scan.ts';

const now = DateTime.fromISO('2026-06-01T00:00:00Z', { zone: 'utc' });
const options = { now, config: DEFAULT_POLICY, defaultNamespace: 'default' };

function scan(sources: ScanSource[], extra: ScanSource[] = []) {
  return scanSources(sources, extra, options);
}

/** Exceptions among the inputs count (--trust-inline-exceptions): the lifecycle rules in one file. */
function scanTrusting(sources: ScanSource[]) {
  return scanSources(sources, [], { ...options, trustInlineExceptions: true });
}

const exception = (
  name: string,
  ns: string | undefined,
  allow: string[],
  labels: Record<string, string>,
  expiresAt = '2026-07-01T00:00:00Z',
) => `
apiVersion: hostns.io/v1alpha1
kind: HostNamespaceException
metadata:
  name: ${name}
${ns ? `  namespace: ${ns}\n` : ''}spec:
  owner: team-observability
  allow: [${allow.join(', ')}]
  podSelector:
    matchLabels: ${JSON.stringify(labels)}
  riskAcceptance:
    justification: node-exporter reads host network statistics
    acceptedBy: security-board
    acceptedAt: "2026-05-01T00:00:00Z"
  expiresAt: "${expiresAt}"
`;

const daemonSet = (ns: string | undefined, labels: Record<string, string>, flags = 'hostNetwork: true') => `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-exporter
${ns ? `  namespace: ${ns}\n` : ''}spec:
  selector: {matchLabels: ${JSON.stringify(labels)}}
  template:
    metadata:
      labels: ${JSON.stringify(labels)}
    spec:
      ${flags}
      containers: [{name: x, image: x}]
`;

describe('scanSources', () => {
  it('finds host namespaces in every pod-bearing kind, at the line of the flag', () => {
    const kinds: [string, string][] = [
      ['Deployment', 'spec:\n  template:\n    spec:\n      hostPID: true\n'],
      ['ReplicaSet', 'spec:\n  template:\n    spec:\n      hostPID: true\n'],
      ['StatefulSet', 'spec:\n  template:\n    spec:\n      hostPID: true\n'],
      ['DaemonSet', 'spec:\n  template:\n    spec:\n      hostPID: true\n'],
      ['Job', 'spec:\n  template:\n    spec:\n      hostPID: true\n'],
      ['CronJob', 'spec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          hostPID: true\n'],
      ['Pod', 'spec:\n  hostPID: true\n'],
    ];
    const text = kinds
      .map(([k, body]) => `apiVersion: x/v1\nkind: ${k}\nmetadata:\n  name: ${k.toLowerCase()}\n${body}`)
      .join('---\n');
    const r = scan([{ path: 'all.yaml', text }]);
    expect(r.errors).toEqual([]);
    expect(r.findings.map((f) => f.kind)).toEqual(kinds.map(([k]) => k));
    expect(r.findings.every((f) => f.flag === 'hostPID' && f.status === 'offender')).toBe(true);
    const lines = text.split('\n');
    for (const f of r.findings) expect(lines[f.line - 1]!.trim()).toBe('hostPID: true');
    expect(r.findings.find((f) => f.kind === 'CronJob')!.field).toBe('spec.jobTemplate.spec.template.spec.hostPID');
  });

  it('ignores false flags, other kinds and maps that are not Kubernetes objects', () => {
    const r = scan([
      {
        path: 'a.yaml',
        text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: false}\n---\nkind: ConfigMap\ndata: {hostNetwork: "true"}\n---\nreplicas: 3\n---\n# empty\n',
      },
    ]);
    expect(r).toMatchObject({ findings: [], errors: [], objects: 3 });
  });

  it('reads YAML 1.1 booleans as kubectl does (hostNetwork: yes)', () => {
    const r = scan([
      { path: 'a.yaml', text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  hostIPC: yes\n' },
    ]);
    expect(r.findings).toMatchObject([{ flag: 'hostIPC', line: 5 }]);
  });

  it('reads JSON, kind: List and typed lists (kubectl get -o json)', () => {
    const list = {
      apiVersion: 'v1',
      kind: 'PodList',
      items: [
        { kind: 'Pod', metadata: { name: 'a', namespace: 'n1' }, spec: { hostNetwork: true } },
        { kind: 'Pod', metadata: { name: 'b', namespace: 'n1' }, spec: {} },
      ],
    };
    const r = scan([{ path: 'pods.json', text: JSON.stringify(list, null, 2) }]);
    expect(r.findings).toMatchObject([
      { kind: 'Pod', namespace: 'n1', name: 'a', flag: 'hostNetwork', file: 'pods.json' },
    ]);
    expect(r.findings[0]!.line).toBeGreaterThan(1);
    expect(r.objects).toBe(2);
  });

  it('networkRestricted is not checkable offline: covered as admission would admit it, and the output says so', () => {
    const withControl = exception('agent', 'monitoring', ['hostPID'], { app: 'ne' }).replace(
      '    acceptedBy: security-board\n',
      '    acceptedBy: security-board\n    enforcedControls: [networkRestricted]\n',
    );
    const r = scanTrusting([
      { path: 'x.yaml', text: `${withControl}---${daemonSet('monitoring', { app: 'ne' }, 'hostPID: true')}` },
    ]);
    expect(r.findings).toMatchObject([
      { status: 'covered', exceptions: ['agent'], notCheckableOffline: ['networkRestricted'] },
    ]);
    expect(renderScanText(r)).toContain(
      'allowed by HostNamespaceException agent (networkRestricted not checkable offline: the operator checks it in the cluster)',
    );
    const plain = scanTrusting([
      {
        path: 'x.yaml',
        text: `${exception('agent', 'monitoring', ['hostNetwork'], { app: 'ne' })}---${daemonSet('monitoring', { app: 'ne' })}`,
      },
    ]);
    expect(plain.findings[0]).not.toHaveProperty('notCheckableOffline');
  });

  it('with --trust-inline-exceptions, a matching, unexpired exception in the same input is the allowed path', () => {
    const r = scanTrusting([
      {
        path: 'x.yaml',
        text: `${exception('node-exporter', 'monitoring', ['hostNetwork'], { app: 'ne' })}---${daemonSet('monitoring', { app: 'ne' })}`,
      },
    ]);
    expect(r.findings).toMatchObject([{ status: 'covered', exceptions: ['node-exporter'] }]);
    expect(r.exceptions).toMatchObject([
      { name: 'node-exporter', namespace: 'monitoring', phase: 'Active', counts: true },
    ]);
  });

  it('does not count an exception of another namespace, another selector or another flag', () => {
    for (const [ex, ds] of [
      [exception('e', 'other', ['hostNetwork'], { app: 'ne' }), daemonSet('monitoring', { app: 'ne' })],
      [exception('e', 'monitoring', ['hostNetwork'], { app: 'other' }), daemonSet('monitoring', { app: 'ne' })],
      [exception('e', 'monitoring', ['hostPID'], { app: 'ne' }), daemonSet('monitoring', { app: 'ne' })],
    ]) {
      const r = scan([{ path: 'x.yaml', text: `${ex}---${ds}` }]);
      expect(r.findings).toMatchObject([{ status: 'offender' }]);
    }
  });

  it('covers flag by flag: a pod using two flags with one allowed still fails on the other', () => {
    const r = scanTrusting([
      {
        path: 'x.yaml',
        text: `${exception('e', 'm', ['hostNetwork'], { app: 'ne' })}---${daemonSet('m', { app: 'ne' }, 'hostNetwork: true\n      hostPID: true')}`,
      },
    ]);
    expect(r.findings.map((f) => [f.flag, f.status])).toEqual([
      ['hostNetwork', 'covered'],
      ['hostPID', 'offender'],
    ]);
  });

  it('objects and exceptions without a namespace share the default namespace', () => {
    const r = scanTrusting([
      {
        path: 'x.yaml',
        text: `${exception('e', undefined, ['hostNetwork'], { app: 'ne' })}---${daemonSet(undefined, { app: 'ne' })}`,
      },
    ]);
    expect(r.findings).toMatchObject([{ namespace: 'default', status: 'covered' }]);
    const other = scanSources(
      [{ path: 'x.yaml', text: daemonSet(undefined, { app: 'ne' }) }],
      [{ path: 'e.yaml', text: exception('e', 'default', ['hostNetwork'], { app: 'ne' }) }],
      {
        ...options,
        defaultNamespace: 'prod',
      },
    );
    expect(other.findings).toMatchObject([{ namespace: 'prod', status: 'offender' }]);
  });

  it('an expired exception does not count, and is named in the finding', () => {
    const r = scanTrusting([
      {
        path: 'x.yaml',
        text: `${exception('old', 'm', ['hostNetwork'], { app: 'ne' }, '2026-05-20T00:00:00Z')}---${daemonSet('m', { app: 'ne' })}`,
      },
    ]);
    expect(r.findings).toMatchObject([{ status: 'offender', lapsed: ['old'] }]);
    expect(r.exceptions).toMatchObject([{ name: 'old', phase: 'Expired', counts: false }]);
  });

  it('an invalid exception (lifetime over the maximum) does not count', () => {
    const r = scanTrusting([
      {
        path: 'x.yaml',
        text: `${exception('long', 'm', ['hostNetwork'], { app: 'ne' }, '2027-05-01T00:00:00Z')}---${daemonSet('m', { app: 'ne' })}`,
      },
    ]);
    expect(r.findings).toMatchObject([{ status: 'offender' }]);
    expect(r.exceptions[0]).toMatchObject({ phase: 'Invalid', counts: false });
    expect(r.exceptions[0]!.problems.join()).toMatch(/over the maximum/);
  });

  it('exceptions from --exceptions count; workloads there are not scanned', () => {
    const r = scan(
      [{ path: 'ds.yaml', text: daemonSet('m', { app: 'ne' }) }],
      [
        {
          path: 'ex.yaml',
          text: `${exception('e', 'm', ['hostNetwork'], { app: 'ne' })}---${daemonSet('m', { app: 'x' })}`,
        },
      ],
    );
    expect(r.findings).toMatchObject([{ file: 'ds.yaml', status: 'covered' }]);
  });

  it('exempt namespaces are reported, not failed', () => {
    const r = scan([{ path: 'x.yaml', text: daemonSet('kube-system', { app: 'ne' }) }]);
    expect(r.findings).toMatchObject([{ status: 'exempt' }]);
  });

  it('a syntax error names file and line; other documents and files are still scanned', () => {
    const broken =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: ok}\nspec: {hostPID: true}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\nspec: {hostPID: false}\n';
    const r = scan([
      { path: 'broken.yaml', text: broken },
      { path: 'good.yaml', text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: g}\nspec: {hostIPC: true}\n' },
    ]);
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({ file: 'broken.yaml' });
    expect(r.errors[0]!.line).toBeGreaterThanOrEqual(9);
    expect(r.errors[0]!.message).toMatch(/^YAML syntax error: /);
    expect(r.findings.map((f) => `${f.file}:${f.name}`)).toEqual(['broken.yaml:ok', 'good.yaml:g']);
  });

  it('a document that is not a mapping is an error (not silently skipped)', () => {
    const r = scan([{ path: 'x.yaml', text: 'just some text\n' }]);
    expect(r.errors).toMatchObject([{ file: 'x.yaml', line: 1 }]);
  });

  it('stdin is shown as <stdin>', () => {
    const r = scan([{ path: '-', text: 'kind: Pod\nmetadata: {name: p}\nspec: {hostNetwork: true}\n' }]);
    expect(r.findings[0]!.file).toBe('<stdin>');
  });
});
