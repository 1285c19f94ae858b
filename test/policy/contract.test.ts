import { describe, expect, it } from 'vitest';
import {
  ENFORCEABLE_CONTROLS,
  contractBreaches,
  controlResults,
  describeBreach,
  imageMatches,
  parseImage,
  podSecurityProfile,
  readContract,
  isQualifiedImageEntry,
  type EnforceableControl,
} from '../../src/policy/contract.ts';

/** A pod spec meeting every control. */
const hardenedContainer = (name = 'agent', over: Record<string, unknown> = {}) => ({
  name,
  image: 'quay.io/cilium/cilium:v1.18.0',
  securityContext: {
    runAsNonRoot: true,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ['ALL'] },
  },
  ...over,
});
const hardened = (over: Record<string, unknown> = {}) => ({
  serviceAccountName: 'cilium',
  hostNetwork: true,
  securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
  containers: [hardenedContainer()],
  ...over,
});
const failing = (spec: unknown) => podSecurityProfile(spec).failures.map((f) => `${f.control}@${f.where}`);

describe('podSecurityProfile', () => {
  it('a hardened pod fails no control', () => {
    expect(podSecurityProfile(hardened()).failures).toEqual([]);
  });
  it('never throws on malformed specs', () => {
    for (const bad of [
      undefined,
      null,
      1,
      'x',
      [],
      { containers: 'x' },
      { containers: [null, 1, 'y'] },
      { volumes: [null] },
    ]) {
      expect(() => podSecurityProfile(bad)).not.toThrow();
    }
  });
  it('defaults the ServiceAccount as the API server does', () => {
    expect(podSecurityProfile({}).serviceAccountName).toBe('default');
    expect(podSecurityProfile({ serviceAccountName: '' }).serviceAccountName).toBe('default');
    expect(podSecurityProfile({ serviceAccount: 'legacy' }).serviceAccountName).toBe('legacy');
    expect(podSecurityProfile({ serviceAccountName: 'a', serviceAccount: 'b' }).serviceAccountName).toBe('a');
  });
  it('lists images of init, regular and ephemeral containers', () => {
    const p = podSecurityProfile({
      initContainers: [{ name: 'i', image: 'a/i' }],
      containers: [{ name: 'c', image: 'a/c' }],
      ephemeralContainers: [{ name: 'e', image: 'a/e' }],
    });
    expect(p.images).toEqual([
      { where: 'init:i', image: 'a/i' },
      { where: 'c', image: 'a/c' },
      { where: 'ephemeral:e', image: 'a/e' },
    ]);
  });

  describe('runAsNonRoot (PSS restricted: Running as Non-root, and non-root user)', () => {
    const c = (sc: Record<string, unknown>) =>
      hardenedContainer('c', {
        securityContext: { ...hardenedContainer().securityContext, runAsNonRoot: undefined, ...sc },
      });
    it.each([
      ['pod-level true, container unset', { runAsNonRoot: true }, {}, true],
      ['container true, pod unset', {}, { runAsNonRoot: true }, true],
      ['container false overrides pod true', { runAsNonRoot: true }, { runAsNonRoot: false }, false],
      ['neither set', {}, {}, false],
      ['pod true but runAsUser 0 in container', { runAsNonRoot: true }, { runAsUser: 0 }, false],
      [
        'pod runAsUser 0, container overrides with 1000',
        { runAsNonRoot: true, runAsUser: 0 },
        { runAsUser: 1000 },
        true,
      ],
      ['pod runAsUser 0 inherited', { runAsNonRoot: true, runAsUser: 0 }, {}, false],
      ['string "true" is not true', { runAsNonRoot: 'true' }, {}, false],
    ])('%s', (_, podSc, sc, ok) => {
      const f = failing(
        hardened({ securityContext: { seccompProfile: { type: 'RuntimeDefault' }, ...podSc }, containers: [c(sc)] }),
      );
      expect(f.includes('runAsNonRoot@c')).toBe(!ok);
    });
  });

  describe('dropAllCapabilities (PSS restricted: Capabilities)', () => {
    it.each([
      [{ drop: ['ALL'] }, true],
      [{ drop: ['ALL'], add: ['NET_BIND_SERVICE'] }, true],
      [{ drop: ['ALL'], add: ['NET_ADMIN'] }, false],
      [{ drop: ['NET_RAW'] }, false],
      [{ drop: ['all'] }, false],
      [{}, false],
      [undefined, false],
    ])('%j -> %s', (caps, ok) => {
      const f = failing(
        hardened({
          containers: [
            hardenedContainer('c', { securityContext: { ...hardenedContainer().securityContext, capabilities: caps } }),
          ],
        }),
      );
      expect(f.includes('dropAllCapabilities@c')).toBe(!ok);
    });
  });

  describe('per-field controls', () => {
    const withSc = (sc: Record<string, unknown>) =>
      failing(
        hardened({
          containers: [hardenedContainer('c', { securityContext: { ...hardenedContainer().securityContext, ...sc } })],
        }),
      );
    it.each([
      ['readOnlyRootFilesystem', { readOnlyRootFilesystem: false }],
      ['readOnlyRootFilesystem', { readOnlyRootFilesystem: undefined }],
      ['noPrivilegeEscalation', { allowPrivilegeEscalation: true }],
      ['noPrivilegeEscalation', { allowPrivilegeEscalation: undefined }],
      ['noPrivileged', { privileged: true }],
      ['seccompRuntimeDefault', { seccompProfile: { type: 'Unconfined' } }],
    ] as [EnforceableControl, Record<string, unknown>][])('%s fails with %j', (control, sc) => {
      expect(withSc(sc)).toContain(`${control}@c`);
    });
    it('privileged: false passes noPrivileged', () => expect(withSc({ privileged: false })).toEqual([]));
  });

  describe('seccompRuntimeDefault (PSS restricted: Seccomp)', () => {
    it.each([
      ['pod RuntimeDefault', { type: 'RuntimeDefault' }, undefined, true],
      ['pod Localhost', { type: 'Localhost', localhostProfile: 'p.json' }, undefined, true],
      ['pod unset, container RuntimeDefault', undefined, { type: 'RuntimeDefault' }, true],
      ['pod unset, container unset', undefined, undefined, false],
      ['pod RuntimeDefault, container Unconfined', { type: 'RuntimeDefault' }, { type: 'Unconfined' }, false],
      ['pod Unconfined, container RuntimeDefault', { type: 'Unconfined' }, { type: 'RuntimeDefault' }, true],
    ])('%s', (_, podProfile, cProfile, ok) => {
      const sc = { ...hardenedContainer().securityContext, ...(cProfile ? { seccompProfile: cProfile } : {}) };
      const f = failing({
        securityContext: podProfile ? { seccompProfile: podProfile } : {},
        containers: [hardenedContainer('c', { securityContext: sc })],
      });
      expect(f.includes('seccompRuntimeDefault@c')).toBe(!ok);
    });
  });

  it('noHostPath names each hostPath volume, and only those', () => {
    const f = failing(
      hardened({
        volumes: [
          { name: 'root', hostPath: { path: '/' } },
          { name: 'tmp', emptyDir: {} },
          { name: 'sys', hostPath: { path: '/sys' } },
        ],
      }),
    );
    expect(f).toEqual(['noHostPath@volume:root', 'noHostPath@volume:sys']);
  });

  it('noHostPorts: any non-zero hostPort fails, 0 or unset passes', () => {
    const ports = (p: unknown[]) =>
      failing(hardened({ hostNetwork: false, containers: [hardenedContainer('c', { ports: p })] }));
    expect(ports([{ containerPort: 9100 }])).toEqual([]);
    expect(ports([{ containerPort: 9100, hostPort: 0 }])).toEqual([]);
    expect(ports([{ containerPort: 9100, hostPort: 9100 }])).toEqual(['noHostPorts@c']);
    expect(ports([{ containerPort: 1 }, { containerPort: 2, hostPort: 2 }])).toEqual(['noHostPorts@c']);
  });
  it('noHostPorts: with hostNetwork a declared containerPort is a host port (the API server defaults it)', () => {
    const f = (hostNetwork: boolean, p: unknown[]) =>
      failing({ ...hardened({ containers: [hardenedContainer('c', { ports: p })] }), hostNetwork });
    expect(f(true, [{ containerPort: 9100 }])).toEqual(['noHostPorts@c']);
    expect(f(false, [{ containerPort: 9100 }])).toEqual([]);
    expect(f(true, [])).toEqual([]);
  });

  it('checks init and ephemeral containers, named as such', () => {
    const f = failing(
      hardened({
        initContainers: [{ name: 'setup', image: 'x', securityContext: { privileged: true } }],
        ephemeralContainers: [{ name: 'debugger', image: 'busybox' }],
      }),
    );
    expect(f).toContain('noPrivileged@init:setup');
    expect(f).toContain('runAsNonRoot@ephemeral:debugger');
    expect(f).toContain('dropAllCapabilities@ephemeral:debugger');
    expect(f).not.toContain('runAsNonRoot@agent');
  });
});

