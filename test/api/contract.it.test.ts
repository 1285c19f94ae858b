// The exception contract in the CRD, on the real API server: spec.boundTo and
// spec.riskAcceptance.enforcedControls are validated with messages naming the field, and loosening
// the contract is a new risk acceptance while tightening it is free (a transition rule).
import { beforeAll, describe, expect, it } from 'vitest';
import { createNamespace } from '../harness/clients.ts';
import { validException, type Json } from './exception-corpus.ts';
import { createException, patchException } from './exceptions.ts';

const DIGEST = `sha256:${'a'.repeat(64)}`;
type Obj = Record<string, any>;

function withContract(name: string, boundTo: Obj | undefined, controls: string[] | undefined): Json {
  const o = validException(name) as Obj;
  if (boundTo) o.spec.boundTo = boundTo;
  if (controls) o.spec.riskAcceptance.enforcedControls = controls;
  return o;
}

describe('spec.boundTo and enforcedControls: validation', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('api-contract');
  });

  it.each([
    [
      'a repository, a prefix and a digest',
      {
        serviceAccountNames: ['cilium', 'cilium-operator'],
        images: ['quay.io/cilium/cilium', 'quay.io/cilium/', `quay.io/cilium/cilium@${DIGEST}`],
      },
      ['runAsNonRoot', 'dropAllCapabilities'],
    ],
    ['a registry with a port, localhost', { images: ['registry.local:5000/agents/', 'localhost/debug'] }, undefined],
    [
      'every control',
      undefined,
      [
        'runAsNonRoot',
        'dropAllCapabilities',
        'readOnlyRootFilesystem',
        'noPrivilegeEscalation',
        'noPrivileged',
        'seccompRuntimeDefault',
        'noHostPath',
        'noHostPorts',
      ],
    ],
  ])('accepts %s', async (_, boundTo, controls) => {
    const v = await createException(
      ns,
      withContract(`ok-${Math.random().toString(36).slice(2, 8)}`, boundTo, controls),
    );
    expect(v.message).toBe('');
    expect(v.code).toBe(201);
  });

  it.each([
    ['an unqualified image (no registry)', { images: ['nginx'] }, undefined, 'spec.boundTo.images[0]'],
    ['an unqualified image path', { images: ['cilium/cilium'] }, undefined, 'spec.boundTo.images[0]'],
    ['a tag (tags move)', { images: ['quay.io/cilium/cilium:v1.18'] }, undefined, 'spec.boundTo.images[0]'],
    ['a short digest', { images: ['quay.io/cilium/cilium@sha256:abc'] }, undefined, 'spec.boundTo.images[0]'],
    ['an upper-case repository', { images: ['quay.io/Cilium/'] }, undefined, 'spec.boundTo.images[0]'],
    ['an empty image list', { images: [] }, undefined, 'spec.boundTo.images'],
    ['a duplicate image', { images: ['quay.io/a/', 'quay.io/a/'] }, undefined, 'spec.boundTo.images[1]'],
    [
      'an invalid ServiceAccount name',
      { serviceAccountNames: ['Cilium_Agent'] },
      undefined,
      'spec.boundTo.serviceAccountNames[0]',
    ],
    ['an empty ServiceAccount list', { serviceAccountNames: [] }, undefined, 'spec.boundTo.serviceAccountNames'],
    ['an unknown control', undefined, ['runsAsNonRoot'], 'spec.riskAcceptance.enforcedControls[0]'],
    ['a duplicate control', undefined, ['noPrivileged', 'noPrivileged'], 'spec.riskAcceptance.enforcedControls[1]'],
    ['an unknown binding field', { namespaces: ['x'] }, undefined, 'spec.boundTo.namespaces'],
  ])('refuses %s, naming the field', async (_, boundTo, controls, field) => {
    const v = await createException(
      ns,
      withContract(`bad-${Math.random().toString(36).slice(2, 8)}`, boundTo, controls),
    );
    expect(v.code).not.toBe(201);
    expect(v.message).toContain(field);
  });
});

describe('the contract transition rule: tightening is free, loosening is a renewal', () => {
  let ns = '';
  const base = { serviceAccountNames: ['cilium', 'cilium-operator'], images: ['quay.io/cilium/', 'quay.io/other/'] };
  const controls = ['runAsNonRoot', 'noPrivileged'];
  beforeAll(async () => {
    ns = await createNamespace('api-contract-renewal');
  });
  const fresh = async (name: string) => {
    const v = await createException(ns, withContract(name, base, controls));
    expect(v.code, v.message).toBe(201);
    return name;
  };

  it.each([
    ['adding a control', { spec: { riskAcceptance: { enforcedControls: [...controls, 'readOnlyRootFilesystem'] } } }],
    ['dropping a ServiceAccount', { spec: { boundTo: { serviceAccountNames: ['cilium'] } } }],
    ['dropping an image entry', { spec: { boundTo: { images: ['quay.io/cilium/'] } } }],
  ])('%s is free', async (what, patch) => {
    const name = await fresh(`tight-${what.toLowerCase().replace(/\W+/g, '-')}`);
    const r = patchException(ns, name, patch);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it.each([
    [
      'removing a control',
      { spec: { riskAcceptance: { enforcedControls: ['runAsNonRoot'] } } },
      'spec.riskAcceptance.enforcedControls: Forbidden: removing an enforced control',
    ],
    [
      'removing every control',
      { spec: { riskAcceptance: { enforcedControls: null } } },
      'spec.riskAcceptance.enforcedControls: Forbidden',
    ],
    [
      'adding a ServiceAccount',
      { spec: { boundTo: { serviceAccountNames: ['cilium', 'cilium-operator', 'default'] } } },
      'spec.boundTo.serviceAccountNames: Forbidden: widening',
    ],
    [
      'adding an image entry',
      { spec: { boundTo: { images: ['quay.io/cilium/', 'quay.io/other/', 'docker.io/library/'] } } },
      'spec.boundTo.images: Forbidden: widening',
    ],
    [
      'replacing an image entry by a wider one',
      { spec: { boundTo: { images: ['quay.io/'] } } },
      'spec.boundTo.images: Forbidden',
    ],
    ['removing the binding', { spec: { boundTo: null } }, 'spec.boundTo.serviceAccountNames: Forbidden'],
  ])('%s without a newer acceptedAt is refused; with one it is accepted', async (what, patch, says) => {
    const name = await fresh(`loose-${what.toLowerCase().replace(/\W+/g, '-')}`);
    const refused = patchException(ns, name, patch);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(says);
    expect(refused.stderr).toContain('is a new risk acceptance');
    const renewed = patchException(ns, name, {
      spec: {
        ...patch.spec,
        riskAcceptance: { ...(patch.spec as Obj).riskAcceptance, acceptedAt: '2030-01-02T00:00:00Z' },
      },
    });
    expect(renewed.stderr).toBe('');
    expect(renewed.code).toBe(0);
  });
});
