// The networkRestricted control (src/policy/network.ts, contract.ts) and the exception-namespace
// setting (src/policy/namespaces.ts): the pure parts.
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { classifyPod, type ExceptionGrant } from '../../src/policy/classify.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import {
  NETWORK_RESTRICTED_HOST_NETWORK,
  contractBreaches,
  controlResults,
  describeBreach,
  podSecurityProfile,
  readContract,
} from '../../src/policy/contract.ts';
import { evaluateException } from '../../src/policy/evaluated.ts';
import { grantOf } from '../../src/policy/grants.ts';
import { exceptionNamespaceProblem, parseExceptionNamespaces } from '../../src/policy/namespaces.ts';
import { isNetworkRestricted, toNetworkPolicyRecord } from '../../src/policy/network.ts';
import { exception } from './fixtures.ts';

const now = DateTime.fromISO('2026-11-15T12:00:00Z', { zone: 'utc' });

function netpol(spec: Record<string, unknown>, namespace = 'mon', name = 'np') {
  return { metadata: { name, namespace, resourceVersion: '7' }, spec };
}

describe('NetworkPolicy records: only those restricting egress are kept', () => {
  it.each([
    ['Egress only', { podSelector: {}, policyTypes: ['Egress'] }, true],
    ['Ingress and Egress', { podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Ingress', 'Egress'] }, true],
    ['Ingress only', { podSelector: {}, policyTypes: ['Ingress'] }, false],
    ['no policyTypes (not defaulted)', { podSelector: {} }, false],
    ['policyTypes not a list', { podSelector: {}, policyTypes: 'Egress' }, false],
    [
      'a selector naming hostns.io/ marks',
      { podSelector: { matchLabels: { 'hostns.io/violation': 'true' } }, policyTypes: ['Egress'] },
      false,
    ],
    [
      'an unreadable selector',
      { podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] }, policyTypes: ['Egress'] },
      false,
    ],
  ])('%s', (_what, spec, kept) => {
    expect(toNetworkPolicyRecord(netpol(spec)) !== undefined).toBe(kept);
  });
  it('no name or namespace: nothing; an absent podSelector selects every pod', () => {
    expect(toNetworkPolicyRecord({ spec: { policyTypes: ['Egress'] } })).toBeUndefined();
    expect(toNetworkPolicyRecord(netpol({ policyTypes: ['Egress'] }))).toMatchObject({ podSelector: {} });
  });
});

describe('isNetworkRestricted', () => {
  const egress = toNetworkPolicyRecord(
    netpol({ podSelector: { matchLabels: { app: 'a' } }, policyTypes: ['Egress'] }),
  )!;
  const all = toNetworkPolicyRecord(netpol({ podSelector: {}, policyTypes: ['Egress'] }))!;
  it('a policy selecting the pod restricts it; one selecting other pods does not', () => {
    expect(isNetworkRestricted({ labels: { app: 'a' }, hostNetwork: false }, [egress])).toBe(true);
    expect(isNetworkRestricted({ labels: { app: 'b' }, hostNetwork: false }, [egress])).toBe(false);
    expect(isNetworkRestricted({ labels: { app: 'b' }, hostNetwork: false }, [egress, all])).toBe(true);
    expect(isNetworkRestricted({ labels: { app: 'a' }, hostNetwork: false }, [])).toBe(false);
  });
  it('never with hostNetwork', () => {
    expect(isNetworkRestricted({ labels: { app: 'a' }, hostNetwork: true }, [egress, all])).toBe(false);
  });
});