describe('images', () => {
  it.each([
    ['quay.io/cilium/cilium:v1', { repository: 'quay.io/cilium/cilium' }],
    ['quay.io/cilium/cilium', { repository: 'quay.io/cilium/cilium' }],
    ['localhost:5000/a/b:t', { repository: 'localhost:5000/a/b' }],
    ['localhost:5000/a/b', { repository: 'localhost:5000/a/b' }],
    ['r.io/a@sha256:ab', { repository: 'r.io/a', digest: 'sha256:ab' }],
    ['r.io/a:t@sha256:ab', { repository: 'r.io/a', digest: 'sha256:ab' }],
  ])('parseImage(%s)', (image, want) => expect(parseImage(image)).toEqual(want));

  const digest = 'sha256:' + 'a'.repeat(64);
  it.each([
    ['quay.io/cilium/cilium:v1', 'quay.io/cilium/cilium', true],
    ['quay.io/cilium/cilium-evil:v1', 'quay.io/cilium/cilium', false],
    ['quay.io/cilium/cilium:v1', 'quay.io/cilium/', true],
    ['quay.io/cilium-evil/x:v1', 'quay.io/cilium/', false],
    ['quay.io/cilium/operator/x', 'quay.io/cilium/', true],
    ['cilium/cilium:v1', 'docker.io/cilium/cilium', false],
    [`quay.io/cilium/cilium@${digest}`, `quay.io/cilium/cilium@${digest}`, true],
    [`quay.io/cilium/cilium:v1@${digest}`, `quay.io/cilium/cilium@${digest}`, true],
    ['quay.io/cilium/cilium:v1', `quay.io/cilium/cilium@${digest}`, false],
    [`quay.io/cilium/cilium@sha256:${'b'.repeat(64)}`, `quay.io/cilium/cilium@${digest}`, false],
    [`quay.io/other@${digest}`, `quay.io/cilium/cilium@${digest}`, false],
    ['', 'quay.io/', false],
  ])('%s against %s -> %s', (image, entry, ok) => expect(imageMatches(image, entry)).toBe(ok));
});

