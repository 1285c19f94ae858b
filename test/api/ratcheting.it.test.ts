// Objects stored under older, looser rules stay correctable under the current CRD (validation
// ratcheting, GA in Kubernetes 1.30, plus rules that skip dates outside the grammar instead of
// failing on them), with the exception policy installed: the operator's status writes, labels and
// updates that leave or fix the bad field all go through; a new bad value is still refused.
// The test swaps the real CRD for a looser copy to store such objects, then puts it back.
import { readFileSync } from 'node:fs';
import { DateTime } from 'luxon';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATE_TIME_MESSAGE } from '../../src/api/validation.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { createNamespace, eventually, kubectl } from '../harness/clients.ts';
import { validException, type Json } from './exception-corpus.ts';
import { createException, patchException, readExceptionObject, rfc3339 } from './exceptions.ts';

const CRD_FILE = 'crds/hostnamespaceexceptions.yaml';
const DAY = 86_400_000;
type Obj = Record<string, any>;

/** The CRD with every CEL rule below spec removed: the "older, looser" rules. */
function looserCrd(): Obj {
  const crd = parse(readFileSync(CRD_FILE, 'utf8')) as Obj;
  const strip = (s: Obj): void => {
    delete s['x-kubernetes-validations'];
    for (const child of Object.values(s.properties ?? {})) strip(child as Obj);
    if (s.items) strip(s.items);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') strip(s.additionalProperties);
  };
  strip(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec);
  return crd;
}

function fresh(name: string, change: (spec: Obj) => void): Json {
  const obj = validException(name, rfc3339(new Date(Date.now() + 30 * DAY)));
  const spec = obj.spec as Obj;
  spec.riskAcceptance.acceptedAt = rfc3339(new Date(Date.now() - DAY));
  spec.review.lastReviewedAt = rfc3339(new Date(Date.now() - DAY));
  change(spec);
  return obj;
}

/** Stored under the looser rules; each breaks one current rule. `field` names it, `fix` repairs it. */
const OLD_OBJECTS: Array<{
  name: string;
  field: string;
  change: (s: Obj) => void;
  fix: Obj;
  again?: Obj;
  says?: string;
}> = [
  {
    name: 'lowercase-date',
    field: 'spec.expiresAt',
    change: (s) => (s.expiresAt = s.expiresAt.replace('T', 't').replace('Z', 'z')),
    fix: { spec: { expiresAt: rfc3339(new Date(Date.now() + 20 * DAY)) } },
    again: { spec: { expiresAt: '2030-01-31t00:00:00z' } },
    says: `spec.expiresAt: Invalid value: "2030-01-31t00:00:00z": ${DATE_TIME_MESSAGE}`,
  },
  {
    name: 'offset-24',
    field: 'spec.riskAcceptance.acceptedAt',
    change: (s) => (s.riskAcceptance.acceptedAt = `${rfc3339(new Date(Date.now() - 2 * DAY)).slice(0, 19)}+24:00`),
    fix: { spec: { riskAcceptance: { acceptedAt: rfc3339(new Date(Date.now() - DAY)) } } },
    again: { spec: { riskAcceptance: { acceptedAt: '2030-01-01T00:00:00+25:00' } } },
    says: `spec.riskAcceptance.acceptedAt: Invalid value: "2030-01-01T00:00:00+25:00": ${DATE_TIME_MESSAGE}`,
  },
  {
    name: 'review-feb-30',
    field: 'spec.review.lastReviewedAt',
    change: (s) => (s.review.lastReviewedAt = '2026-02-30T00:00:00Z'),
    fix: { spec: { review: { lastReviewedAt: rfc3339(new Date(Date.now() - DAY)) } } },
    again: { spec: { review: { lastReviewedAt: '2026-02-31T00:00:00Z' } } },
    says: `spec.review.lastReviewedAt: Invalid value: "2026-02-31T00:00:00Z": ${DATE_TIME_MESSAGE}`,
  },
  {
    name: 'owner-newline',
    field: 'spec.owner',
    change: (s) => (s.owner = 'team\nobservability'),
    fix: { spec: { owner: 'team-observability' } },
    again: { spec: { owner: 'team\u200b' } },
    says: 'must be single-line visible text',
  },
  {
    name: 'own-marks',
    field: 'spec.podSelector',
    change: (s) => (s.podSelector = { matchLabels: { 'hostns.io/violation': 'true' } }),
    fix: { spec: { podSelector: { matchLabels: { 'hostns.io/violation': null, app: 'agent' } } } },
    again: { spec: { podSelector: { matchExpressions: [{ key: 'hostns.io/exception', operator: 'DoesNotExist' }] } } },
    says: 'must not be a hostns.io/ key',
  },
  {
    name: 'catch-all',
    field: 'spec.namespaceWide',
    change: (s) => (s.podSelector = {}),
    fix: { spec: { namespaceWide: true } },
  },
];

