// The API's grammars (src/api/validation.ts), as the operator and the CLI read them. The CRD and
// the exception policy hold the same strings (crd-schema.test.ts); the integration tests send
// these variants to the API server.
import { describe, expect, it } from 'vitest';
import { DateTime } from 'luxon';
import { isApiDateTime, isOperatorKey, textProblem } from '../../src/api/validation.ts';
import { readException } from '../../src/policy/exception.ts';
import { DATE_VARIANTS, TEXT_VARIANTS } from './exception-corpus.ts';

describe('the date-time grammar', () => {
  it.each(DATE_VARIANTS.map((v) => [v.value, v] as const))('%s', (_, v) => {
    expect(isApiDateTime(v.value)).toBe(v.valid);
    // What the grammar admits, luxon reads to the same instant as JavaScript's Date.
    if (v.valid) expect(DateTime.fromISO(v.value, { setZone: true }).toMillis()).toBe(Date.parse(v.value));
  });

  it('the operator reads a date outside the grammar as a problem naming the field', () => {
    const facts = readException({
      spec: { expiresAt: '2026-12-17t10:00:00z', riskAcceptance: { acceptedAt: '2026-11-01T00:00:00+24:00' } },
    });
    expect(facts.problems).toContain(
      'spec.expiresAt "2026-12-17t10:00:00z" is not an RFC 3339 date-time: must be an RFC 3339 date-time such as ' +
        '2030-01-31T00:00:00Z or 2030-01-31T01:00:00+01:00 (uppercase T and Z, a real calendar date in the years 2000-2999, offset within ±23:59)',
    );
    expect(facts.problems.join('\n')).toContain(
      'spec.riskAcceptance.acceptedAt "2026-11-01T00:00:00+24:00" is not an RFC 3339 date-time',
    );
    expect(facts.expiresAt).toBeUndefined();
  });
});

describe('one-line visible text (owner, acceptedBy, ticket, reviewedBy)', () => {
  it.each(TEXT_VARIANTS.map((v) => [JSON.stringify(v.value), v] as const))('%s', (_, v) => {
    expect(textProblem(v.value)).toBe(v.problem);
  });
});

describe("the operator's own keys", () => {
  it.each([
    ['hostns.io/violation', true],
    ['hostns.io/exception', true],
    ['hostns.io/anything-else', true],
    ['example.hostns.io/k', false],
    ['hostns.io', false],
    ['app', false],
  ] as const)('%s: %s', (key, ours) => {
    expect(isOperatorKey(key)).toBe(ours);
  });
});