describe('the networkRestricted control in the contract', () => {
  const profile = podSecurityProfile({ hostPID: true, containers: [{ name: 'c', image: 'r.io/a' }] });
  const contract = { controls: ['networkRestricted' as const] };
  it('broken only when known to be unrestricted; unknown (admission, scan) checks nothing', () => {
    expect(contractBreaches(profile, contract, true)).toEqual([]);
    expect(contractBreaches(profile, contract, undefined)).toEqual([]);
    const broken = contractBreaches(profile, contract, false);
    expect(broken).toEqual([{ kind: 'control', control: 'networkRestricted', where: 'pod' }]);
    expect(describeBreach(broken[0]!)).toMatch(/^the pod breaks control networkRestricted \(a NetworkPolicy/);
  });
  it('controlResults: met, broken at the pod, or not checkable (undefined)', () => {
    expect(controlResults(profile, ['networkRestricted'], true)).toEqual([
      { control: 'networkRestricted', met: true, where: [] },
    ]);
    expect(controlResults(profile, ['networkRestricted'], false)).toEqual([
      { control: 'networkRestricted', met: false, where: ['pod'] },
    ]);
    expect(controlResults(profile, ['networkRestricted'])).toEqual([
      { control: 'networkRestricted', met: undefined, where: [] },
    ]);
  });
  it('classification: a covered pod without a restricting NetworkPolicy is an offender naming the control', () => {
    const grant: ExceptionGrant = {
      name: 'ne',
      owner: 'o',
      allow: ['hostPID'],
      selector: { matchLabels: { app: 'a' } },
      granting: true,
      contract,
    };
    const pod = {
      namespace: 'mon',
      name: 'p',
      labels: { app: 'a' },
      hostNetwork: false,
      hostPID: true,
      hostIPC: false,
    };
    const security = profile;
    expect(classifyPod({ ...pod, security, networkRestricted: true }, [grant], new Set()).kind).toBe('covered');
    expect(classifyPod({ ...pod, security }, [grant], new Set()).kind).toBe('covered');
    const cls = classifyPod({ ...pod, security, networkRestricted: false }, [grant], new Set());
    expect(cls).toMatchObject({
      kind: 'offender',
      broken: [{ exception: 'ne', breaches: [{ control: 'networkRestricted' }] }],
    });
  });
  it('with allow hostNetwork the exception is Invalid, saying why and what to use instead', () => {
    const read = readContract({ allow: ['hostNetwork'], riskAcceptance: { enforcedControls: ['networkRestricted'] } });
    expect(read.problems).toEqual([`spec.riskAcceptance.enforcedControls: ${NETWORK_RESTRICTED_HOST_NETWORK}`]);
    expect(NETWORK_RESTRICTED_HOST_NETWORK).toContain('Cilium host policies or Calico host endpoints');
    expect(
      readContract({ allow: ['hostPID'], riskAcceptance: { enforcedControls: ['networkRestricted'] } }).problems,
    ).toEqual([]);
  });
  it('is not in the grant admission reads (admission cannot check it)', () => {
    const e = exception({
      spec: {
        allow: ['hostPID'],
        riskAcceptance: { ...exception().spec.riskAcceptance, enforcedControls: ['networkRestricted', 'noPrivileged'] },
      },
    });
    const ev = evaluateException(e, now, DEFAULT_POLICY);
    expect(ev.facts.problems).toEqual([]);
    expect(grantOf(ev)?.contract?.controls).toEqual(['noPrivileged']);
  });
});

describe('where exceptions may exist (--exception-namespace-label)', () => {
  it('parses key=value; empty is off; anything else names the flag', () => {
    expect(parseExceptionNamespaces('', '--f')).toBeUndefined();
    expect(parseExceptionNamespaces('  ', '--f')).toBeUndefined();
    expect(parseExceptionNamespaces('hostns.io/exceptions=allowed', '--f')).toEqual({
      key: 'hostns.io/exceptions',
      value: 'allowed',
    });
    expect(parseExceptionNamespaces('tier=host', '--f')).toEqual({ key: 'tier', value: 'host' });
    for (const bad of [
      'hostns.io/exceptions',
      'bad key=x',
      'k=bad value',
      '=x',
      'k=',
      'a/b/c=x',
      'k=-x',
      `k=${'v'.repeat(64)}`,
    ])
      expect(() => parseExceptionNamespaces(bad, '--f'), bad).toThrow(/^--f: .* is not a namespace label key=value/);
  });
  it('a namespace without the label, or with another value, cannot hold exceptions: the reason says where they may go', () => {
    const setting = { key: 'hostns.io/exceptions', value: 'allowed' };
    expect(exceptionNamespaceProblem(undefined, 'apps', undefined)).toBeUndefined();
    expect(exceptionNamespaceProblem(setting, 'mon', 'allowed')).toBeUndefined();
    expect(exceptionNamespaceProblem(setting, 'apps', undefined)).toBe(
      'namespace apps has no label hostns.io/exceptions: HostNamespaceExceptions may only exist in namespaces labelled ' +
        'hostns.io/exceptions=allowed (a label the platform team sets on the namespaces dedicated to host-namespace workloads)',
    );
    expect(exceptionNamespaceProblem(setting, 'apps', 'Allowed')).toMatch(
      /^namespace apps has hostns.io\/exceptions=Allowed: /,
    );
    expect(exceptionNamespaceProblem(setting, 'apps', '')).toMatch(/^namespace apps has hostns.io\/exceptions=: /);
  });
  it('an exception evaluated with that problem is Invalid, and grants nothing', () => {
    const e = exception({ spec: { allow: ['hostPID'] } });
    const problem = exceptionNamespaceProblem({ key: 'k', value: 'v' }, 'apps', undefined)!;
    const ev = evaluateException(e, now, DEFAULT_POLICY, undefined, [problem]);
    expect(ev.lifecycle.phase).toBe('Invalid');
    expect(ev.lifecycle.problems).toContain(problem);
    expect(grantOf(ev)).toBeUndefined();
  });
});