describe('contractBreaches', () => {
  const profile = podSecurityProfile(hardened());
  it('an empty contract binds nothing', () => {
    expect(contractBreaches(podSecurityProfile({}), {})).toEqual([]);
  });
  it('ServiceAccount must be one of the listed', () => {
    expect(contractBreaches(profile, { serviceAccountNames: ['cilium'] })).toEqual([]);
    expect(contractBreaches(profile, { serviceAccountNames: ['other', 'x'] })).toEqual([
      { kind: 'serviceAccount', serviceAccountName: 'cilium', allowed: ['other', 'x'] },
    ]);
    expect(contractBreaches(podSecurityProfile({}), { serviceAccountNames: ['cilium'] })[0]).toMatchObject({
      serviceAccountName: 'default',
    });
  });
  it('every container image must be allowed, init and ephemeral included', () => {
    const p = podSecurityProfile(
      hardened({ ephemeralContainers: [{ name: 'dbg', image: 'docker.io/library/busybox' }] }),
    );
    expect(contractBreaches(p, { images: ['quay.io/cilium/'] })).toEqual([
      { kind: 'image', where: 'ephemeral:dbg', image: 'docker.io/library/busybox', allowed: ['quay.io/cilium/'] },
    ]);
  });
  it("only the contract's controls count", () => {
    const p = podSecurityProfile(
      hardened({ containers: [hardenedContainer('c', { securityContext: { runAsNonRoot: true } })] }),
    );
    expect(contractBreaches(p, { controls: ['runAsNonRoot'] })).toEqual([]);
    expect(contractBreaches(p, { controls: ['runAsNonRoot', 'readOnlyRootFilesystem'] })).toEqual([
      { kind: 'control', control: 'readOnlyRootFilesystem', where: 'c' },
    ]);
  });
  it('a pod of more than 64 containers cannot keep a contract (admission could not check it)', () => {
    const many = (n: number) =>
      podSecurityProfile(hardened({ containers: Array.from({ length: n }, (_, i) => hardenedContainer(`c${i}`)) }));
    expect(contractBreaches(many(64), { controls: ['noPrivileged'] })).toEqual([]);
    expect(contractBreaches(many(65), { controls: ['noPrivileged'] })).toEqual([
      { kind: 'tooManyContainers', count: 65 },
    ]);
    expect(contractBreaches(many(65), {})).toEqual([]);
    expect(describeBreach({ kind: 'tooManyContainers', count: 65 })).toContain('65 containers');
  });
  it('controlResults reports each control of the contract, with where it breaks', () => {
    const p = podSecurityProfile(
      hardened({
        volumes: [{ name: 'h', hostPath: { path: '/' } }],
        initContainers: [{ ...hardenedContainer('setup'), securityContext: { privileged: true } }],
      }),
    );
    expect(controlResults(p, ['noHostPath', 'noPrivileged', 'readOnlyRootFilesystem'])).toEqual([
      { control: 'noHostPath', met: false, where: ['volume:h'] },
      { control: 'noPrivileged', met: false, where: ['init:setup'] },
      { control: 'readOnlyRootFilesystem', met: false, where: ['init:setup'] },
    ]);
    expect(controlResults(podSecurityProfile(hardened()), ['noPrivileged'])).toEqual([
      { control: 'noPrivileged', met: true, where: [] },
    ]);
  });
  it('every breach reads as one line naming the control or binding and where', () => {
    const p = podSecurityProfile({
      serviceAccountName: 'x',
      initContainers: [{ name: 'i', image: 'evil.io/x', securityContext: { privileged: true } }],
      containers: [{ name: 'c', image: 'evil.io/y' }],
      volumes: [{ name: 'root', hostPath: { path: '/' } }],
    });
    const lines = contractBreaches(p, {
      serviceAccountNames: ['cilium'],
      images: ['quay.io/'],
      controls: [...ENFORCEABLE_CONTROLS],
    }).map(describeBreach);
    expect(lines).toContain('runs as ServiceAccount x, not cilium');
    expect(lines).toContain('init container i runs image evil.io/x, not one of quay.io/');
    expect(lines.some((l) => l.startsWith('init container i breaks control noPrivileged'))).toBe(true);
    expect(lines.some((l) => l.startsWith('volume root breaks control noHostPath'))).toBe(true);
    for (const l of lines) expect(l).not.toContain('\n');
  });
});

