// The HostNamespaceException CRD on the real control plane: installation, the register, kubectl
// explain, the invalid corpus, the renewal transition rule, the status subresource, pruning.
// The exception policy (config/exception-policy) is NOT installed here: see exception-policy.it.test.ts.
import { readFileSync, rmSync } from 'node:fs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXCEPTION_SCHEMA_LEVELS } from '../../src/api/fields.ts';
import { createNamespace, eventually, kubectl } from '../harness/clients.ts';
import {
  DATE_VARIANTS,
  INVALID_VARIANTS,
  TEXT_VARIANTS,
  invalidException,
  validException,
} from './exception-corpus.ts';
import { createException, patchException, readExceptionObject, rfc3339, samplesWithExpiry } from './exceptions.ts';

const DAY = 86_400_000;

/** The register's columns after NAMESPACE (with -A), as `kubectl get hnse` prints them. */
const REGISTER_COLUMNS = ['NAME', 'OWNER', 'ALLOWS', 'PHASE', 'EXPIRES', 'PODS', 'WORKLOADS', 'ENFORCED', 'AGE'];

/** Splits kubectl's table output into rows of cells, cutting at the header's column starts. */
function table(text: string): { header: string[]; rows: Array<Record<string, string>> } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const headerLine = lines[0] ?? '';
  const starts: number[] = [];
  const re = /\S+(?: \S+)*/g; // a header cell may hold single spaces ("NEXT REVIEW")
  let m: RegExpExecArray | null;
  while ((m = re.exec(headerLine)) !== null) starts.push(m.index);
  const header = starts.map((s, i) => headerLine.slice(s, starts[i + 1]).trim());
  const rows = lines
    .slice(1)
    .map((line) => Object.fromEntries(header.map((h, i) => [h, line.slice(starts[i], starts[i + 1]).trim()])));
  return { header, rows };
}

