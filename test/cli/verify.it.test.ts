// `kubectl hostns verify` on the real control plane, through bin/kubectl-hostns: the shipped
// admission policies (test/admission helpers: bindings narrowed to this run's labelled namespaces) in
// deny mode, warn mode, removed, without a namespace's grants object (index entry stale, dropped, or
// the index gone); exempt namespaces; Pod Security; exceptions active, expired and unsatisfiable;
// access with only the shipped ClusterRole; and nothing left behind.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GRANT_INDEX_NAME,
  GRANT_INDEX_PLURAL,
  GRANTS_NAME,
  GRANTS_PLURAL,
  type Grant,
} from '../../src/api/v1alpha1.ts';
import {
  apply,
  buildAdmission,
  deleteGuarded,
  indexed,
  scopedForTest,
  scopedNamespace,
  setGrants,
  setIndex,
  uninstall,
} from '../admission/admission.ts';
import { createException } from '../harness/exceptions.ts';
import {
  core,
  createNamespace,
  eventually,
  kubeconfigPath,
  kubectl,
  serviceAccountKubeconfig as tokenKubeconfig,
} from '../harness/clients.ts';
import { hostns, withoutDefaultsNote } from './run-cli.ts';

interface FlagJson {
  flag: string;
  verdict: string;
  by?: string;
  message?: string;
}
interface VerifyJson {
  summary: Record<string, number | boolean>;
  namespaces: { namespace: string; exempt: boolean; result: string; flags: FlagJson[]; detail: string }[];
  exceptions: {
    namespace: string;
    name: string;
    phase: string;
    labels?: Record<string, string>;
    expected: string;
    got: string;
    by?: string;
    finding: boolean;
    message?: string;
  }[];
  notes: string[];
}

const iso = (t: DateTime) => t.toUTC().toISO({ suppressMilliseconds: true })!;
const ns = {} as Record<'enforced' | 'outside' | 'psa' | 'exempt' | 'exc' | 'odd' | 'accounts', string>;
let manifests: ReturnType<typeof buildAdmission>;
let grants: Record<string, Grant[]>;

const agentSelector = {
  matchLabels: { app: 'agent' },
  matchExpressions: [
    { key: 'tier', operator: 'In', values: ['node', 'infra'] },
    { key: 'example.com/approved', operator: 'Exists' },
  ],
};
/** An exception must not be expired when created (it would be Invalid): this one lapses during setup. */
const expiredAt = iso(DateTime.utc().plus({ seconds: 20 }).startOf('second'));

function verify(args: string[]): { code: number; json: VerifyJson; stderr: string } {
  const r = hostns(['verify', ...args, '-o', 'json']);
  let json: VerifyJson;
  try {
    json = JSON.parse(r.stdout) as VerifyJson;
  } catch {
    throw new Error(`verify ${args.join(' ')} exited ${r.code} without JSON: ${r.stderr}${r.stdout}`);
  }
  return { code: r.code, json, stderr: r.stderr };
}

const scope = () => [
  '-n',
  ns.enforced,
  '-n',
  ns.outside,
  '-n',
  ns.psa,
  '-n',
  ns.exempt,
  '-n',
  ns.exc,
  '--exempt-namespaces',
  `kube-system,${ns.exempt}`,
];
const row = (json: VerifyJson, namespace: string) => json.namespaces.find((n) => n.namespace === namespace)!;
const verdicts = (json: VerifyJson, namespace: string) =>
  row(json, namespace).flags.map((f) => `${f.flag}=${f.verdict}${f.by ? ` by ${f.by}` : ''}`);
const exceptionRow = (json: VerifyJson, name: string) => json.exceptions.find((e) => e.name === name)!;

/** A loopback port nothing listens on (just released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Pods and Events in the test's namespaces: the probes must add none. */
async function leftovers(): Promise<string[]> {
  const out: string[] = [];
  for (const namespace of Object.values(ns)) {
    for (const p of (await core().listNamespacedPod({ namespace })).items)
      out.push(`pod ${namespace}/${p.metadata?.name}`);
    for (const e of (await core().listNamespacedEvent({ namespace })).items)
      out.push(`event ${namespace}/${e.metadata?.name}`);
  }
  const probes = await core().listPodForAllNamespaces({ labelSelector: 'app.kubernetes.io/name=hostns-verify' });
  for (const p of probes.items) out.push(`probe pod ${p.metadata?.namespace}/${p.metadata?.name}`);
  return out;
}

