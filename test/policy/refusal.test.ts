// lapsedNamed: the lapsed exceptions a refusal by the admission policy names, as kube-controller-manager
// quotes it in a FailedCreate Event. The policy's format is config/admission/policy.yaml (`lapsed`).
import { describe, expect, it } from 'vitest';
import { isOurRefusal, lapsedNamed } from '../../src/policy/refusal.ts';

const T = '2026-11-01T00:00:00Z';
/** A FailedCreate message around the policy's `(lapsed: ...)` part, as the controller writes it. */
const failedCreate = (lapsed: string) =>
  'Error creating: pods "node-exporter-mxp4c" is forbidden: ValidatingAdmissionPolicy ' +
  "'hostns-host-namespaces' with binding 'hostns-host-namespaces' denied request: Pod 'node-exporter-mxp4c' uses " +
  'hostNetwork, and no active HostNamespaceException in namespace team-a allows that for its labels' +
  lapsed +
  '. Host namespaces are denied by default: to run it, get a HostNamespaceException in namespace team-a with ' +
  'spec.allow [hostNetwork] and a spec.podSelector selecting the labels {app=node-exporter} (the platform team ' +
  'grants them: kubectl explain hostnamespaceexception.spec).';

describe('lapsedNamed', () => {
  it('with owners (grants objects written since lapsed entries exist)', () => {
    const message = failedCreate(
      ` (lapsed: node-exporter (owner: team-observability, expired ${T}), ` +
        `cni.agent-2 (owner: net, expired 2026-11-01T10:00:00.5+01:00))`,
    );
    expect(isOurRefusal(message)).toBe(true);
    expect(lapsedNamed(message)).toEqual(['node-exporter', 'cni.agent-2']);
  });

  it('without owners (older grants objects, or a grant not yet moved), and mixed', () => {
    expect(lapsedNamed(failedCreate(` (lapsed: node-exporter (expired ${T}))`))).toEqual(['node-exporter']);
    expect(lapsedNamed(failedCreate(` (lapsed: a (expired ${T}), b (owner: team-b, expired ${T}))`))).toEqual([
      'a',
      'b',
    ]);
  });

  it.each([
    ['parentheses', 'Platform (EU) team'],
    ['a comma and a colon', 'team-a, on call: Jo'],
    ['what looks like the next item', `x), fake (owner: y`],
    ['unicode', 'Équipe réseau 🛰'],
  ])('an owner with %s does not hide the next name', (_, owner) => {
    const message = failedCreate(` (lapsed: first (owner: ${owner}, expired ${T}), second (owner: o, expired ${T}))`);
    expect(lapsedNamed(message)).toEqual(['first', 'second']);
  });

  it('the first 4 and "and N more": the named 4', () => {
    const items = ['a', 'b', 'c', 'd'].map((n) => `${n} (owner: o, expired ${T})`);
    expect(lapsedNamed(failedCreate(` (lapsed: ${items.join(', ')}, and 3 more)`))).toEqual(['a', 'b', 'c', 'd']);
  });

  it.each([
    ['no lapsed part', ''],
    ['a contract breach only', ' (contract broken: agent (runs as ServiceAccount default, not agent))'],
    ['an item without expiry', ' (lapsed: agent (owner: o))'],
    ['a name that is not a Kubernetes name', ` (lapsed: Agent_X (owner: o, expired ${T}))`],
  ])('names nothing with %s', (_, part) => {
    expect(lapsedNamed(failedCreate(part))).toEqual([]);
  });

  it('a message cut short (the record keeps 2 KiB) keeps the items before the cut', () => {
    const full = failedCreate(` (lapsed: a (owner: o, expired ${T}), b (owner: o, expired ${T}))`);
    expect(lapsedNamed(full.slice(0, full.indexOf('b (owner') + 14))).toEqual(['a']);
  });
});
