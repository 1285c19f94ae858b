import { isPodSpecControl } from '../../src/policy/contract.ts';
import { DateTime } from 'luxon';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { EnforceableControl, Grant } from '../../src/api/v1alpha1.ts';
import { DEFAULT_POLICY } from '../../src/policy/config.ts';
import { readException } from '../../src/policy/exception.ts';
import {
  GRANT_LIMITS,
  desiredGrantIndex,
  desiredGrantsByNamespace,
  enforcementOf,
  grantOf,
  lapsedOf,
} from '../../src/policy/grants.ts';
import { evaluateLifecycle } from '../../src/policy/lifecycle.ts';
import { exception } from './fixtures.ts';

const now = DateTime.fromISO('2026-11-02T00:00:00Z', { zone: 'utc' });
const view = (ex: ReturnType<typeof exception>) => {
  const facts = readException(ex);
  return { facts, lifecycle: evaluateLifecycle(facts, now, DEFAULT_POLICY) };
};
const NO_CONTRACT = { serviceAccountNames: [], images: [], controls: [] };
const names = (grants: readonly Grant[]) => grants.map((g) => g.exception);

describe('desiredGrantsByNamespace', () => {
  it('one object per namespace: granting exceptions only, sorted, selectors normalised, exempt namespaces absent', () => {
    const views = [
      exception({ name: 'b', namespace: 'ns2' }),
      exception({ name: 'a', namespace: 'ns2', spec: { podSelector: {} } }),
      exception({ name: 'c', namespace: 'ns1', spec: { expiresAt: '2026-11-01T12:00:00Z' } }),
      exception({ name: 'd', namespace: 'kube-system' }),
      exception({ name: 'e', namespace: 'ns1', spec: { owner: '' } }),
    ].map(view);
    const got = desiredGrantsByNamespace(views, [], new Set(['kube-system']));
    expect([...got.keys()]).toEqual(['ns1', 'ns2']);
    // ns1 has exceptions but none granting: no grant, so admission there still has a param and
    // refuses; the lapsed one (c) is kept for the refusal message, the invalid one (e) is not.
    expect(got.get('ns1')).toEqual({
      spec: {
        grants: [],
        lapsed: [
          {
            exception: 'c',
            owner: 'team-observability',
            allow: ['hostNetwork', 'hostPID'],
            expiresAt: '2026-11-01T12:00:00Z',
            selector: { matchLabels: { app: 'node-exporter' }, matchExpressions: [] },
          },
        ],
      },
      overBudget: [],
    });
    expect(got.get('ns2')).toEqual({
      spec: {
        grants: [
          {
            exception: 'a',
            allow: ['hostNetwork', 'hostPID'],
            expiresAt: '2026-12-01T00:00:00Z',
            selector: { matchLabels: {}, matchExpressions: [] },
            owner: 'team-observability',
            contract: NO_CONTRACT,
          },
          {
            exception: 'b',
            allow: ['hostNetwork', 'hostPID'],
            expiresAt: '2026-12-01T00:00:00Z',
            selector: { matchLabels: { app: 'node-exporter' }, matchExpressions: [] },
            owner: 'team-observability',
            contract: NO_CONTRACT,
          },
        ],
      },
      overBudget: [],
    });
  });

  it('every known namespace gets an object, empty without exceptions; exempt ones none', () => {
    const got = desiredGrantsByNamespace([], ['default', 'team-a', 'kube-system'], new Set(['kube-system']));
    expect([...got.entries()]).toEqual([
      ['default', { spec: { grants: [] }, overBudget: [] }],
      ['team-a', { spec: { grants: [] }, overBudget: [] }],
    ]);
  });

  it('a namespace over its count budget keeps the first by name and reports the rest; other namespaces are untouched', () => {
    const views = [
      ...Array.from({ length: 5 }, (_, i) => exception({ name: `x${i}`, namespace: 'noisy' })),
      exception({ name: 'quiet', namespace: 'calm' }),
    ].map(view);
    const limits = { perNamespace: 3, lapsedPerNamespace: 32, bytesPerNamespace: 1_000_000 };
    const got = desiredGrantsByNamespace(views, [], new Set(), limits);
    expect(names(got.get('noisy')!.spec.grants)).toEqual(['x0', 'x1', 'x2']);
    expect(got.get('noisy')!.overBudget).toEqual(['x3', 'x4']);
    expect(got.get('calm')).toEqual(desiredGrantsByNamespace(views.slice(5), [], new Set(), limits).get('calm'));
  });

  it('a namespace over its byte budget: grants that do not fit are left out', () => {
    const big = (name: string) =>
      exception({ name, namespace: 'ns', spec: { podSelector: { matchLabels: { [`k-${name}`]: 'v'.repeat(63) } } } });
    const one = Buffer.byteLength(JSON.stringify(grantOf(view(big('a')))));
    const got = desiredGrantsByNamespace(
      ['a', 'b', 'c'].map((n) => view(big(n))),
      [],
      new Set(),
      { perNamespace: 64, lapsedPerNamespace: 32, bytesPerNamespace: 2 * one + 10 },
    );
    expect(names(got.get('ns')!.spec.grants)).toEqual(['a', 'b']);
    expect(got.get('ns')!.overBudget).toEqual(['c']);
  });

  it('64 grants with the largest selectors, contracts and owners the exception schema allows fit the byte budget and etcd; lapsed entries get what is left', () => {
    // Read the bounds from the shipped CRD, so a change there that breaks the budget fails here.
    const crd = parse(readFileSync('crds/hostnamespaceexceptions.yaml', 'utf8'));
    const sel = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.podSelector.properties;
    const maxLabels: number = sel.matchLabels.maxProperties;
    const maxExprs: number = sel.matchExpressions.maxItems;
    const maxValues: number = sel.matchExpressions.items.properties.values.maxItems;
    const key = (i: number) => `${'p'.repeat(241)}.example.com/${String(i).padStart(3, '0')}${'n'.repeat(60)}`;
    expect(key(0).length).toBe(317);
    const selector = {
      matchLabels: Object.fromEntries(Array.from({ length: maxLabels }, (_, i) => [key(i), 'v'.repeat(63)])),
      matchExpressions: Array.from({ length: maxExprs }, (_, i) => ({
        key: key(100 + i),
        operator: 'In' as const,
        values: Array.from({ length: maxValues }, (_, j) => `${String(j).padStart(2, '0')}${'v'.repeat(61)}`),
      })),
    };
    const props = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties;
    const sas = props.boundTo.properties.serviceAccountNames;
    const images = props.boundTo.properties.images;
    const owner = 'o'.repeat(props.owner.maxLength as number);
    // Grants carry the pod-spec controls only (admission cannot check networkRestricted).
    const controls = (props.riskAcceptance.properties.enforcedControls.items.enum as EnforceableControl[]).filter(
      isPodSpecControl,
    );
    const boundTo = {
      serviceAccountNames: Array.from({ length: sas.maxItems }, (_, i) => `${i}${'s'.repeat(sas.items.maxLength - 1)}`),
      images: Array.from({ length: images.maxItems }, (_, i) => `r${i}.io/${'i'.repeat(images.items.maxLength - 6)}`),
    };
    expect(boundTo.images[0]!.length).toBe(images.items.maxLength);
    const largest = (name: string, expiresAt?: string) =>
      view(
        exception({
          name: `${name}${'n'.repeat(253 - name.length)}`,
          namespace: 'ns',
          spec: {
            owner,
            podSelector: selector,
            boundTo,
            riskAcceptance: { ...exception().spec.riskAcceptance, enforcedControls: controls },
            ...(expiresAt && { expiresAt }),
          },
        }),
      );
    const views = Array.from({ length: GRANT_LIMITS.perNamespace }, (_, i) =>
      largest(`e${String(i).padStart(2, '0')}`),
    );
    const lapsed = Array.from({ length: GRANT_LIMITS.lapsedPerNamespace }, (_, i) =>
      largest(`x${String(i).padStart(2, '0')}`, `2026-11-01T12:00:${String(i).padStart(2, '0')}Z`),
    );
    expect(views[0]!.facts.problems).toEqual([]);
    expect(views[0]!.facts.contract.images).toHaveLength(images.maxItems);
    expect(lapsed[0]!.lifecycle.phase).toBe('Expired');
    const bytesOf = (spec: object) =>
      Buffer.byteLength(JSON.stringify({ apiVersion: 'hostns.io/v1alpha1', kind: 'HostNamespaceGrantSet', spec }));
    const got = desiredGrantsByNamespace([...lapsed, ...views], [], new Set()).get('ns')!;
    expect(got.overBudget).toEqual([]);
    expect(got.spec.grants).toHaveLength(GRANT_LIMITS.perNamespace);
    const grantsOnly = bytesOf({ grants: got.spec.grants });
    const kept = got.spec.lapsed ?? [];
    // What the grants leave holds a few of the largest lapsed entries: the most recently lapsed.
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(GRANT_LIMITS.lapsedPerNamespace);
    expect(kept.map((l) => l.exception.slice(0, 3))).toEqual(
      Array.from({ length: kept.length }, (_, i) => `x${31 - kept.length + 1 + i}`),
    );
    const bytes = bytesOf(got.spec);
    console.log(
      `[figures] largest grants object the schemas allow: ${grantsOnly} bytes of grants (one grant: ` +
        `${Math.round(grantsOnly / 64)} bytes), with ${kept.length} of the largest lapsed entries ${bytes} bytes`,
    );
    expect(bytes).toBeLessThanOrEqual(GRANT_LIMITS.bytesPerNamespace);
    // Without grants, the 32 largest lapsed entries all fit.
    const lapsedOnly = desiredGrantsByNamespace(lapsed, [], new Set()).get('ns')!;
    expect(lapsedOnly.spec.lapsed).toHaveLength(GRANT_LIMITS.lapsedPerNamespace);
    console.log(`[figures] 32 largest lapsed entries: ${bytesOf(lapsedOnly.spec)} bytes`);
    expect(bytesOf(lapsedOnly.spec)).toBeLessThanOrEqual(GRANT_LIMITS.bytesPerNamespace);
    expect(GRANT_LIMITS.bytesPerNamespace).toBeLessThan(1.5 * 1024 * 1024 - 64 * 1024); // etcd's default request limit, with room for metadata
  });
});