describe('kubectl apply -f crds/, the samples, and the register', () => {
  let samples = '';
  let ns = '';
  const expiresAt = rfc3339(new Date(Date.now() + 30 * DAY));

  beforeAll(async () => {
    samples = samplesWithExpiry(expiresAt);
    ns = await createNamespace('api-register');
  });
  afterAll(() => rmSync(samples, { recursive: true, force: true }));

  it('kubectl apply -f crds/ succeeds (idempotent over the harness install) and the CRD is Established', () => {
    const apply = kubectl(['apply', '-f', 'crds/']);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('customresourcedefinition.apiextensions.k8s.io/hostnamespaceexceptions.hostns.io');
    const wait = kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd/hostnamespaceexceptions.hostns.io',
    ]);
    expect(wait.code, wait.stderr).toBe(0);
    const resources = kubectl(['api-resources', '--api-group=hostns.io', '-o', 'wide']);
    expect(resources.stdout).toMatch(
      /hostnamespaceexceptions\s+hnse\s+hostns\.io\/v1alpha1\s+true\s+HostNamespaceException\s+.*hostns/,
    );
  });

  it('the samples are accepted (kubectl apply -k config/samples, expiry set)', () => {
    const apply = kubectl(['apply', '-n', ns, '-k', samples]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(apply.stdout).toContain('hostnamespaceexception.hostns.io/node-exporter created');
    expect(apply.stdout).toContain('hostnamespaceexception.hostns.io/cni-agent created');
    expect(apply.stdout).toContain('hostnamespaceexception.hostns.io/diagnostics created');
    expect(apply.stdout).not.toContain('configmap'); // the expiry is local to kustomize
  });

  it('kubectl get hnse -A shows the register: header and rows', () => {
    // The operator fills the status; here we write it as the operator would.
    const enforced = {
      type: 'Enforced',
      status: 'True',
      reason: 'InAdmissionGrants',
      message: 'in the admission grants',
      lastTransitionTime: '2026-01-01T00:00:00Z',
    };
    const status = patchException(
      ns,
      'node-exporter',
      {
        status: {
          phase: 'Active',
          coveredPods: 3,
          workloadCount: 1,
          allows: 'hostNetwork,hostPID',
          selector: 'app.kubernetes.io/name=node-exporter',
          expiresAt,
          nextReviewAt: '2030-01-01T00:00:00Z',
          conditions: [enforced],
        },
      },
      'status',
    );
    expect(status.code, status.stderr).toBe(0);

    const get = kubectl(['get', 'hnse', '-A']);
    expect(get.code, get.stderr).toBe(0);
    const { header, rows } = table(get.stdout);
    expect(header).toEqual(['NAMESPACE', ...REGISTER_COLUMNS]);
    const row = rows.find((r) => r.NAMESPACE === ns && r.NAME === 'node-exporter');
    expect(row).toMatchObject({
      OWNER: 'team-observability',
      ALLOWS: 'hostNetwork,hostPID',
      PHASE: 'Active',
      EXPIRES: expiresAt,
      PODS: '3',
      WORKLOADS: '1',
      ENFORCED: 'True',
    });
    expect(row!.AGE).toMatch(/^\d+s$|^\d+m\d*s?$/);
    // A row without status yet: allows, phase, pods and workloads are blank, the expiry is still readable.
    expect(rows.find((r) => r.NAMESPACE === ns && r.NAME === 'cni-agent')).toMatchObject({
      OWNER: 'team-platform-network',
      ALLOWS: '',
      PHASE: '',
      EXPIRES: expiresAt,
      PODS: '',
      WORKLOADS: '',
      ENFORCED: '',
    });
  });

  it('-o wide adds the ticket, the next review and the selector', () => {
    const status = patchException(
      ns,
      'diagnostics',
      {
        status: {
          allows: 'hostPID,hostIPC',
          selector: 'hostns.example.com/purpose in (diagnostics,incident-response),tier notin (web)',
        },
      },
      'status',
    );
    expect(status.code, status.stderr).toBe(0);
    const get = kubectl(['get', 'hnse', '-n', ns, '-o', 'wide']);
    expect(get.code, get.stderr).toBe(0);
    const { header, rows } = table(get.stdout);
    expect(header).toEqual([...REGISTER_COLUMNS, 'TICKET', 'NEXT REVIEW', 'SELECTOR']);
    expect(rows.find((r) => r.NAME === 'node-exporter')).toMatchObject({
      TICKET: 'SEC-1042',
      'NEXT REVIEW': '2030-01-01T00:00:00Z',
      SELECTOR: 'app.kubernetes.io/name=node-exporter',
    });
    expect(rows.find((r) => r.NAME === 'diagnostics')).toMatchObject({
      ALLOWS: 'hostPID,hostIPC',
      TICKET: 'INC-3318',
      SELECTOR: 'hostns.example.com/purpose in (diagnostics,incident-response),tier notin (web)',
    });
  });

  it('the category and the owner field selector find them', () => {
    const byCategory = kubectl(['get', 'hostns', '-n', ns, '-o', 'name']);
    expect(byCategory.code, byCategory.stderr).toBe(0);
    expect(byCategory.stdout).toContain('hostnamespaceexception.hostns.io/diagnostics');
    const byOwner = kubectl(['get', 'hnse', '-n', ns, '--field-selector', 'spec.owner=sre-oncall', '-o', 'name']);
    expect(byOwner.code, byOwner.stderr).toBe(0);
    expect(byOwner.stdout.trim()).toBe('hostnamespaceexception.hostns.io/diagnostics');
  });
});