describe('readContract', () => {
  it('reads boundTo and enforcedControls', () => {
    expect(
      readContract({
        boundTo: { serviceAccountNames: ['cilium'], images: ['quay.io/cilium/', `quay.io/x@sha256:${'0'.repeat(64)}`] },
        riskAcceptance: { enforcedControls: ['runAsNonRoot'] },
      }),
    ).toEqual({
      contract: {
        serviceAccountNames: ['cilium'],
        images: ['quay.io/cilium/', `quay.io/x@sha256:${'0'.repeat(64)}`],
        controls: ['runAsNonRoot'],
      },
      problems: [],
    });
  });
  it('an exception without them has an empty contract', () => {
    expect(readContract({ riskAcceptance: { compensatingControls: ['free text'] } })).toEqual({
      contract: {},
      problems: [],
    });
    expect(readContract(undefined)).toEqual({ contract: {}, problems: [] });
  });
  it.each([
    [{ boundTo: { serviceAccountNames: 'cilium' } }, 'spec.boundTo.serviceAccountNames'],
    [{ boundTo: { serviceAccountNames: [''] } }, 'spec.boundTo.serviceAccountNames'],
    [{ boundTo: { images: ['nginx'] } }, 'spec.boundTo.images'],
    [{ boundTo: { images: ['cilium/cilium'] } }, 'spec.boundTo.images'],
    [{ boundTo: { images: ['quay.io/x@sha256:abc'] } }, 'spec.boundTo.images'],
    [{ boundTo: { images: ['quay.io/x:v1'] } }, 'spec.boundTo.images'],
    [{ riskAcceptance: { enforcedControls: ['runsAsNonRoot'] } }, 'spec.riskAcceptance.enforcedControls'],
    [{ riskAcceptance: { enforcedControls: [1] } }, 'spec.riskAcceptance.enforcedControls'],
  ])('%j is a problem naming %s', (spec, field) => {
    const { problems } = readContract(spec);
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toContain(field);
  });
  it.each([
    'quay.io/cilium/cilium',
    'quay.io/cilium/',
    'localhost/x',
    'localhost:5000/x/y',
    'registry.k8s.io/pause',
    '10.0.0.1:5000/a',
  ])('%s is a qualified entry', (e) => expect(isQualifiedImageEntry(e)).toBe(true));
});
