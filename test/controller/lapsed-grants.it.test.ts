// Issue 15 item 3 on the real API server, with the operator running as a process and the shipped
// admission policy installed: after an exception lapses, the refusal every creator reads (kubectl,
// or a workload controller's FailedCreate) names the lapsed exception, its owner and its expiry.
// The operator keeps the lapsed exception in the namespace's grants object as a non-granting entry
// (spec.lapsed): it never admits anything, a renewal makes it a grant again, deleting the exception
// removes it, and a converged restart writes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import type { HostNamespaceGrantSet } from '../../src/api/v1alpha1.ts';
import { customObjects, eventually, kubectl } from '../harness/clients.ts';
import { OperatorProcess } from '../harness/operator-process.ts';
import { clusterObjects, explainWrites } from '../harness/write-audit.ts';
import { createException, GROUP, VERSION } from '../harness/exceptions.ts';
import {
  apply,
  buildAdmission,
  deploymentManifest,
  expectedRefusal,
  podManifest,
  scopedForTest,
  scopedNamespace,
  sortLabels,
  tryCreate,
  uninstall,
} from '../admission/admission.ts';

const OWNER = 'team-network (on call: #net-oncall)';
const labels = { app: 'agent' };
const iso = (t: DateTime) => t.toUTC().toISO({ suppressMilliseconds: true })!;

async function grantsSpec(ns: string): Promise<HostNamespaceGrantSet['spec'] | undefined> {
  try {
    const g = (await customObjects().getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: 'hostnamespacegrantsets',
      name: 'grants',
    })) as HostNamespaceGrantSet;
    return g.spec;
  } catch {
    return undefined;
  }
}
const untilGrants = (ns: string, holds: (spec: HostNamespaceGrantSet['spec']) => boolean, what: string) =>
  eventually(
    async () => {
      const spec = await grantsSpec(ns);
      return spec && holds(spec) ? spec : undefined;
    },
    30_000,
    what,
  );
const patchException = (ns: string, name: string, spec: object) => {
  const r = kubectl(['patch', 'hnse', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec })]);
  expect(r.code, r.stderr).toBe(0);
};

let op: OperatorProcess;
let manifests: ReturnType<typeof buildAdmission>;
let ns: string;

beforeAll(async () => {
  ns = await scopedNamespace('lapsed');
  manifests = scopedForTest(buildAdmission());
  apply(manifests);
  op = await OperatorProcess.start();
  await op.converged(60_000);
}, 120_000);

afterAll(async () => {
  await op?.kill('SIGTERM');
  if (manifests) uninstall(manifests);
});