describe('lapsed exceptions: kept, never granting, within what the grants leave', () => {
  const at = (t: DateTime) => (ex: ReturnType<typeof exception>) => {
    const facts = readException(ex);
    return { facts, lifecycle: evaluateLifecycle(facts, t, DEFAULT_POLICY) };
  };
  const expired = (name: string, expiresAt: string, spec: Partial<ReturnType<typeof exception>['spec']> = {}) =>
    view(exception({ name, namespace: 'ns', spec: { expiresAt, ...spec } }));
  const lapsedNames = (ns: ReturnType<typeof desiredGrantsByNamespace>) =>
    (ns.get('ns')!.spec.lapsed ?? []).map((l) => l.exception);

  it('only Expired: Active, ExpiringSoon and Invalid exceptions keep no entry; an Expired one grants nothing', () => {
    const soon = view(exception({ name: 'soon', namespace: 'ns', spec: { expiresAt: '2026-11-05T00:00:00Z' } }));
    expect(soon.lifecycle.phase).toBe('ExpiringSoon');
    const invalidPast = expired('invalid', '2026-11-01T12:00:00Z', { owner: ' ' });
    expect(invalidPast.lifecycle.phase).toBe('Invalid');
    const lapsed = expired('lapsed', '2026-11-01T12:00:00Z');
    expect(lapsed.lifecycle.phase).toBe('Expired');
    for (const v of [soon, invalidPast, view(exception({ name: 'active', namespace: 'ns' }))])
      expect(lapsedOf(v)).toBeUndefined();
    expect(grantOf(lapsed)).toBeUndefined();
    const got = desiredGrantsByNamespace([soon, invalidPast, lapsed], [], new Set()).get('ns')!;
    expect(names(got.spec.grants)).toEqual(['soon']);
    expect(got.spec.lapsed).toEqual([lapsedOf(lapsed)]);
    // Only what the message needs: no contract (it binds nothing once nothing is granted).
    expect(Object.keys(got.spec.lapsed![0]!).sort()).toEqual(['allow', 'exception', 'expiresAt', 'owner', 'selector']);
  });

  it('renewed (a later expiresAt with a fresh acceptedAt): a grant again, its lapsed entry gone', () => {
    const lapsedAt = '2026-11-01T12:00:00Z';
    const before = expired('agent', lapsedAt);
    expect(lapsedNames(desiredGrantsByNamespace([before], [], new Set()))).toEqual(['agent']);
    const renewed = expired('agent', '2026-12-15T00:00:00Z', {
      riskAcceptance: { ...exception().spec.riskAcceptance, acceptedAt: '2026-11-01T23:00:00Z' },
    });
    expect(renewed.lifecycle.phase).toBe('Active');
    const got = desiredGrantsByNamespace([renewed], [], new Set()).get('ns')!;
    expect(names(got.spec.grants)).toEqual(['agent']);
    expect(got.spec.grants[0]!.expiresAt).toBe('2026-12-15T00:00:00Z');
    expect(got.spec.lapsed).toBeUndefined();
  });

  it('the same exception before and after its expiresAt: a grant, then a lapsed entry, never both', () => {
    const ex = exception({ name: 'agent', namespace: 'ns', spec: { expiresAt: '2026-11-10T00:00:00Z' } });
    const [beforeLapse, afterLapse] = ['2026-11-09T23:59:59Z', '2026-11-10T00:00:00Z'].map((t) =>
      desiredGrantsByNamespace([at(DateTime.fromISO(t, { zone: 'utc' }))(ex)], [], new Set()).get('ns')!,
    );
    expect(names(beforeLapse!.spec.grants)).toEqual(['agent']);
    expect(beforeLapse!.spec.lapsed).toBeUndefined();
    expect(beforeLapse!.spec.grants[0]!.owner).toBe('team-observability');
    expect(afterLapse!.spec).toEqual({
      grants: [],
      lapsed: [
        {
          exception: 'agent',
          owner: 'team-observability',
          allow: ['hostNetwork', 'hostPID'],
          expiresAt: '2026-11-10T00:00:00Z',
          selector: { matchLabels: { app: 'node-exporter' }, matchExpressions: [] },
        },
      ],
    });
  });

  it('count budget: the most recently lapsed are kept, written by name', () => {
    const views = [
      expired('a-oldest', '2026-11-01T01:00:00Z'),
      expired('b-newest', '2026-11-01T03:00:00Z'),
      expired('c-middle', '2026-11-01T02:00:00Z'),
      expired('d-newest-too', '2026-11-01T03:00:00Z'),
    ];
    const limits = { perNamespace: 64, lapsedPerNamespace: 2, bytesPerNamespace: 1_000_000 };
    expect(lapsedNames(desiredGrantsByNamespace(views, [], new Set(), limits))).toEqual(['b-newest', 'd-newest-too']);
    expect(lapsedNames(desiredGrantsByNamespace(views, [], new Set(), { ...limits, lapsedPerNamespace: 3 }))).toEqual([
      'b-newest',
      'c-middle',
      'd-newest-too',
    ]);
  });

  it('byte budget: grants always come first; a lapsed entry takes only what they leave, and never displaces one', () => {
    const grants = ['g1', 'g2'].map((n) => view(exception({ name: n, namespace: 'ns' })));
    const lapsed = [expired('l1', '2026-11-01T02:00:00Z'), expired('l2', '2026-11-01T01:00:00Z')];
    const size = (o: unknown) => Buffer.byteLength(JSON.stringify(o));
    const grantBytes = grants.reduce((n, v) => n + size(grantOf(v)), 0);
    const one = size(lapsedOf(lapsed[0]!));
    const limits = (bytesPerNamespace: number) => ({ perNamespace: 64, lapsedPerNamespace: 32, bytesPerNamespace });
    const all = [...lapsed, ...grants];
    // Exactly the grants' bytes: every grant, no lapsed entry.
    const tight = desiredGrantsByNamespace(all, [], new Set(), limits(grantBytes)).get('ns')!;
    expect(names(tight.spec.grants)).toEqual(['g1', 'g2']);
    expect(tight.overBudget).toEqual([]);
    expect(tight.spec.lapsed).toBeUndefined();
    // Room for one more: the most recently lapsed.
    expect(lapsedNames(desiredGrantsByNamespace(all, [], new Set(), limits(grantBytes + one)))).toEqual(['l1']);
    // Grants over their own budget stay over it, whatever lapsed entries there are.
    const over = desiredGrantsByNamespace(all, [], new Set(), { ...limits(1_000_000), perNamespace: 1 }).get('ns')!;
    expect(names(over.spec.grants)).toEqual(['g1']);
    expect(over.overBudget).toEqual(['g2']);
    expect(over.spec.lapsed?.map((l) => l.exception)).toEqual(['l1', 'l2']);
  });

  it('an owner longer than the grants schema allows (stored under looser rules) is cut to 253 characters', () => {
    const long = expired('long', '2026-11-01T12:00:00Z', { owner: 'ü'.repeat(300) });
    expect(long.lifecycle.phase).toBe('Expired');
    expect(lapsedOf(long)!.owner).toBe('ü'.repeat(253));
    const active = view(exception({ name: 'a', namespace: 'ns', spec: { owner: 'x'.repeat(300) } }));
    expect(grantOf(active)!.owner).toBe('x'.repeat(253));
  });
});