describe('kubectl explain', () => {
  it.each(EXCEPTION_SCHEMA_LEVELS.filter((l) => l.path).map((l) => [l.path, l] as const))(
    'describes every field of %s',
    async (_, level) => {
      const path = `hostnamespaceexception.${level.path.replaceAll('[]', '')}`;
      // The OpenAPI v3 document of a new CRD is published a moment after it is Established.
      const out = await eventually(
        () => {
          const r = kubectl(['explain', path]);
          return r.code === 0 ? r.stdout : undefined;
        },
        60_000,
        `kubectl explain ${path}`,
      );
      expect(out).toMatch(/DESCRIPTION:\n\s+\S/);
      for (const [field, presence] of Object.entries(level.fields)) {
        expect(out, field).toMatch(
          new RegExp(`^  ${field}\\t?\\s*<[^>]+>${presence === 'required' ? ' -required-' : ''}\\n\\s+\\S`, 'm'),
        );
      }
    },
  );

  it('explains the spec with the owner and the allowed host namespaces', () => {
    const out = kubectl(['explain', 'hnse.spec']).stdout;
    expect(out).toContain('The accountable team or person');
    expect(out).toMatch(
      /allow\t?\s*<\[\]string> -required-\n\s+Host namespaces the exception permits: a set of\s+hostNetwork, hostPID,\s+hostIPC/,
    );
  });
});

describe('invalid exceptions are refused by the API server, naming the field', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('api-invalid');
  });

  it('the valid base of the corpus is accepted', async () => {
    const v = await createException(ns, validException('base'));
    expect(v.message).toBe('');
    expect(v.code).toBe(201);
  });

  it.each(INVALID_VARIANTS.map((v, i) => [v.name, v, i] as const))('%s', async (_, variant, i) => {
    const v = await createException(ns, invalidException(variant, `invalid-${i}`));
    expect([400, 422], v.message).toContain(v.code);
    for (const text of variant.says) expect(v.message).toContain(text);
    const stored = kubectl(['get', 'hnse', '-n', ns, `invalid-${i}`]);
    expect(stored.code).not.toBe(0);
  });

  it.each<[string, (s: Record<string, any>) => void]>([
    [
      'the minimal exception (no optional field)',
      (s: Record<string, any>) => {
        delete s.review;
        s.riskAcceptance = { justification: s.riskAcceptance.justification, acceptedBy: 'ciso' };
      },
    ],
    [
      'podSelector {} acknowledged by namespaceWide: true',
      (s: Record<string, any>) => {
        s.podSelector = {};
        s.namespaceWide = true;
      },
    ],
    [
      'only DoesNotExist, acknowledged',
      (s: Record<string, any>) => {
        s.podSelector = { matchExpressions: [{ key: 'debug', operator: 'DoesNotExist' }] };
        s.namespaceWide = true;
      },
    ],
    [
      'one Exists requirement among NotIn ones (not namespace-wide)',
      (s: Record<string, any>) => {
        s.podSelector = {
          matchExpressions: [
            { key: 'tier', operator: 'NotIn', values: ['web'] },
            { key: 'node-agent', operator: 'Exists' },
          ],
        };
      },
    ],
    ['namespaceWide: true with a narrow selector (ignored)', (s: Record<string, any>) => (s.namespaceWide = true)],
    [
      'a look-alike of the operator prefix (x.hostns.io/)',
      (s: Record<string, any>) => (s.podSelector = { matchLabels: { 'x.hostns.io/k': 'v' } }),
    ],
    ...DATE_VARIANTS.filter((d) => d.valid).map((d): [string, (s: Record<string, any>) => void] => [
      `expiresAt ${d.what} (${d.value})`,
      (s: Record<string, any>) => {
        s.expiresAt = d.value;
        s.riskAcceptance.acceptedAt = '2000-01-01T00:00:00Z';
        s.review.lastReviewedAt = d.value;
      },
    ]),
    ...TEXT_VARIANTS.filter((t) => !t.problem).map((t): [string, (s: Record<string, any>) => void] => [
      `owner, acceptedBy, ticket, reviewedBy ${t.what}`,
      (s: Record<string, any>) => {
        s.owner = s.riskAcceptance.acceptedBy = s.riskAcceptance.ticket = s.review.reviewedBy = t.value;
      },
    ]),
    ['all three host namespaces', (s: Record<string, any>) => (s.allow = ['hostIPC', 'hostPID', 'hostNetwork'])],
    [
      'times with an offset and fractional seconds',
      (s: Record<string, any>) => {
        s.expiresAt = '2030-01-31T01:00:00.5+01:00';
        s.riskAcceptance.acceptedAt = '2030-01-01T00:00:00.123456Z';
      },
    ],
    [
      'DoesNotExist and Exists without values, NotIn with values',
      (s: Record<string, any>) => {
        s.podSelector = {
          matchExpressions: [
            { key: 'a', operator: 'DoesNotExist' },
            { key: 'example.com/b', operator: 'Exists', values: [] },
            { key: 'c', operator: 'NotIn', values: ['x', ''] },
          ],
        };
      },
    ],
  ])('accepts %s', async (_, change) => {
    const obj = validException(`valid-${Math.random().toString(36).slice(2, 8)}`);
    change(obj.spec as Record<string, unknown>);
    const v = await createException(ns, obj);
    expect(v.message).toBe('');
    expect(v.code).toBe(201);
  });

  it('accepts the example of docs/api.md, status included (through /status)', async () => {
    const block = /```yaml\n([\s\S]*?)```/.exec(readFileSync('docs/api.md', 'utf8'))![1]!;
    const example = parse(block) as Record<string, unknown>;
    const { status, ...rest } = example;
    const v = await createException(ns, { ...rest, metadata: { name: 'docs-example' } });
    expect(v.message).toBe('');
    const r = patchException(ns, 'docs-example', { status: status }, 'status');
    expect(r.code, r.stderr).toBe(0);
    expect((await readExceptionObject(ns, 'docs-example')).status).toEqual(status);
  });

  it('kubectl shows the user the same refusal', () => {
    const obj = invalidException(
      INVALID_VARIANTS.find((v) => v.name === 'allow duplicated')!,
      'by-kubectl',
    );
    const r = kubectl(['apply', '-n', ns, '-f', '-'], JSON.stringify(obj));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.allow[1]: Duplicate value: "hostPID"');
  });

  it('without strict field validation an unknown field is pruned, never stored', async () => {
    const obj = validException('pruned');
    (obj.spec as Record<string, unknown>).namespaces = ['kube-system'];
    const v = await createException(ns, obj, 'Ignore');
    expect(v.code).toBe(201);
    const stored = await readExceptionObject(ns, 'pruned');
    expect(stored.spec).not.toHaveProperty('namespaces');
  });
});

