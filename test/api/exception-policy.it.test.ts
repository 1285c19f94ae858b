// The exception policy (config/exception-policy): a ValidatingAdmissionPolicy on
// HostNamespaceException that refuses an expiry already past and a lifetime over the maximum,
// using metadata.creationTimestamp as "now" on CREATE. Installed here, removed in afterAll.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createNamespace, eventually, kubectl } from '../harness/clients.ts';
import { validException, type Json } from './exception-corpus.ts';
import { createException, patchException, readExceptionObject, rfc3339, samplesWithExpiry } from './exceptions.ts';
import { DateTime } from 'luxon';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';

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
  await eventually(
    async () => {
      const v = await createException(ns, probe, 'Strict', 'All');
      const isRefused = v.code !== 201 && v.message.includes(POLICY) && v.message.includes(says);
      return isRefused === refused ? true : undefined;
    },
    60_000,
    `the exception policy to ${refused ? 'refuse' : 'admit'} ${JSON.stringify((probe.spec as Json).expiresAt)}`,
  );
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
    const r = kubectl([
      'get',
      'validatingadmissionpolicy,validatingadmissionpolicybinding',
      '-l',
      'app.kubernetes.io/part-of=hostns-operator',
      '-o',
      'name',
    ]);
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
    expect(v.message).toMatch(
      /spec\.expiresAt \(\S+\) must be after the creation time \(\S+\): the exception would never grant anything/,
    );
  });

  it('refuses a lifetime over 90 days from creation, admits one under', async () => {
    const v = await createException(ns, exception('too-long', 120));
    expect(v.code).toBe(422);
    // A hair under 120 days (creation comes after the test's clock read): 120, rounded up.
    expect(v.message).toMatch(
      /spec\.expiresAt \(\S+\) is 120 days after creation \(\S+\): over the maximum lifetime of 90 days/,
    );
    expect((await createException(ns, exception('fine', 89))).code).toBe(201);
  });

  it('measures the lifetime from acceptedAt when set', async () => {
    const v = await createException(ns, exception('old-acceptance', 10, 100));
    expect(v.code).toBe(422);
    expect(v.message).toMatch(
      /is 1(09|10) days after spec\.riskAcceptance\.acceptedAt \(\S+\): over the maximum lifetime of 90 days/,
    );
    expect((await createException(ns, exception('recent-acceptance', 20, 60))).code).toBe(201);
  });

  it('refuses an acceptedAt after the creation time', async () => {
    const v = await createException(ns, exception('accepted-tomorrow', 30, -1));
    expect(v.code).toBe(422);
    expect(v.message).toMatch(/spec\.riskAcceptance\.acceptedAt \(\S+\) must not be after the creation time/);
  });

  it('refuses a review recorded after the creation time (it would silence ReviewOverdue)', async () => {
    for (const [i, lastReviewedAt] of [
      inDays(60),
      inDays(1),
      rfc3339(new Date(Date.now() + 3_600_000)).replace('Z', '+00:00'),
    ].entries()) {
      const obj = exception(`reviewed-later-${i}`, 30, 1);
      (obj.spec as Json).review = { lastReviewedAt, reviewedBy: 'jane' };
      const v = await createException(ns, obj);
      expect(v.code, lastReviewedAt).toBe(422);
      expect(v.message).toMatch(/spec\.review\.lastReviewedAt \(\S+\) must not be after the creation time/);
    }
    const past = exception('reviewed-before', 30, 2);
    (past.spec as Json).review = { lastReviewedAt: inDays(-1), reviewedBy: 'jane' };
    expect((await createException(ns, past)).code).toBe(201);
  });

  it('says the same number of days as the operator, at the boundaries', async () => {
    // acceptedAt fixes the start, so the lifetime is exact; the operator's Invalid message for the
    // same object is computed by lifetimeDays() in src/policy/lifecycle.ts.
    const start = Math.floor((Date.now() - 30 * DAY) / 1000) * 1000;
    for (const [i, lifetimeMs, days] of [
      [0, 120 * DAY, 120],
      [1, 90 * DAY + 1000, 91],
      [2, 100 * DAY - 1000, 100],
    ] as const) {
      const obj = exception(`boundary-${i}`, 1, 1);
      const spec = obj.spec as Record<string, Json>;
      spec.riskAcceptance!.acceptedAt = rfc3339(new Date(start));
      (spec as Json).expiresAt = rfc3339(new Date(start + lifetimeMs));
      const v = await createException(ns, obj);
      expect(v.code).toBe(422);
      expect(v.message).toContain(`is ${days} days after spec.riskAcceptance.acceptedAt`);
      const lc = evaluateLifecycle(
        readException({ ...obj, metadata: { name: 'x', creationTimestamp: rfc3339(new Date()) } }),
        DateTime.utc(),
        DEFAULT_POLICY,
      );
      expect(lc.problems.join()).toContain(`is ${days} days, over the maximum of 90 days`);
    }
    const exact = exception('boundary-exact', 1, 1);
    const spec = exact.spec as Record<string, Json>;
    spec.riskAcceptance!.acceptedAt = rfc3339(new Date(start));
    (spec as Json).expiresAt = rfc3339(new Date(start + 90 * DAY));
    expect((await createException(ns, exact)).code).toBe(201);
  });

  it("dates outside the grammar get the CRD's message naming the field, never a CEL type conversion", async () => {
    const cases: Array<[string, (s: Record<string, Json>) => void]> = [
      [
        'spec.expiresAt',
        (s) => ((s as Json).expiresAt = (s.expiresAt as unknown as string).replace('T', 't').replace('Z', 'z')),
      ],
      ['spec.expiresAt', (s) => ((s as Json).expiresAt = `${(s.expiresAt as unknown as string).slice(0, 19)}+24:00`)],
      ['spec.riskAcceptance.acceptedAt', (s) => (s.riskAcceptance!.acceptedAt = '2026-02-30T00:00:00Z')],
      ['spec.review.lastReviewedAt', (s) => ((s as Json).review = { lastReviewedAt: '2026-11-01T00:00:00z' })],
    ];
    for (const [i, [field, change]] of cases.entries()) {
      const obj = exception(`bad-date-${i}`, 30, 1);
      change(obj.spec as Record<string, Json>);
      const v = await createException(ns, obj);
      expect(v.code).toBe(422);
      expect(v.message).toContain(`${field}: Invalid value: "`);
      expect(v.message).toContain(`": must be an RFC 3339 date-time`);
      expect(v.message).not.toContain('type conversion');
      expect(v.message).not.toContain(POLICY);
    }
  });

  it('renewal: an exception without acceptedAt is extended only with an acceptedAt after its creation', async () => {
    expect((await createException(ns, exception('renew-me', 10))).code).toBe(201);
    const created = Date.parse(
      ((await readExceptionObject(ns, 'renew-me')).metadata as Json).creationTimestamp as string,
    );

    const stale = patchException(ns, 'renew-me', {
      spec: { expiresAt: inDays(20), riskAcceptance: { acceptedAt: inDays(-1) } },
    });
    expect(stale.code).not.toBe(0);
    expect(stale.stderr).toContain(
      'extending spec.expiresAt is a renewal: spec.riskAcceptance.acceptedAt must be set to the time of the new risk acceptance, after the creation time',
    );

    const renewed = patchException(ns, 'renew-me', {
      spec: { expiresAt: inDays(60), riskAcceptance: { acceptedAt: rfc3339(new Date(created + 1000)) } },
    });
    expect(renewed.code, renewed.stderr).toBe(0);

    const tooFar = patchException(ns, 'renew-me', {
      spec: { expiresAt: inDays(200), riskAcceptance: { acceptedAt: rfc3339(new Date(created + 2000)) } },
    });
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
      const review = patchException(ns, 'eighty-days', {
        spec: { review: { lastReviewedAt: inDays(0), reviewedBy: 'jane' } },
      });
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