describe('an exception that lapses stays named in refusals, granting nothing', () => {
  let expiresAt: DateTime;

  it('after the lapse a pod create and a template update are refused, naming the exception, its owner and expiry', async () => {
    expiresAt = DateTime.utc().plus({ seconds: 8 }).startOf('second');
    await createException(ns, 'node-agent', { owner: OWNER, expiresAt: iso(expiresAt) });
    await untilGrants(ns, (s) => s.grants.some((g) => g.exception === 'node-agent'), 'the grant written');
    await eventually(
      async () =>
        (await tryCreate(podManifest('agent', labels, ['hostNetwork']), ns, true)).admitted ? true : undefined,
      30_000,
      'a covered pod admitted',
    );
    expect(await tryCreate(deploymentManifest('agent', labels, ['hostNetwork']), ns)).toEqual({
      admitted: true,
      message: '',
    });

    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt.toMillis() + 200 - Date.now())));
    const lapsedItem = `node-agent (owner: ${OWNER}, expired ${iso(expiresAt)})`;
    const refusal = expectedRefusal('Pod', 'agent', ns, ['hostNetwork'], labels, [lapsedItem]);
    // At once, whether the operator has moved the grant yet or not: the grant carries the owner too.
    expect((await tryCreate(podManifest('agent', labels, ['hostNetwork']), ns, true)).message).toBe(refusal);

    // The operator keeps it as a lapsed entry: no grant left, only what the message needs.
    const spec = await untilGrants(ns, (s) => !!s.lapsed?.length, 'the lapsed entry written');
    expect(spec).toEqual({
      grants: [],
      lapsed: [
        {
          exception: 'node-agent',
          owner: OWNER,
          allow: ['hostNetwork'],
          expiresAt: iso(expiresAt),
          selector: { matchLabels: labels, matchExpressions: [] },
        },
      ],
    });
    const created = await tryCreate(podManifest('agent', labels, ['hostNetwork']), ns, true);
    expect(created).toMatchObject({ admitted: false, message: refusal });
    // An UPDATE has no creationTimestamp to compare: the entry must not grant there either.
    const image = kubectl(['set', 'image', '-n', ns, 'deployment/agent', 'c=busybox:1.37']);
    expect(image.code).not.toBe(0);
    expect(sortLabels(image.stderr)).toContain(
      expectedRefusal('Deployment', 'agent', ns, ['hostNetwork'], labels, [lapsedItem]),
    );
    console.log(`[captured] ${image.stderr.trim()}`);
  });

  it('renewed: a grant again at once, the lapsed entry gone, the template update admitted', async () => {
    const renewedUntil = DateTime.utc().plus({ days: 30 }).startOf('second');
    patchException(ns, 'node-agent', {
      expiresAt: iso(renewedUntil),
      riskAcceptance: {
        justification: 'agent needs the node network to scrape kubelet',
        acceptedBy: 'security-board',
        acceptedAt: iso(DateTime.utc().startOf('second')),
      },
    });
    const spec = await untilGrants(ns, (s) => s.grants.length === 1 && !s.lapsed, 'the grant back, no lapsed entry');
    expect(spec.grants[0]).toMatchObject({ exception: 'node-agent', owner: OWNER, expiresAt: iso(renewedUntil) });
    await eventually(
      async () =>
        (await tryCreate(podManifest('agent', labels, ['hostNetwork']), ns, true)).admitted ? true : undefined,
      30_000,
      'a covered pod admitted again',
    );
    const image = kubectl(['set', 'image', '-n', ns, 'deployment/agent', 'c=busybox:1.37']);
    expect(image.code, image.stderr).toBe(0);
  });

  it('a lapsed exception deleted: its entry goes with it', async () => {
    await createException(ns, 'old-agent', { owner: 'team-old', podSelector: { matchLabels: { app: 'old' } } });
    await untilGrants(ns, (s) => s.grants.some((g) => g.exception === 'old-agent'), 'old-agent granted');
    // Shortening is always allowed; after creation and already past: it lapses now.
    await new Promise((r) => setTimeout(r, 2_000));
    patchException(ns, 'old-agent', { expiresAt: iso(DateTime.utc().minus({ seconds: 1 }).startOf('second')) });
    await untilGrants(ns, (s) => s.lapsed?.[0]?.exception === 'old-agent', 'old-agent lapsed entry');
    const d = await tryCreate(podManifest('old', { app: 'old' }, ['hostNetwork']), ns, true);
    expect(d.message).toContain('(lapsed: old-agent (owner: team-old, expired ');
    const del = kubectl(['delete', 'hnse', 'old-agent', '-n', ns]);
    expect(del.code, del.stderr).toBe(0);
    const spec = await untilGrants(ns, (s) => !s.lapsed, 'the lapsed entry removed');
    expect(spec.grants.map((g) => g.exception)).toEqual(['node-agent']);
    const after = await tryCreate(podManifest('old', { app: 'old' }, ['hostNetwork']), ns, true);
    expect(after.admitted).toBe(false);
    expect(after.message).not.toContain('(lapsed:');
  });

  it('a restart on a converged cluster holding a lapsed entry performs zero writes', async () => {
    await createException(ns, 'gone-agent', { owner: 'team-gone', podSelector: { matchLabels: { app: 'gone' } } });
    await new Promise((r) => setTimeout(r, 2_000));
    patchException(ns, 'gone-agent', { expiresAt: iso(DateTime.utc().minus({ seconds: 1 }).startOf('second')) });
    await untilGrants(ns, (s) => s.lapsed?.[0]?.exception === 'gone-agent', 'gone-agent lapsed entry');
    await op.converged();
    const before = clusterObjects();
    op = await op.restart(['--log-level', 'debug']);
    const writes = await op.writes();
    const after = clusterObjects();
    expect(writes, explainWrites(op.log, before, after)).toBe(0);
    expect((await grantsSpec(ns))?.lapsed?.map((l) => l.exception)).toEqual(['gone-agent']);
  });
});
