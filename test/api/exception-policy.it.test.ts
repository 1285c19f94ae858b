// The exception policy (config/exception-policy): a ValidatingAdmissionPolicy on
// HostNamespaceException that refuses an expiry already past and a lifetime over the maximum,
// using metadata.creationTimestamp as "now" on CREATE. Installed here, removed in afterAll.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNamespace, eventually, kubectl } from '../harness/kube.ts';
import { validException, type Json } from './exception-corpus.ts';
import { createException, patchException, readExceptionObject, rfc3339, samplesWithExpiry } from './exceptions.ts';

const DAY = 86_400_000;
const POLICY = 'hostns-exception-lifetime';
const inDays = (days: number): string => rfc3339(new Date(Date.now() + days * DAY));

/** An exception expiring `expiresInDays` from now, accepted `acceptedDaysAgo` ago (unset: none). */
function exception(name: string, expiresInDays: number, acceptedDaysAgo?: number): Json {
  const obj = validException(name, inDays(expiresInDays));
  const risk = (obj.spec as Record<string, Record<string, unknown>>).riskAcceptance!;
  delete (obj.spec as Record<string, unknown>).review;
  if (acceptedDaysAgo === undefined) delete risk.acceptedAt;
  else risk.acceptedAt = inDays(-acceptedDaysAgo);
  return obj;
}

/** Polls with dry-run creates until the policy in force refuses (or admits) `probe`. */
async function policyInForce(ns: string, probe: Json, refused: boolean, says = ''): Promise<void> {
  await eventually(async () => {
    const v = await createException(ns, probe, 'Strict', 'All');
    const isRefused = v.code !== 201 && v.message.includes(POLICY) && v.message.includes(says);
    return isRefused === refused ? true : undefined;
  }, 60_000, `the exception policy to ${refused ? 'refuse' : 'admit'} ${JSON.stringify((probe.spec as Json).expiresAt)}`);
}

function applyPolicy(dir: string): void {
  const r = kubectl(['apply', '-k', dir]);
  expect(r.code, r.stderr).toBe(0);
}