/** The admission config; in deny mode the grants too (setGrants waits for refusals: warn mode gives none). */
async function installMode(components: string[]): Promise<void> {
  manifests = scopedForTest(buildAdmission(components), [ns.exempt]);
  apply(manifests);
  if (!components.length) await setGrants(grants);
}

/** Waits until the policy answers hostNetwork in the enforced namespace as `mode` says. */
async function settle(mode: 'deny' | 'warn' | 'off'): Promise<void> {
  await eventually(
    async () => {
      const r = verify(['-n', ns.enforced]);
      const f = r.json.namespaces[0]!.flags[0]!;
      const want = mode === 'deny' ? 'refused' : mode === 'warn' ? 'warned' : 'admitted';
      return f.verdict === want ? true : undefined;
    },
    60_000,
    `the admission policy in ${mode} mode`,
  );
}

beforeAll(async () => {
  ns.enforced = await scopedNamespace('verify');
  ns.outside = await createNamespace('verify-outside');
  ns.psa = await createNamespace('verify-psa', { 'pod-security.kubernetes.io/enforce': 'baseline' });
  ns.exempt = await scopedNamespace('verify-exempt');
  ns.exc = await scopedNamespace('verify-exc');
  ns.odd = await scopedNamespace('verify-odd');
  ns.accounts = await createNamespace('verify-accounts');
  await createException(ns.exc, 'agent', { podSelector: agentSelector });
  await createException(ns.exc, 'old-debug', {
    allow: ['hostPID'],
    podSelector: { matchLabels: { app: 'debug' } },
    riskAcceptance: { justification: 'debugging a node-level incident last week', acceptedBy: 'security-board' },
    expiresAt: expiredAt,
  });
  await createException(ns.odd, 'contradiction', {
    podSelector: {
      matchExpressions: [
        { key: 'a', operator: 'Exists' },
        { key: 'a', operator: 'DoesNotExist' },
      ],
    },
  });
  // What the operator would write: a grants object in every namespace the bindings cover but the
  // exempt one, empty but in ns.exc: the active grant (and the lapsed one it has not pruned yet,
  // which the policy must refuse by its time all the same).
  grants = {
    [ns.enforced]: [],
    [ns.odd]: [],
    [ns.exc]: [
      {
        exception: 'agent',
        allow: ['hostNetwork'],
        expiresAt: iso(DateTime.utc().plus({ days: 30 })),
        selector: {
          matchLabels: agentSelector.matchLabels,
          matchExpressions: agentSelector.matchExpressions as Grant['selector']['matchExpressions'],
        },
      },
      {
        exception: 'old-debug',
        allow: ['hostPID'],
        expiresAt: expiredAt,
        selector: { matchLabels: { app: 'debug' }, matchExpressions: [] },
      },
    ],
  };
  await installMode([]);
  await settle('deny');
  const lapse = DateTime.fromISO(expiredAt).diffNow().toMillis();
  if (lapse > -1000) await new Promise((r) => setTimeout(r, lapse + 1000));
}, 120_000);

afterAll(async () => {
  if (manifests) uninstall(manifests);
});

