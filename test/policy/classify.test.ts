import { describe, expect, it } from 'vitest';
import { classifyPod, usedHostNamespaces, type ExceptionGrant, type PodFacts } from '../../src/policy/classify.ts';
import { podSecurityProfile } from '../../src/policy/contract.ts';
import { currentMarks, desiredMarks, marksPatch } from '../../src/policy/pod-marks.ts';

const pod = (over: Partial<PodFacts> = {}): PodFacts => ({
  namespace: 'monitoring',
  name: 'p',
  labels: { app: 'node-exporter' },
  hostNetwork: false,
  hostPID: false,
  hostIPC: false,
  ...over,
});
const grant = (over: Partial<ExceptionGrant> = {}): ExceptionGrant => ({
  name: 'ne',
  owner: 'team',
  allow: ['hostNetwork'],
  selector: { matchLabels: { app: 'node-exporter' } },
  granting: true,
  ...over,
});
const exempt = new Set(['kube-system']);

describe('usedHostNamespaces', () => {
  it('reads exactly the three PSA baseline flags, only when === true', () => {
    expect(usedHostNamespaces(pod())).toEqual([]);
    expect(usedHostNamespaces(pod({ hostNetwork: true, hostIPC: true }))).toEqual(['hostNetwork', 'hostIPC']);
    expect(usedHostNamespaces({ hostNetwork: 'true', hostPID: 1, hostIPC: true } as never)).toEqual(['hostIPC']);
  });
});

describe('classifyPod', () => {
  it('clean pods are clean whatever the exceptions', () => {
    expect(classifyPod(pod(), [grant()], exempt)).toEqual({ kind: 'clean' });
  });
  it('exempt namespace wins over everything', () => {
    expect(classifyPod(pod({ namespace: 'kube-system', hostPID: true }), [], exempt)).toEqual({
      kind: 'exempt',
      used: ['hostPID'],
    });
  });
  it('covered by one exception allowing the flag', () => {
    expect(classifyPod(pod({ hostNetwork: true }), [grant()], exempt)).toEqual({
      kind: 'covered',
      used: ['hostNetwork'],
      exceptions: ['ne'],
    });
  });
  it('several exceptions together cover a pod; the list is sorted', () => {
    const cls = classifyPod(
      pod({ hostNetwork: true, hostPID: true }),
      [grant({ name: 'z-net' }), grant({ name: 'a-pid', allow: ['hostPID'] })],
      exempt,
    );
    expect(cls).toEqual({ kind: 'covered', used: ['hostNetwork', 'hostPID'], exceptions: ['a-pid', 'z-net'] });
  });
  it('an exception allowing only flags the pod does not use is not listed', () => {
    const cls = classifyPod(pod({ hostNetwork: true }), [grant(), grant({ name: 'ipc', allow: ['hostIPC'] })], exempt);
    expect(cls).toMatchObject({ kind: 'covered', exceptions: ['ne'] });
  });
  it('offender when a flag is not allowed, naming the uncovered flags only', () => {
    const cls = classifyPod(pod({ hostNetwork: true, hostPID: true }), [grant()], exempt);
    expect(cls).toEqual({
      kind: 'offender',
      used: ['hostNetwork', 'hostPID'],
      uncovered: ['hostPID'],
      exceptions: ['ne'],
      lapsed: [],
      broken: [],
    });
  });
  it('offender when the selector does not match', () => {
    expect(classifyPod(pod({ hostNetwork: true, labels: { app: 'other' } }), [grant()], exempt).kind).toBe('offender');
  });
  it('a lapsed exception covers nothing but explains the violation', () => {
    const cls = classifyPod(pod({ hostNetwork: true }), [grant({ granting: false, owner: 'team-a' })], exempt);
    expect(cls).toEqual({
      kind: 'offender',
      used: ['hostNetwork'],
      uncovered: ['hostNetwork'],
      exceptions: [],
      lapsed: [{ name: 'ne', owner: 'team-a' }],
      broken: [],
    });
  });
  it('a lapsed exception allowing another flag is not blamed', () => {
    const cls = classifyPod(pod({ hostNetwork: true }), [grant({ granting: false, allow: ['hostPID'] })], exempt);
    expect(cls).toMatchObject({ kind: 'offender', lapsed: [] });
  });
  it('an active exception still covers while a lapsed one for the same flag exists', () => {
    const cls = classifyPod(
      pod({ hostNetwork: true }),
      [grant({ name: 'old', granting: false }), grant({ name: 'new' })],
      exempt,
    );
    expect(cls).toEqual({ kind: 'covered', used: ['hostNetwork'], exceptions: ['new'] });
  });
  it('{} selector covers every pod of the namespace', () => {
    expect(
      classifyPod(pod({ hostIPC: true, labels: {} }), [grant({ selector: {}, allow: ['hostIPC'] })], exempt).kind,
    ).toBe('covered');
  });
});