let ns = '';
let probeNs = '';
const probe = () => fresh('probe', (s) => (s.expiresAt = s.expiresAt.toLowerCase()));

async function crdInForce(refusesProbe: boolean): Promise<void> {
  await eventually(
    async () => {
      const v = await createException(probeNs, probe(), 'Strict', 'All');
      return (v.code !== 201) === refusesProbe ? true : undefined;
    },
    60_000,
    `the ${refusesProbe ? 'strict' : 'looser'} CRD to be in force`,
  );
}

beforeAll(async () => {
  ns = await createNamespace('api-ratchet');
  probeNs = await createNamespace('api-ratchet-probe');
  const policy = kubectl(['apply', '-k', 'config/exception-policy']);
  expect(policy.code, policy.stderr).toBe(0);
  await eventually(
    async () => {
      const v = await createException(
        probeNs,
        fresh('policy-probe', (s) => (s.expiresAt = rfc3339(new Date(Date.now() + 120 * DAY)))),
        'Strict',
        'All',
      );
      return v.message.includes('hostns-exception-lifetime') ? true : undefined;
    },
    60_000,
    'the exception policy to be in force',
  );

  const loose = kubectl(['apply', '-f', '-'], JSON.stringify(looserCrd()));
  expect(loose.code, loose.stderr).toBe(0);
  await crdInForce(false);
  for (const o of OLD_OBJECTS) {
    const v = await createException(ns, fresh(o.name, o.change));
    expect(v.code, `${o.name}: ${v.message}`).toBe(201);
  }
  const strict = kubectl(['apply', '-f', CRD_FILE]);
  expect(strict.code, strict.stderr).toBe(0);
  await crdInForce(true);
}, 240_000);

afterAll(async () => {
  kubectl(['apply', '-f', CRD_FILE]);
  kubectl(['delete', '-k', 'config/exception-policy', '--ignore-not-found']);
  if (probeNs) {
    await eventually(
      async () => {
        const v = await createException(
          probeNs,
          fresh('policy-probe', (s) => (s.expiresAt = rfc3339(new Date(Date.now() + 120 * DAY)))),
          'Strict',
          'All',
        );
        return v.code === 201 ? true : undefined;
      },
      60_000,
      'the exception policy to be gone',
    );
  }
});

describe.each(OLD_OBJECTS.map((o) => [o.name, o] as const))('an object stored under looser rules: %s', (_, o) => {
  it('is refused today when created anew, naming the field', async () => {
    const v = await createException(ns, fresh(`${o.name}-anew`, o.change), 'Strict', 'All');
    expect(v.code).toBe(422);
    expect(v.message).toContain(o.field);
    expect(v.message).not.toContain('type conversion');
    expect(v.message).not.toContain('no such key');
  });

  it("takes the operator's status writes (the status never depends on the spec being valid)", async () => {
    const now = DateTime.utc();
    const status = {
      phase: 'Invalid',
      allows: 'hostNetwork,hostPID',
      conditions: [
        {
          type: 'Valid',
          status: 'False',
          lastTransitionTime: rfc3339(now.toJSDate()),
          reason: 'Invalid',
          message: `${o.field} is wrong`,
        },
      ],
    };
    const r = patchException(ns, o.name, { status }, 'status');
    expect(r.code, r.stderr).toBe(0);
    expect(((await readExceptionObject(ns, o.name)).status as Obj).phase).toBe('Invalid');
  });

  it('takes labels, and spec updates that leave the bad field as it is', () => {
    const label = kubectl(['label', 'hnse', '-n', ns, o.name, 'reviewed=yes']);
    expect(label.code, label.stderr).toBe(0);
    const ticket = patchException(ns, o.name, { spec: { riskAcceptance: { ticket: 'SEC-2000' } } });
    expect(ticket.code, ticket.stderr).toBe(0);
  });

  if (o.again) {
    it('refuses a new bad value in that field, naming it', () => {
      const r = patchException(ns, o.name, o.again!);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(o.says!);
      expect(r.stderr).not.toContain('type conversion');
    });
  }

  it('can be corrected', () => {
    const r = patchException(ns, o.name, o.fix);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('the operator reads the old objects with the same grammar', () => {
  it.each(OLD_OBJECTS.filter((o) => o.name !== 'catch-all').map((o) => [o.name, o] as const))(
    '%s is Invalid, naming the field',
    (_, o) => {
      const obj = fresh(o.name, o.change);
      (obj.metadata as Obj).creationTimestamp = rfc3339(new Date(Date.now() - 2 * DAY));
      const lc = evaluateLifecycle(readException(obj), DateTime.utc(), DEFAULT_POLICY);
      expect(lc.phase).toBe('Invalid');
      expect(lc.problems.join('\n')).toContain(o.field);
    },
  );
});