describe('kubectl hostns verify, policy in deny mode', () => {
  let json: VerifyJson;
  let code: number;
  let before: string[];
  beforeAll(async () => {
    before = await leftovers();
    ({ json, code } = verify(scope()));
  });

  it('refuses every flag where the policy binds: enforced, by hostns-host-namespaces', () => {
    expect(row(json, ns.enforced).result).toBe('enforced');
    expect(verdicts(json, ns.enforced)).toEqual([
      'hostNetwork=refused by hostns-host-namespaces',
      'hostPID=refused by hostns-host-namespaces',
      'hostIPC=refused by hostns-host-namespaces',
    ]);
    expect(row(json, ns.enforced).flags[0]!.message).toMatch(
      /Pod 'hostns-verify-hostnetwork-[a-z0-9]+' uses hostNetwork, and no active HostNamespaceException/,
    );
  });

  it('a namespace the binding leaves out is not enforced, and says why', () => {
    expect(row(json, ns.outside).result).toBe('not-enforced');
    expect(verdicts(json, ns.outside)).toEqual(['hostNetwork=admitted', 'hostPID=admitted', 'hostIPC=admitted']);
    expect(row(json, ns.outside).detail).toMatch(
      /^the namespaceSelector of the binding hostns-host-namespaces \(.*hostns.io\/admission-test in \(.*\) leaves/,
    );
  });

  it('Pod Security (enforce: baseline) counts as enforcement, named as such', () => {
    expect(row(json, ns.psa).result).toBe('enforced');
    expect(verdicts(json, ns.psa)).toEqual([
      'hostNetwork=refused by PodSecurity',
      'hostPID=refused by PodSecurity',
      'hostIPC=refused by PodSecurity',
    ]);
  });

  it('the probe is a valid pod Pod Security `restricted` admits but for its host flag', async () => {
    const restricted = await createNamespace('verify-restricted', {
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    const r = verify(['-n', restricted]);
    expect(verdicts(r.json, restricted)).toEqual([
      'hostNetwork=refused by PodSecurity',
      'hostPID=refused by PodSecurity',
      'hostIPC=refused by PodSecurity',
    ]);
    expect(r.json.namespaces[0]!.flags[0]!.message).toMatch(
      /violates PodSecurity "restricted:latest": host namespaces \(hostNetwork=true\)$/,
    );
    expect(r.code).toBe(0);
  });

  it('a namespace declared exempt (and exempt in the binding) is admitted, not a finding', () => {
    expect(row(json, ns.exempt)).toMatchObject({ exempt: true, result: 'exempt', detail: 'declared exempt' });
    expect(verdicts(json, ns.exempt)).toEqual(['hostNetwork=admitted', 'hostPID=admitted', 'hostIPC=admitted']);
  });

  it("an active exception: a probe with its selector's labels (matchLabels, In, Exists) and flags is admitted", () => {
    expect(row(json, ns.exc).result).toBe('enforced');
    const agent = exceptionRow(json, 'agent');
    expect(agent).toMatchObject({ phase: 'Active', expected: 'admitted', got: 'admitted', finding: false });
    expect(agent.labels).toMatchObject({ app: 'agent', tier: 'infra', 'example.com/approved': 'hostns-verify' });
  });

  it('an expired exception: its probe is refused, the lapse named in the refusal', () => {
    const old = exceptionRow(json, 'old-debug');
    expect(old).toMatchObject({
      phase: 'Expired',
      expected: 'refused',
      got: 'refused',
      by: 'hostns-host-namespaces',
      finding: false,
    });
    expect(old.message).toContain(`(lapsed: old-debug (expired ${expiredAt}))`);
  });

  it('exits 1 for the namespace not enforced; 0 once only enforced and exempt ones are asked', () => {
    expect(code).toBe(1);
    expect(json.summary).toMatchObject({
      namespaces: 5,
      enforced: 3,
      notEnforced: 1,
      exempt: 1,
      exceptionProbes: 2,
      exceptionFindings: 0,
      failed: true,
    });
    const ok = verify(['-n', ns.enforced, '-n', ns.exc, '-n', ns.exempt, '--exempt-namespaces', ns.exempt]);
    expect(ok.code).toBe(0);
    expect(ok.json.summary).toMatchObject({ failed: false, incomplete: false });
  });

  it('an exception whose selector no pod can satisfy is reported, not probed: exit 2 (incomplete)', () => {
    const r = verify(['-n', ns.odd]);
    expect(r.json.exceptions).toMatchObject([
      {
        name: 'contradiction',
        got: 'not-probed',
        message: 'no probe can carry labels its selector selects: key a must both exist and not exist',
      },
    ]);
    expect(r.code).toBe(2);
  });

  it('renders a table', () => {
    const r = hostns(['verify', ...scope()]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAMESPACE +HOSTNETWORK +HOSTPID +HOSTIPC +RESULT +DETAIL$/);
    expect(r.stdout).toMatch(
      new RegExp(`\\n${ns.outside} +admitted +admitted +admitted +NOT ENFORCED +the namespaceSelector of the binding`),
    );
    expect(r.stdout).toMatch(
      new RegExp(`\\n${ns.exc} +agent +Active +hostNetwork +.*app=agent.* +admitted +admitted\\n`),
    );
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(
      '5 namespaces: 3 enforced, 0 warn only, 1 not enforced, 1 exempt; 2 exception probes, 0 not as expected',
    );
  });

  it('leaves nothing behind: no pod, no Event, no probe anywhere', async () => {
    expect(before).toEqual([]);
    expect(await leftovers()).toEqual([]);
  });
});

describe('kubectl hostns verify, access', () => {
  const kubeconfigs: string[] = [];
  /** A kubeconfig for a new ServiceAccount (token from the TokenRequest API), optionally bound. */
  function serviceAccountKubeconfig(name: string, clusterRole?: string): string {
    expect(kubectl(['create', 'serviceaccount', name, '-n', ns.accounts]).code).toBe(0);
    if (clusterRole)
      expect(
        kubectl([
          'create',
          'clusterrolebinding',
          `${name}-${ns.accounts}`,
          `--clusterrole=${clusterRole}`,
          `--serviceaccount=${ns.accounts}:${name}`,
        ]).code,
      ).toBe(0);
    const file = tokenKubeconfig(ns.accounts, name, join(tmpdir(), `hostns-verify-${name}-${process.pid}.kubeconfig`));
    kubeconfigs.push(file);
    return file;
  }
  afterAll(() => {
    for (const f of kubeconfigs) rmSync(f, { force: true });
    kubectl(['delete', 'clusterrolebinding', '--ignore-not-found', `verifier-${ns.accounts}`]);
    // The shipped ClusterRole goes too: a later Helm install of the chart must be able to own it.
    kubectl(['delete', '--ignore-not-found', '-f', 'config/rbac/verify_role.yaml']);
  });

  it('works with only the shipped ClusterRole hostns-verifier bound', () => {
    expect(kubectl(['apply', '-f', 'config/rbac/verify_role.yaml']).code).toBe(0);
    const file = serviceAccountKubeconfig('verifier', 'hostns-verifier');
    const r = hostns(['verify', ...scope(), '--kubeconfig', file, '-o', 'json'], { kubeconfig: false });
    expect(withoutDefaultsNote(r.stderr)).toBe('');
    const json = JSON.parse(r.stdout) as VerifyJson;
    expect(row(json, ns.enforced).result).toBe('enforced');
    // the diagnosis reads the policies, bindings, index and the namespace's grants object: granted too
    expect(row(json, ns.outside).detail).toMatch(/^the namespaceSelector of the binding hostns-host-namespaces /);
    expect(exceptionRow(json, 'agent')).toMatchObject({ got: 'admitted', finding: false });
    expect(r.code).toBe(1);
  });

  it('without RBAC: exit 3, naming the ClusterRole to bind', () => {
    const file = serviceAccountKubeconfig('nobody');
    const r = hostns(['verify', '-n', ns.enforced, '--kubeconfig', file], { kubeconfig: false });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /^error: listing namespaces: forbidden: .*cannot list resource "namespaces".*\(RBAC: config\/rbac\/verify_role.yaml\)\n$/,
    );
  });

  it('usage errors: exit 2; an unreachable API: exit 3', async () => {
    const missing = hostns(['verify', '-n', 'no-such-namespace-xyz']);
    expect(missing).toMatchObject({
      code: 2,
      stderr: 'error: -n/--namespace: no such namespace: no-such-namespace-xyz\n',
    });
    expect(hostns(['verify', '-n', ns.enforced, '-A']).code).toBe(2);
    const port = await closedPort();
    const cfg = readFileSync(kubeconfigPath(), 'utf8').replace(
      /server: https:\/\/127\.0\.0\.1:\d+/,
      `server: https://127.0.0.1:${port}`,
    );
    const file = join(tmpdir(), `hostns-verify-unreachable-${process.pid}.kubeconfig`);
    writeFileSync(file, cfg);
    kubeconfigs.push(file);
    const r = hostns(['verify', '--kubeconfig', file], { kubeconfig: false });
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `error: listing namespaces: cannot reach the Kubernetes API at https://127.0.0.1:${port} (ECONNREFUSED)\n`,
    );
  });
});

describe('kubectl hostns verify, other states of the policy', () => {
  it('warn mode: admitted with the policy warning; exit 1, 0 with --accept-warn; the lapsed exception warned', async () => {
    await installMode(['config/admission/modes/warn']);
    await settle('warn');
    const { json, code } = verify(scope());
    expect(row(json, ns.enforced).result).toBe('warn-only');
    expect(verdicts(json, ns.enforced)).toEqual([
      'hostNetwork=warned by hostns-host-namespaces',
      'hostPID=warned by hostns-host-namespaces',
      'hostIPC=warned by hostns-host-namespaces',
    ]);
    expect(row(json, ns.enforced).flags[1]!.message).toMatch(
      /^Validation failed for ValidatingAdmissionPolicy 'hostns-host-namespaces' with binding 'hostns-host-namespaces': Pod 'hostns-verify-hostpid-/,
    );
    expect(exceptionRow(json, 'agent')).toMatchObject({ got: 'admitted', finding: false });
    expect(exceptionRow(json, 'old-debug')).toMatchObject({ expected: 'refused', got: 'warned', finding: false });
    expect(code).toBe(1);
    expect(verify(['-n', ns.enforced, '-n', ns.exc, '--accept-warn']).code).toBe(0);
    expect(verify(['-n', ns.enforced, '-n', ns.exc]).code).toBe(1);
  });

  it("a namespace's grants object deleted, its index entry kept: not enforced, the stale entry named", async () => {
    await installMode([]);
    await settle('deny');
    deleteGuarded(GRANTS_PLURAL, GRANTS_NAME, ns.enforced);
    deleteGuarded(GRANTS_PLURAL, GRANTS_NAME, ns.exc);
    await settle('off');
    const { json, code } = verify(['-n', ns.enforced, '-n', ns.exc]);
    expect(row(json, ns.enforced)).toMatchObject({
      result: 'not-enforced',
      detail:
        'the grants object of this namespace (HostNamespaceGrantSet grants, the param of hostns-host-namespaces) ' +
        'is missing, so hostns-host-namespaces admits; hostns-grants-required, which refuses host namespaces ' +
        'then, did not: the HostNamespaceGrantIndex cluster still lists this namespace (a stale entry), so it admits',
    });
    expect(verdicts(json, ns.enforced)).toEqual(['hostNetwork=admitted', 'hostPID=admitted', 'hostIPC=admitted']);
    // and the expired exception's probe is admitted too: the namespace's finding, not a second one
    expect(exceptionRow(json, 'old-debug')).toMatchObject({ got: 'admitted', finding: false });
    expect(code).toBe(1);
  });

  it('dropped from the index too: refused by hostns-grants-required, active exceptions a finding', async () => {
    await setIndex((await indexed()).filter((n) => n !== ns.enforced && n !== ns.exc));
    await settle('deny');
    const { json, code } = verify(['-n', ns.enforced, '-n', ns.exc]);
    expect(row(json, ns.enforced)).toMatchObject({
      result: 'enforced',
      detail:
        'no grants object indexed for this namespace yet: hostns-grants-required refuses every host namespace, ' +
        'exceptions included, until the operator writes it',
    });
    expect(verdicts(json, ns.enforced)).toEqual([
      'hostNetwork=refused by hostns-grants-required',
      'hostPID=refused by hostns-grants-required',
      'hostIPC=refused by hostns-grants-required',
    ]);
    expect(row(json, ns.enforced).flags[0]!.message).toContain(
      `namespace ${ns.enforced} has no host namespace grants yet`,
    );
    expect(row(json, ns.exc).result).toBe('enforced');
    // the active exception is not honoured there: a finding; the expired one is refused as it should be
    expect(exceptionRow(json, 'agent')).toMatchObject({
      expected: 'admitted',
      got: 'refused',
      by: 'hostns-grants-required',
      finding: true,
    });
    expect(exceptionRow(json, 'old-debug')).toMatchObject({
      got: 'refused',
      by: 'hostns-grants-required',
      finding: false,
    });
    expect(code).toBe(1);
    expect(json.summary).toMatchObject({ enforced: 2, notEnforced: 0, exceptionFindings: 1, failed: true });
  });

  it('the grant index deleted as well: not enforced, the diagnosis names the missing index', async () => {
    deleteGuarded(GRANT_INDEX_PLURAL, GRANT_INDEX_NAME);
    await settle('off');
    const { json, code } = verify(['-n', ns.enforced]);
    expect(row(json, ns.enforced)).toMatchObject({
      result: 'not-enforced',
      detail: expect.stringMatching(
        /, did not: its param, the HostNamespaceGrantIndex cluster, is missing \(parameterNotFoundAction: Allow/,
      ),
    });
    expect(code).toBe(1);
  });

  it('policy removed: not enforced, the diagnosis says so; exit 1; still nothing left behind', async () => {
    uninstall(manifests);
    await settle('off');
    const { json, code } = verify(['-n', ns.enforced, '-n', ns.psa]);
    expect(row(json, ns.enforced)).toMatchObject({
      result: 'not-enforced',
      detail: 'the ValidatingAdmissionPolicy hostns-host-namespaces is not installed',
    });
    expect(row(json, ns.psa).result).toBe('enforced');
    expect(code).toBe(1);
    expect(await leftovers()).toEqual([]);
  });
});