describe('enforcementOf', () => {
  const active = view(exception({ name: 'a', namespace: 'ns' }));
  const desired = desiredGrantsByNamespace([active], [], new Set()).get('ns')!;

  it('in the grants object as written: enforced', () => {
    expect(enforcementOf(active, false, desired, desired.spec, undefined)).toMatchObject({
      enforced: true,
      reason: 'InAdmissionGrants',
    });
  });
  it('a failed write does not matter while the written object already holds the same grant', () => {
    expect(enforcementOf(active, false, desired, desired.spec, 'grants of namespace ns: 500')).toMatchObject({
      enforced: true,
    });
  });
  it.each([
    ['absent', undefined],
    ['empty', { grants: [] }],
    ['stale (older expiry)', { grants: [{ ...desired.spec.grants[0]!, expiresAt: '2026-11-20T00:00:00Z' }] }],
    [
      'stale (other selector)',
      { grants: [{ ...desired.spec.grants[0]!, selector: { matchLabels: {}, matchExpressions: [] } }] },
    ],
  ])(
    'written object %s and the write failing: GrantsWriteFailed with the error; without an error: GrantsPending',
    (_, written) => {
      const failed = enforcementOf(
        active,
        false,
        desired,
        written,
        'grants of namespace ns: etcdserver: request is too large',
      );
      expect(failed).toMatchObject({ enforced: false, reason: 'GrantsWriteFailed' });
      expect(failed.message).toContain('etcdserver: request is too large');
      expect(enforcementOf(active, false, desired, written, undefined)).toMatchObject({
        enforced: false,
        reason: 'GrantsPending',
      });
    },
  );
  it('the owner is not what admission honours: a written grant without it (a CRD not yet upgraded prunes it) counts', () => {
    const { owner: _pruned, ...withoutOwner } = desired.spec.grants[0]!;
    expect(enforcementOf(active, false, desired, { grants: [withoutOwner] }, undefined)).toMatchObject({
      enforced: true,
      reason: 'InAdmissionGrants',
    });
  });
  it('over budget: GrantsBudgetExceeded naming the count and the limit', () => {
    const views = ['a', 'b', 'c'].map((n) => view(exception({ name: n, namespace: 'ns' })));
    const limits = { perNamespace: 2, lapsedPerNamespace: 32, bytesPerNamespace: 1_000_000 };
    const d = desiredGrantsByNamespace(views, [], new Set(), limits).get('ns')!;
    const e = enforcementOf(views[2]!, false, d, d.spec, undefined, limits);
    expect(e).toMatchObject({ enforced: false, reason: 'GrantsBudgetExceeded' });
    expect(e.message).toContain('namespace ns has 3 granting exceptions and its grants object holds at most 2');
    expect(enforcementOf(views[0]!, false, d, d.spec, undefined, limits).enforced).toBe(true);
  });
  it('expired, invalid: nothing to honour; exempt namespace: needs no grant', () => {
    const expired = view(exception({ name: 'x', namespace: 'ns', spec: { expiresAt: '2026-11-01T12:00:00Z' } }));
    const invalid = view(exception({ name: 'y', namespace: 'ns', spec: { owner: '' } }));
    expect(enforcementOf(expired, false, desired, desired.spec, undefined)).toMatchObject({
      enforced: true,
      reason: 'NothingGranted',
    });
    // Its lapsed entry in the written object changes nothing: a lapsed entry is not a grant.
    const withLapsed = desiredGrantsByNamespace([active, expired], [], new Set()).get('ns')!;
    expect(withLapsed.spec.lapsed?.map((l) => l.exception)).toEqual(['x']);
    expect(enforcementOf(expired, false, withLapsed, withLapsed.spec, undefined)).toMatchObject({
      enforced: true,
      reason: 'NothingGranted',
    });
    expect(enforcementOf(active, false, withLapsed, withLapsed.spec, undefined).reason).toBe('InAdmissionGrants');
    expect(enforcementOf(invalid, false, desired, desired.spec, 'boom')).toMatchObject({
      enforced: true,
      reason: 'NothingGranted',
    });
    expect(enforcementOf(active, true, undefined, undefined, undefined)).toMatchObject({
      enforced: true,
      reason: 'NamespaceExempt',
    });
  });
});

describe('desiredGrantIndex', () => {
  const t = (s: number) => `2026-11-02T00:00:${String(s).padStart(2, '0')}Z`;
  const ns = (name: string, resourceVersion: string, terminating = false) => ({ name, resourceVersion, terminating });
  it('namespaces whose grants object exists, by name with resourceVersion, sorted; exempt, terminating and unprovisioned ones left out', () => {
    const namespaces = [
      ns('b', t(2)),
      ns('a', t(1)),
      ns('kube-system', t(0)),
      ns('gone', t(3), true),
      ns('new', t(4)),
      ns('odd', ''),
    ];
    const has = (name: string) => name !== 'new';
    expect(desiredGrantIndex(namespaces, has, new Set(['kube-system']))).toEqual({ a: t(1), b: t(2) });
    expect(Object.keys(desiredGrantIndex(namespaces, has, new Set(['kube-system'])))).toEqual(['a', 'b']);
  });
  it('the limit bounds the size', () => {
    const many = Array.from({ length: 5 }, (_, i) => ns(`n${i}`, t(i)));
    expect(Object.keys(desiredGrantIndex(many, () => true, new Set(), 3))).toEqual(['n0', 'n1', 'n2']);
  });
});