describe('exception policy (config/exception-policy)', () => {
  let probeNs = '';
  let ns = '';

  beforeAll(async () => {
    probeNs = await createNamespace('api-policy-probe');
    applyPolicy('config/exception-policy');
    // A binding takes a moment to be enforced.
    await policyInForce(probeNs, exception('probe', -1), true);
  });

  afterAll(async () => {
    kubectl(['delete', '-k', 'config/exception-policy', '--ignore-not-found']);
    // Leave no policy in force for the next test file.
    if (probeNs) await policyInForce(probeNs, exception('probe', -1), false);
  });

  beforeEach(async () => {
    ns = await createNamespace('api-policy');
  });

  it('is installed with its binding, both labelled as part of hostns-operator', () => {
    const r = kubectl(['get', 'validatingadmissionpolicy,validatingadmissionpolicybinding', '-l', 'app.kubernetes.io/part-of=hostns-operator', '-o', 'name']);
    expect(r.stdout).toContain(`validatingadmissionpolicy.admissionregistration.k8s.io/${POLICY}`);
    expect(r.stdout).toContain(`validatingadmissionpolicybinding.admissionregistration.k8s.io/${POLICY}`);
    const status = kubectl(['get', 'validatingadmissionpolicy', POLICY, '-o', 'jsonpath={.status.typeChecking}']);
    expect(status.stdout).not.toContain('warning');
  });

  it('admits the samples with an expiry within 90 days', () => {
    const samples = samplesWithExpiry(inDays(30));
    try {
      const r = kubectl(['apply', '-n', ns, '-k', samples]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.match(/hostnamespaceexception\.hostns\.io\/\S+ created/g)).toHaveLength(3);
    } finally {
      rmSync(samples, { recursive: true, force: true });
    }
  });

  it('refuses an expiry already past at creation', async () => {
    const v = await createException(ns, exception('past', -1));
    expect(v.code).toBe(422);
    expect(v.message).toContain(`ValidatingAdmissionPolicy '${POLICY}'`);
    expect(v.message).toMatch(/spec\.expiresAt \(\S+\) must be after the creation time \(\S+\): the exception would never grant anything/);
  });

  it('refuses a lifetime over 90 days from creation, admits one under', async () => {
    const v = await createException(ns, exception('too-long', 120));
    expect(v.code).toBe(422);
    expect(v.message).toMatch(/spec\.expiresAt \(\S+\) is 1(19|20) days after creation \(\S+\): over the maximum lifetime of 90 days/);
    expect((await createException(ns, exception('fine', 89))).code).toBe(201);
  });

  it('measures the lifetime from acceptedAt when set', async () => {
    const v = await createException(ns, exception('old-acceptance', 10, 100));
    expect(v.code).toBe(422);
    expect(v.message).toMatch(/is 1(09|10) days after spec\.riskAcceptance\.acceptedAt \(\S+\): over the maximum lifetime of 90 days/);
    expect((await createException(ns, exception('recent-acceptance', 20, 60))).code).toBe(201);
  });

  it('refuses an acceptedAt after the creation time', async () => {
    const v = await createException(ns, exception('accepted-tomorrow', 30, -1));
    expect(v.code).toBe(422);
    expect(v.message).toMatch(/spec\.riskAcceptance\.acceptedAt \(\S+\) must not be after the creation time/);
  });

  it('renewal: an exception without acceptedAt is extended only with an acceptedAt after its creation', async () => {
    expect((await createException(ns, exception('renew-me', 10))).code).toBe(201);
    const created = Date.parse(((await readExceptionObject(ns, 'renew-me')).metadata as Json).creationTimestamp as string);

    const stale = patchException(ns, 'renew-me', { spec: { expiresAt: inDays(20), riskAcceptance: { acceptedAt: inDays(-1) } } });
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain('extending spec.expiresAt is a renewal: spec.riskAcceptance.acceptedAt must be set to the time of the new risk acceptance, after the creation time');

    const renewed = patchException(ns, 'renew-me', { spec: { expiresAt: inDays(60), riskAcceptance: { acceptedAt: rfc3339(new Date(created + 1000)) } } });
    expect(renewed.code, renewed.stderr).toBe(0);

    const tooFar = patchException(ns, 'renew-me', { spec: { expiresAt: inDays(200), riskAcceptance: { acceptedAt: rfc3339(new Date(created + 2000)) } } });
    expect(tooFar.code).not.toBe(0);
    expect(tooFar.stderr).toContain('over the maximum lifetime of 90 days');
  });

  it('the maximum is configurable by a kustomize overlay; untouched lifetimes are not re-checked', async () => {
    // Admitted under the default maximum: 80 days from acceptance.
    expect((await createException(ns, exception('eighty-days', 20, 60))).code).toBe(201);

    const overlay = mkdtempSync(join(tmpdir(), 'hostns-policy-overlay-'));
    try {
      writeFileSync(
        join(overlay, 'kustomization.yaml'),
        [
          'apiVersion: kustomize.config.k8s.io/v1beta1',
          'kind: Kustomization',
          'resources:',
          `  - ${relative(overlay, resolve('config/exception-policy'))}`, // kustomize wants a relative path
          'patches:',
          `  - target: {kind: ValidatingAdmissionPolicy, name: ${POLICY}}`,
          '    patch: |-',
          '      - op: replace',
          '        path: /spec/variables/0/expression',
          "        value: duration('720h')",
          '',
        ].join('\n'),
      );
      applyPolicy(overlay);
      await policyInForce(probeNs, exception('probe-40', 40), true, 'maximum lifetime of 30 days');
      const v = await createException(ns, exception('forty-days', 40));
      expect(v.message).toContain('over the maximum lifetime of 30 days');

      // Edits that leave expiresAt and acceptedAt alone pass, so lowering the maximum never
      // blocks labels, finalizers, review bookkeeping or the operator's status.
      expect(kubectl(['label', 'hnse', '-n', ns, 'eighty-days', 'reviewed=yes']).code).toBe(0);
      const review = patchException(ns, 'eighty-days', { spec: { review: { lastReviewedAt: inDays(0), reviewedBy: 'jane' } } });
      expect(review.code, review.stderr).toBe(0);
      expect(patchException(ns, 'eighty-days', { status: { phase: 'Active' } }, 'status').code).toBe(0);
      // Touching the expiry re-checks the lifetime against the new maximum.
      const shorten = patchException(ns, 'eighty-days', { spec: { expiresAt: inDays(10) } });
      expect(shorten.stderr).toContain('over the maximum lifetime of 30 days');
    } finally {
      applyPolicy('config/exception-policy');
      rmSync(overlay, { recursive: true, force: true });
    }
    await policyInForce(probeNs, exception('probe-40', 40), false);
  });
});