describe('renewal (transition rule): shortening is free, extending needs a newer risk acceptance', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('api-renewal');
    const v = await createException(ns, validException('renewable', '2030-01-31T00:00:00Z'));
    expect(v.code, v.message).toBe(201);
  });

  it('shortening expiresAt is accepted', () => {
    const r = patchException(ns, 'renewable', { spec: { expiresAt: '2030-01-20T00:00:00Z' } });
    expect(r.code, r.stderr).toBe(0);
  });

  it('extending expiresAt without a new acceptedAt is refused', () => {
    const r = patchException(ns, 'renewable', { spec: { expiresAt: '2030-02-20T00:00:00Z' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.expiresAt: Forbidden: extending expiresAt is a renewal');
  });

  it('extending with an older acceptedAt is refused', () => {
    const r = patchException(ns, 'renewable', {
      spec: { expiresAt: '2030-02-20T00:00:00Z', riskAcceptance: { acceptedAt: '2029-12-01T00:00:00Z' } },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.expiresAt: Forbidden: extending expiresAt is a renewal');
  });

  it('extending with a newer acceptedAt (a renewal) is accepted', async () => {
    const r = patchException(ns, 'renewable', {
      spec: { expiresAt: '2030-03-15T00:00:00Z', riskAcceptance: { acceptedAt: '2030-01-18T00:00:00Z' } },
    });
    expect(r.code, r.stderr).toBe(0);
    const stored = await readExceptionObject(ns, 'renewable');
    expect(stored.spec).toMatchObject({
      expiresAt: '2030-03-15T00:00:00Z',
      riskAcceptance: { acceptedAt: '2030-01-18T00:00:00Z' },
    });
  });

  it('removing acceptedAt while extending is refused', () => {
    const r = patchException(ns, 'renewable', {
      spec: { expiresAt: '2030-04-01T00:00:00Z', riskAcceptance: { acceptedAt: null } },
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('extending expiresAt is a renewal');
  });

  it('an exception created without acceptedAt may be renewed by adding one', async () => {
    const obj = validException('no-acceptance', '2030-01-31T00:00:00Z');
    delete ((obj.spec as Record<string, unknown>).riskAcceptance as Record<string, unknown>).acceptedAt;
    expect((await createException(ns, obj)).code).toBe(201);
    const refused = patchException(ns, 'no-acceptance', { spec: { expiresAt: '2030-02-20T00:00:00Z' } });
    expect(refused.stderr).toContain('extending expiresAt is a renewal');
    const renewed = patchException(ns, 'no-acceptance', {
      spec: { expiresAt: '2030-02-20T00:00:00Z', riskAcceptance: { acceptedAt: '2030-01-25T00:00:00Z' } },
    });
    expect(renewed.code, renewed.stderr).toBe(0);
  });
});

describe('status subresource', () => {
  let ns = '';
  const fullStatus = {
    phase: 'ExpiringSoon',
    conditions: [
      {
        type: 'Valid',
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: '2030-01-01T00:00:00Z',
        reason: 'SpecValid',
        message: 'the spec satisfies every rule',
      },
      {
        type: 'Granting',
        status: 'True',
        observedGeneration: 1,
        lastTransitionTime: '2030-01-01T00:00:00Z',
        reason: 'ExpiringSoon',
        message: 'expires at 2030-01-31T00:00:00Z',
      },
    ],
    observedGeneration: 1,
    coveredPods: 2,
    expiresAt: '2030-01-31T00:00:00Z',
    nextReviewAt: '2030-01-31T00:00:00Z',
    announced: {
      activated: '2030-01-31T00:00:00Z',
      expiringSoon: '2030-01-31T00:00:00Z',
      expired: '2030-01-31T00:00:00Z',
      reviewOverdue: '2030-01-31T00:00:00Z',
      invalid: '1',
    },
  };

  beforeAll(async () => {
    ns = await createNamespace('api-status');
    expect((await createException(ns, { ...validException('with-status'), status: fullStatus })).code).toBe(201);
  });

  it('a create does not set the status (only the operator writes it, through /status)', async () => {
    expect((await readExceptionObject(ns, 'with-status')).status).toBeUndefined();
  });

  it('stores every status field the TypeScript shape has, unpruned', async () => {
    const r = patchException(ns, 'with-status', { status: fullStatus }, 'status');
    expect(r.code, r.stderr).toBe(0);
    expect((await readExceptionObject(ns, 'with-status')).status).toEqual(fullStatus);
  });

  it.each([
    ['an unknown phase', { phase: 'Running' }, 'status.phase: Unsupported value: "Running"'],
    ['negative covered pods', { coveredPods: -1 }, 'status.coveredPods'],
    ['a malformed nextReviewAt', { nextReviewAt: 'soon' }, 'status.nextReviewAt'],
    [
      'a condition without reason',
      { conditions: [{ type: 'Valid', status: 'True', lastTransitionTime: '2030-01-01T00:00:00Z', message: '' }] },
      'status.conditions[0].reason: Required value',
    ],
    [
      'a condition status outside True/False/Unknown',
      {
        conditions: [
          { type: 'Valid', status: 'Yes', lastTransitionTime: '2030-01-01T00:00:00Z', reason: 'R', message: '' },
        ],
      },
      'status.conditions[0].status: Unsupported value: "Yes"',
    ],
  ])('refuses %s', (_, status, says) => {
    const r = patchException(ns, 'with-status', { status }, 'status');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(says);
  });

  it('a spec update through the main resource cannot change the status', async () => {
    const r = patchException(ns, 'with-status', { spec: { owner: 'team-b' }, status: { phase: 'Invalid' } });
    expect(r.code, r.stderr).toBe(0);
    const stored = await readExceptionObject(ns, 'with-status');
    expect((stored.status as { phase: string }).phase).toBe('ExpiringSoon');
    expect((stored.spec as { owner: string }).owner).toBe('team-b');
  });
});
