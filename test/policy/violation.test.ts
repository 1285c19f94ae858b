// The cause of an offence, its marker and note: pure.
import { describe, expect, it } from 'vitest';
import { classifyPod } from '../../src/policy/classify.ts';
import { podSecurityProfile } from '../../src/policy/contract.ts';
import { utf8Bytes } from '../../src/policy/limits.ts';
import {
  causeFlags,
  causeKey,
  markedCause,
  priorCover,
  violationCause,
  violationMarker,
  violationNote,
  type ExceptionState,
} from '../../src/policy/violation.ts';

const pod = { namespace: 'ns', name: 'p', labels: { app: 'agent' }, hostNetwork: true, hostPID: true, hostIPC: false };
const exc = (name: string, over: Partial<ExceptionState> = {}): ExceptionState => ({
  name,
  owner: `team-${name}`,
  phase: 'Active',
  allow: ['hostNetwork', 'hostPID'],
  selector: { matchLabels: { app: 'agent' } },
  expiresAt: '2026-12-01T00:00:00Z',
  ...over,
});
const grant = (e: ExceptionState) => ({ ...e, granting: e.phase === 'Active' || e.phase === 'ExpiringSoon' });
function offence(exceptions: ExceptionState[], prior: string[]) {
  const cls = classifyPod(pod, exceptions.filter((e) => e.phase !== 'Invalid').map(grant), new Set());
  if (cls.kind !== 'offender') throw new Error(`not an offender: ${cls.kind}`);
  return violationCause(pod, cls, prior, exceptions);
}

describe('violationCause: names the exception behind each way coverage is lost', () => {
  it.each([
    ['deleted', [], 'deletion of exception x'],
    ['invalid', [exc('x', { phase: 'Invalid' })], 'exception x becoming Invalid (owner: team-x)'],
    ['unselected', [exc('x', { selector: { matchLabels: { app: 'web' } } })], 'exception x no longer selecting it'],
    ['narrowed', [exc('x', { allow: ['hostIPC'] })], 'exception x no longer allowing hostNetwork, hostPID'],
  ] as const)('%s', (how, exceptions, text) => {
    const cause = offence([...exceptions], ['x']);
    expect(cause.lost).toEqual([expect.objectContaining({ name: 'x', how })]);
    expect(causeKey(cause)).toBe(`hostNetwork,hostPID;lost=x@${how}`);
    expect(violationNote(pod, cause)).toContain(text);
  });

  it('a lapse names the exception, owner and expiry; a still-covering prior exception is not a cause', () => {
    const cause = offence([exc('x', { phase: 'Expired' }), exc('y', { allow: ['hostNetwork'] })], ['x', 'y']);
    expect(cause.lost).toEqual([]);
    expect(causeKey(cause)).toBe('hostPID;lapsed=x@2026-12-01T00:00:00Z');
    expect(violationNote(pod, cause)).toContain(
      'Caused by the lapse of exception x (owner: team-x, expired 2026-12-01T00:00:00Z)',
    );
  });

  it('a broken contract names the exception and the breaches', () => {
    const podWithSa = {
      ...pod,
      security: podSecurityProfile({ serviceAccountName: 'default', containers: [{ name: 'c', image: 'evil:1' }] }),
    } as never;
    const e = exc('x');
    const g = { ...grant(e), contract: { serviceAccountNames: ['agent'] } };
    const cls = classifyPod(podWithSa, [g], new Set());
    if (cls.kind !== 'offender') throw new Error('offender expected');
    const cause = violationCause(pod, cls, [], [e]);
    expect(causeKey(cause)).toBe('hostNetwork,hostPID;broken=x@serviceAccount');
    expect(violationNote(pod, cause)).toMatch(
      /Exception x \(owner: team-x\) selects it but its contract is broken: runs as ServiceAccount default, not agent/,
    );
  });

  it('an offender never covered: the flags alone', () => {
    expect(causeKey(offence([], []))).toBe('hostNetwork,hostPID');
  });

  it('a note naming many exceptions with long owners is cut to 1,024 bytes when sent (events.ts)', () => {
    const many = Array.from({ length: 20 }, (_, i) => exc(`x${i}`, { phase: 'Invalid', owner: 'é'.repeat(253) }));
    const cause = offence(
      many,
      many.map((e) => e.name),
    );
    expect(utf8Bytes(violationNote(pod, cause))).toBeGreaterThan(1024);
    expect(utf8Bytes(causeKey(cause))).toBeLessThanOrEqual(1024);
  });
});

describe('the marker', () => {
  it('is genuine only for the pod uid it was made for', () => {
    const m = violationMarker('uid-1', 'hostNetwork;lost=x@deleted');
    expect(markedCause('uid-1', m)).toBe('hostNetwork;lost=x@deleted');
    expect(causeFlags(markedCause('uid-1', m)!)).toBe('hostNetwork');
    expect(markedCause('uid-2', m)).toBeUndefined();
    for (const forged of ['', 'true', 'hostNetwork', `${'0'.repeat(32)} hostNetwork`, m.replace('x@', 'y@')])
      expect(markedCause('uid-1', forged)).toBeUndefined();
  });

  it('priorCover reads only well-formed names from our marks, bounded', () => {
    const names = Array.from({ length: 40 }, (_, i) => `e${i}`);
    expect(priorCover({ labels: {}, annotations: { 'hostns.io/exceptions': names.join(',') } })).toHaveLength(16);
    expect(
      priorCover({
        labels: { 'hostns.io/exception': 'b' },
        annotations: { 'hostns.io/exceptions': 'a,Not Valid, (+3 more)' },
      }),
    ).toEqual(['a', 'b']);
  });
});
