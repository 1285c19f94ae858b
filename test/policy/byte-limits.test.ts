// Everything the policy core writes stays within the API's byte limits, whatever users put in
// the names, owners and selectors it quotes.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { eventBody } from '../../src/kube/events.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { CONDITION_MESSAGE_MAX_BYTES, OUR_ANNOTATION_MAX_BYTES } from '../../src/policy/limits.ts';
import { desiredMarks, labelsOnly, marksPatch } from '../../src/policy/pod-marks.ts';
import { violationNote } from '../../src/policy/violation.ts';
import { planException } from '../../src/policy/status.ts';
import { exception } from './fixtures.ts';
import type { Enforcement } from '../../src/policy/grants.ts';

const ENFORCED: Enforcement = { enforced: true, reason: 'InAdmissionGrants', message: 'in the admission grants' };

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const now = DateTime.fromISO('2026-11-02T00:00:00Z', { zone: 'utc' });
const target = { apiVersion: 'v1', kind: 'Pod', namespace: 'ns', name: 'p', uid: 'u' };

describe('byte limits of what the policy core writes', () => {
  const owners = ['😀'.repeat(253), 'é'.repeat(253), '日'.repeat(253), 'a😀é日'.repeat(63)];
  it('every lifecycle Event note of an exception with a 253-character owner fits 1,024 bytes', () => {
    for (const owner of owners) {
      for (const at of [
        '2026-11-02T00:00:00Z',
        '2026-11-28T00:00:00Z',
        '2026-12-02T00:00:00Z',
        '2027-01-02T00:00:00Z',
      ]) {
        const ex = exception({ spec: { owner } });
        const facts = readException(ex);
        const t = DateTime.fromISO(at, { zone: 'utc' });
        const plan = planException(ex, facts, evaluateLifecycle(facts, t, DEFAULT_POLICY), 1, ENFORCED, t);
        for (const e of plan.events) {
          const note = eventBody({ regarding: target, ...e }, t, 'op').note as string;
          expect(bytes(note)).toBeLessThanOrEqual(1024);
          expect(Buffer.from(note).toString()).toBe(note); // no split code point
        }
      }
    }
  });
  it('a violation note quoting two lapsed exceptions with 253 x "é" owners fits 1,024 bytes', () => {
    const expiresAt = '2026-12-01T00:00:00Z';
    const note = violationNote(
      { namespace: 'ns', name: 'p' },
      {
        flags: ['hostNetwork'],
        lapsed: [
          { name: 'a', owner: 'é'.repeat(253), expiresAt },
          { name: 'b', owner: 'é'.repeat(253), expiresAt },
        ],
        broken: [],
        lost: [],
      },
    );
    expect(note.length).toBeLessThan(1024); // the old length check let it through
    expect(bytes(note)).toBeGreaterThan(1024);
    const sent = eventBody(
      { regarding: target, type: 'Warning', reason: 'HostNamespaceViolation', action: 'Classify', note, key: 'k' },
      now,
      'op',
    ).note as string;
    expect(bytes(sent)).toBeLessThanOrEqual(1024);
    expect(sent.endsWith('…')).toBe(true);
  });
  it('condition messages quoting a huge selector stay within 32,768 bytes', () => {
    const values = Array.from({ length: 600 }, (_, i) => `${'é'.repeat(58)}${String(i).padStart(3, '0')}`);
    const ex = exception({ spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values }] } } });
    const facts = readException(ex);
    const plan = planException(ex, facts, evaluateLifecycle(facts, now, DEFAULT_POLICY), 1, ENFORCED, now);
    for (const c of plan.status.conditions ?? [])
      expect(bytes(c.message)).toBeLessThanOrEqual(CONDITION_MESSAGE_MAX_BYTES);
    expect(bytes(plan.status.conditions![0]!.message)).toBeGreaterThan(CONDITION_MESSAGE_MAX_BYTES - 200);
  });
  it('the hostns.io/exceptions annotation stays within its share whatever the number of covering exceptions', () => {
    for (const count of [1, 64, 65, 500]) {
      const exceptions = Array.from({ length: count }, (_, i) => `${'x'.repeat(59)}${String(i).padStart(4, '0')}`);
      const marks = desiredMarks({ kind: 'covered', used: ['hostNetwork'], exceptions });
      const value = marks.annotations['hostns.io/exceptions']!;
      expect(bytes(value)).toBeLessThanOrEqual(OUR_ANNOTATION_MAX_BYTES);
      expect(value.startsWith(exceptions[0]!)).toBe(true);
      if (count > 64) expect(value).toMatch(/ \(\+\d+ more\)$/);
      expect(marks.labels['hostns.io/exception']).toBe(exceptions[0]);
    }
  });
  it('labelsOnly keeps the label part of a patch (what must land even when annotations cannot)', () => {
    const patch = marksPatch(
      { labels: {}, annotations: {} },
      desiredMarks({
        kind: 'offender',
        used: ['hostPID'],
        uncovered: ['hostPID'],
        exceptions: [],
        lapsed: [],
        broken: [],
      }),
    )!;
    expect(labelsOnly(patch)).toEqual({ metadata: { labels: { 'hostns.io/violation': 'true' } } });
    expect(labelsOnly({ metadata: { annotations: { 'hostns.io/violation': null } } })).toBeUndefined();
  });
});