describe('pod marks', () => {
  it('offender: violation label + flags annotation', () => {
    expect(
      desiredMarks({
        kind: 'offender',
        used: ['hostNetwork', 'hostPID'],
        uncovered: ['hostNetwork', 'hostPID'],
        exceptions: [],
        lapsed: [],
        broken: [],
      }),
    ).toEqual({
      labels: { 'hostns.io/violation': 'true' },
      annotations: { 'hostns.io/violation': 'hostNetwork,hostPID' },
    });
  });
  it('covered: first exception as label, all in the annotation', () => {
    expect(desiredMarks({ kind: 'covered', used: ['hostNetwork'], exceptions: ['a', 'b'] })).toEqual({
      labels: { 'hostns.io/exception': 'a' },
      annotations: { 'hostns.io/exceptions': 'a,b' },
    });
  });
  it('clean and exempt: none of our keys', () => {
    expect(desiredMarks({ kind: 'clean' })).toEqual({ labels: {}, annotations: {} });
    expect(desiredMarks({ kind: 'exempt', used: ['hostPID'] })).toEqual({ labels: {}, annotations: {} });
  });
  it('the patch touches only our keys, deletes with null, and is undefined when converged', () => {
    const current = currentMarks(
      { app: 'x', 'hostns.io/violation': 'true' },
      { 'hostns.io/violation': 'hostNetwork', other: 'keep' },
    );
    expect(current).toEqual({
      labels: { 'hostns.io/violation': 'true' },
      annotations: { 'hostns.io/violation': 'hostNetwork' },
    });
    const covered = desiredMarks({ kind: 'covered', used: ['hostNetwork'], exceptions: ['ne'] });
    expect(marksPatch(current, covered)).toEqual({
      metadata: {
        labels: { 'hostns.io/violation': null, 'hostns.io/exception': 'ne' },
        annotations: { 'hostns.io/violation': null, 'hostns.io/exceptions': 'ne' },
      },
    });
    expect(marksPatch(covered, covered)).toBeUndefined();
    expect(marksPatch(currentMarks({}, {}), desiredMarks({ kind: 'clean' }))).toBeUndefined();
  });
});

describe('classifyPod with contracts', () => {
  const spec = (over: Record<string, unknown> = {}) => ({
    serviceAccountName: 'cilium',
    securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
    containers: [
      { name: 'agent', image: 'quay.io/cilium/cilium:v1', securityContext: { allowPrivilegeEscalation: false } },
    ],
    ...over,
  });
  const bound = grant({
    contract: {
      serviceAccountNames: ['cilium'],
      images: ['quay.io/cilium/'],
      controls: ['runAsNonRoot', 'noPrivilegeEscalation'],
    },
  });
  const withSpec = (s: Record<string, unknown>) => pod({ hostNetwork: true, security: podSecurityProfile(s) });

  it('a pod keeping the contract is covered', () => {
    expect(classifyPod(withSpec(spec()), [bound], exempt)).toEqual({
      kind: 'covered',
      used: ['hostNetwork'],
      exceptions: ['ne'],
    });
  });
  it.each([
    ['another ServiceAccount (a self-labelled pod)', { serviceAccountName: 'default' }, 'serviceAccount'],
    ['no ServiceAccount at all', { serviceAccountName: undefined }, 'serviceAccount'],
    [
      'an unlisted image',
      {
        containers: [
          { name: 'agent', image: 'docker.io/evil/x', securityContext: { allowPrivilegeEscalation: false } },
        ],
      },
      'image',
    ],
    ['a broken control', { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } }, 'control'],
  ])('%s makes it an offender naming the exception and the breach', (_, over, kind) => {
    const cls = classifyPod(withSpec(spec(over)), [bound], exempt);
    expect(cls.kind).toBe('offender');
    if (cls.kind !== 'offender') return;
    expect(cls.uncovered).toEqual(['hostNetwork']);
    expect(cls.broken).toMatchObject([{ exception: 'ne', owner: 'team' }]);
    expect(cls.broken[0]!.breaches.map((b) => b.kind)).toContain(kind);
  });
  it('an unknown security profile cannot keep a contract', () => {
    const cls = classifyPod(pod({ hostNetwork: true }), [bound], exempt);
    expect(cls).toMatchObject({ kind: 'offender', broken: [{ exception: 'ne', breaches: [] }] });
  });
  it('a contract without bindings or controls covers by labels alone', () => {
    expect(classifyPod(pod({ hostNetwork: true }), [grant({ contract: { controls: [] } })], exempt).kind).toBe(
      'covered',
    );
  });
  it('another exception without a contract still covers; a broken one for another flag is not blamed', () => {
    const loose = grant({ name: 'loose' });
    expect(classifyPod(withSpec(spec({ serviceAccountName: 'x' })), [bound, loose], exempt)).toEqual({
      kind: 'covered',
      used: ['hostNetwork'],
      exceptions: ['loose'],
    });
    const cls = classifyPod(
      pod({ hostNetwork: true, hostPID: true, security: podSecurityProfile(spec({ serviceAccountName: 'x' })) }),
      [grant({ ...bound, name: 'pid', allow: ['hostPID'] }), loose],
      exempt,
    );
    expect(cls).toMatchObject({ kind: 'offender', uncovered: ['hostPID'], broken: [{ exception: 'pid' }] });
  });
});
