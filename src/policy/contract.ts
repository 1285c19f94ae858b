// An exception as a contract: what it was granted for (ServiceAccounts, images) and the
// compensating controls a covered pod must keep. Pure: the operator, the CLI and the tests decide
// with these functions, and the admission policy's CEL (config/admission) mirrors them; a parity
// test runs one table through both.
//
// The controls follow Pod Security Standards' own definitions (restricted and baseline levels),
// container by container, init and ephemeral containers included, except readOnlyRootFilesystem,
// which no PSS level has.

import {
  ENFORCEABLE_CONTROLS,
  POD_SPEC_CONTROLS,
  type EnforceableControl,
  type PodSpecControl,
} from '../api/v1alpha1.ts';

export { ENFORCEABLE_CONTROLS, POD_SPEC_CONTROLS, type EnforceableControl, type PodSpecControl };

export function isEnforceableControl(value: unknown): value is EnforceableControl {
  return typeof value === 'string' && (ENFORCEABLE_CONTROLS as readonly string[]).includes(value);
}

/** A control decided from the pod spec alone (admission, scan and the operator all check it). */
export function isPodSpecControl(value: EnforceableControl): value is PodSpecControl {
  return (POD_SPEC_CONTROLS as readonly string[]).includes(value);
}

/** What each control asks, in the words Event notes and the CLI use. */
export const CONTROL_REQUIREMENTS: Record<EnforceableControl, string> = {
  runAsNonRoot: 'securityContext.runAsNonRoot: true (pod or container) and no runAsUser 0',
  dropAllCapabilities: 'capabilities.drop includes ALL and capabilities.add at most NET_BIND_SERVICE',
  readOnlyRootFilesystem: 'securityContext.readOnlyRootFilesystem: true',
  noPrivilegeEscalation: 'securityContext.allowPrivilegeEscalation: false',
  noPrivileged: 'securityContext.privileged unset or false',
  seccompRuntimeDefault: 'seccompProfile.type RuntimeDefault or Localhost (pod or container), never Unconfined',
  noHostPath: 'no hostPath volume',
  noHostPorts: 'no hostPort (with hostNetwork, the API server sets hostPort to every containerPort)',
  networkRestricted:
    'a NetworkPolicy of its namespace selects it with Egress in policyTypes (never met with hostNetwork; ' +
    'checked by the operator only)',
};

/** The ServiceAccount name a pod runs as: the API server defaults an empty one to `default`. */
export const DEFAULT_SERVICE_ACCOUNT = 'default';

/** Where a breach sits: a container (`init:`/`ephemeral:` prefixed for those) or a volume. */
export interface ControlFailure {
  control: PodSpecControl;
  /** `main`, `init:setup`, `ephemeral:debugger`, or `volume:host-root`; `pod` for pod-level fields. */
  where: string;
}

/** The part of a pod spec the contract checks, computed once when the pod is read. */
export interface PodSecurityProfile {
  serviceAccountName: string;
  /** Each container's image, `where` named as in ControlFailure. */
  images: readonly { where: string; image: string }[];
  /** Every control this pod does not meet, wherever it fails (empty for a hardened pod). */
  failures: readonly ControlFailure[];
}

/** What an exception binds its coverage to. Every part is optional; an absent part binds nothing. */
export interface ExceptionContract {
  serviceAccountNames?: readonly string[];
  /** Repository (`quay.io/cilium/cilium`), prefix ending in `/` (`quay.io/cilium/`), or `repo@sha256:<hex>`. */
  images?: readonly string[];
  controls?: readonly EnforceableControl[];
}

/**
 * A contract is checked on pods of at most this many containers (init and ephemeral included):
 * the admission policy's cost grows with them, and an evaluation over budget would admit. Real
 * pods stay far below; a larger one simply cannot be covered by a contract.
 */
export const MAX_CONTRACT_CONTAINERS = 64;

export type ContractBreach =
  | { kind: 'tooManyContainers'; count: number }
  | { kind: 'serviceAccount'; serviceAccountName: string; allowed: readonly string[] }
  | { kind: 'image'; where: string; image: string; allowed: readonly string[] }
  | ControlBreach;
export interface ControlBreach {
  kind: 'control';
  control: EnforceableControl;
  where: string;
}

// ---- reading a pod spec ---------------------------------------------------------------------

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

interface ContainerView {
  where: string;
  c: Obj;
  sc: Obj;
}

function containersOf(spec: Obj): ContainerView[] {
  const out: ContainerView[] = [];
  const add = (list: unknown, prefix: string) => {
    for (const raw of arr(list)) {
      const c = obj(raw);
      const name = typeof c.name === 'string' ? c.name : '?';
      out.push({ where: `${prefix}${name}`, c, sc: obj(c.securityContext) });
    }
  };
  add(spec.initContainers, 'init:');
  add(spec.containers, '');
  add(spec.ephemeralContainers, 'ephemeral:');
  return out;
}

const SECCOMP_ALLOWED = new Set(['RuntimeDefault', 'Localhost']);

/** Each control's check on one container, given the pod-level security context. */
const CONTAINER_CHECKS: Record<
  Exclude<PodSpecControl, 'noHostPath'>,
  (k: ContainerView, podSc: Obj, hostNetwork: boolean) => boolean
> = {
  runAsNonRoot: ({ sc }, podSc) => {
    const nonRoot = sc.runAsNonRoot === true || (sc.runAsNonRoot === undefined && podSc.runAsNonRoot === true);
    const uid = sc.runAsUser ?? podSc.runAsUser;
    return nonRoot && uid !== 0;
  },
  dropAllCapabilities: ({ sc }) => {
    const caps = obj(sc.capabilities);
    return arr(caps.drop).includes('ALL') && arr(caps.add).every((a) => a === 'NET_BIND_SERVICE');
  },
  readOnlyRootFilesystem: ({ sc }) => sc.readOnlyRootFilesystem === true,
  noPrivilegeEscalation: ({ sc }) => sc.allowPrivilegeEscalation === false,
  noPrivileged: ({ sc }) => sc.privileged !== true,
  seccompRuntimeDefault: ({ sc }, podSc) => {
    const own = obj(sc.seccompProfile).type;
    if (own !== undefined) return SECCOMP_ALLOWED.has(own as string);
    return SECCOMP_ALLOWED.has(obj(podSc.seccompProfile).type as string);
  },
  noHostPorts: ({ c }, _podSc, hostNetwork) =>
    arr(c.ports).every((p) => {
      const { hostPort, containerPort } = obj(p);
      // With hostNetwork the API server defaults an unset hostPort to the containerPort: a
      // manifest read before that defaulting must be judged as the stored pod will be.
      const effective = hostPort === undefined && hostNetwork ? containerPort : hostPort;
      return effective === undefined || effective === 0;
    }),
};

/** Reads what the contract checks from a raw pod spec (or a workload's pod template spec). Never throws. */
export function podSecurityProfile(rawSpec: unknown): PodSecurityProfile {
  const spec = obj(rawSpec);
  const podSc = obj(spec.securityContext);
  const containers = containersOf(spec);
  const failures: ControlFailure[] = [];
  for (const control of POD_SPEC_CONTROLS) {
    if (control === 'noHostPath') {
      for (const v of arr(spec.volumes)) {
        const vol = obj(v);
        if (vol.hostPath !== undefined && vol.hostPath !== null)
          failures.push({ control, where: `volume:${typeof vol.name === 'string' ? vol.name : '?'}` });
      }
      continue;
    }
    const check = CONTAINER_CHECKS[control];
    for (const k of containers)
      if (!check(k, podSc, spec.hostNetwork === true)) failures.push({ control, where: k.where });
  }
  const sa =
    typeof spec.serviceAccountName === 'string' && spec.serviceAccountName !== ''
      ? spec.serviceAccountName
      : typeof spec.serviceAccount === 'string' && spec.serviceAccount !== ''
        ? spec.serviceAccount
        : DEFAULT_SERVICE_ACCOUNT;
  return {
    serviceAccountName: sa,
    images: containers.map((k) => ({ where: k.where, image: typeof k.c.image === 'string' ? k.c.image : '' })),
    failures,
  };
}

// ---- images ---------------------------------------------------------------------------------

/** `host/path:tag@sha256:x` -> repository `host/path` and digest `sha256:x` (no normalisation). */
export function parseImage(image: string): { repository: string; digest?: string } {
  const at = image.indexOf('@');
  const named = at >= 0 ? image.slice(0, at) : image;
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const colon = named.lastIndexOf(':');
  const repository = colon > named.lastIndexOf('/') ? named.slice(0, colon) : named;
  return digest === undefined ? { repository } : { repository, digest };
}

/**
 * Whether `image` is allowed by one entry. No registry defaulting is applied, on purpose: a pod
 * image written `nginx` matches no entry (entries must be fully qualified, the CRD says so), so
 * the answer cannot depend on which registry a node's runtime would pick.
 */
export function imageMatches(image: string, entry: string): boolean {
  const pod = parseImage(image);
  if (entry.includes('@')) {
    const want = parseImage(entry);
    return pod.repository === want.repository && pod.digest !== undefined && pod.digest === want.digest;
  }
  if (entry.endsWith('/')) return pod.repository.startsWith(entry);
  return pod.repository === entry;
}

// ---- the verdict ----------------------------------------------------------------------------

/**
 * Everything that keeps `contract` from covering a pod with this profile (empty: it may cover it).
 * `networkRestricted`: whether a NetworkPolicy restricts the pod's egress (src/policy/network.ts),
 * known to the operator only; undefined (admission, scan) checks nothing for that control.
 */
export function contractBreaches(
  profile: PodSecurityProfile,
  contract: ExceptionContract,
  networkRestricted?: boolean,
): ContractBreach[] {
  const out: ContractBreach[] = [];
  if (profile.images.length > MAX_CONTRACT_CONTAINERS && contractBinds(contract)) {
    return [{ kind: 'tooManyContainers', count: profile.images.length }];
  }
  const sas = contract.serviceAccountNames ?? [];
  if (sas.length > 0 && !sas.includes(profile.serviceAccountName)) {
    out.push({ kind: 'serviceAccount', serviceAccountName: profile.serviceAccountName, allowed: sas });
  }
  const images = contract.images ?? [];
  if (images.length > 0) {
    for (const { where, image } of profile.images) {
      if (!images.some((e) => imageMatches(image, e))) out.push({ kind: 'image', where, image, allowed: images });
    }
  }
  const controls = new Set(contract.controls ?? []);
  for (const f of profile.failures)
    if (controls.has(f.control)) out.push({ kind: 'control', control: f.control, where: f.where });
  if (controls.has('networkRestricted') && networkRestricted === false)
    out.push({ kind: 'control', control: 'networkRestricted', where: 'pod' });
  return out;
}

function contractBinds(c: ExceptionContract): boolean {
  return (c.serviceAccountNames?.length ?? 0) + (c.images?.length ?? 0) + (c.controls?.length ?? 0) > 0;
}

/** One control of a contract as a pod keeps it: met, or broken at these places (containers, volumes). */
export interface ControlResult {
  control: EnforceableControl;
  /** Undefined: not checkable here (networkRestricted without the NetworkPolicies). */
  met: boolean | undefined;
  /** Where it breaks (ControlFailure.where, or `pod`); empty when met. */
  where: string[];
}

/** Each of `controls` as the pod with this profile keeps it, in the order given (review and audit). */
export function controlResults(
  profile: PodSecurityProfile,
  controls: readonly EnforceableControl[],
  networkRestricted?: boolean,
): ControlResult[] {
  return controls.map((control) => {
    if (!isPodSpecControl(control))
      return { control, met: networkRestricted, where: networkRestricted === false ? ['pod'] : [] };
    const where = profile.failures.filter((f) => f.control === control).map((f) => f.where);
    return { control, met: where.length === 0, where };
  });
}

/** One line per breach, as the admission message, the Event note and the CLI print it. */
export function describeBreach(b: ContractBreach): string {
  switch (b.kind) {
    case 'tooManyContainers':
      return `has ${b.count} containers, more than the ${MAX_CONTRACT_CONTAINERS} a contract can check`;
    case 'serviceAccount':
      return `runs as ServiceAccount ${b.serviceAccountName}, not ${b.allowed.join(' or ')}`;
    case 'image':
      return `${describeWhere(b.where)} runs image ${b.image}, not one of ${b.allowed.join(', ')}`;
    case 'control':
      return `${describeWhere(b.where)} breaks control ${b.control} (${CONTROL_REQUIREMENTS[b.control]})`;
  }
}

function describeWhere(where: string): string {
  if (where.startsWith('init:')) return `init container ${where.slice(5)}`;
  if (where.startsWith('ephemeral:')) return `ephemeral container ${where.slice(10)}`;
  if (where.startsWith('volume:')) return `volume ${where.slice(7)}`;
  if (where === 'pod') return 'the pod';
  return `container ${where}`;
}

/**
 * `networkRestricted` cannot be met by a hostNetwork pod: NetworkPolicy does not apply to the
 * node's network namespace. The CRD refuses the combination with this message (and the operator
 * treats an exception that got in anyway as Invalid, saying the same).
 */
export const NETWORK_RESTRICTED_HOST_NETWORK =
  "networkRestricted cannot apply to hostNetwork: NetworkPolicy does not select traffic in the node's network " +
  'namespace; restrict it with host firewall rules (e.g. Cilium host policies or Calico host endpoints) instead';

// ---- reading a contract from an exception ---------------------------------------------------

/** `spec.boundTo` and `spec.riskAcceptance.enforcedControls`, checked. Never throws. */
export function readContract(rawSpec: unknown): { contract: ExceptionContract; problems: string[] } {
  const spec = obj(rawSpec);
  const problems: string[] = [];
  const contract: { -readonly [K in keyof ExceptionContract]: ExceptionContract[K] } = {};
  const strings = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) {
      problems.push(`${field} must be a list of non-empty strings`);
      return undefined;
    }
    return v as string[];
  };
  const boundTo = obj(spec.boundTo);
  const sas = strings(boundTo.serviceAccountNames, 'spec.boundTo.serviceAccountNames');
  if (sas?.length) contract.serviceAccountNames = sas;
  const images = strings(boundTo.images, 'spec.boundTo.images');
  if (images?.length) {
    for (const e of images)
      if (!isQualifiedImageEntry(e))
        problems.push(
          `spec.boundTo.images: ${JSON.stringify(e)} is not a fully qualified repository, prefix ending in /, or repository@sha256:<64 hex>`,
        );
    contract.images = images;
  }
  const controls = strings(obj(spec.riskAcceptance).enforcedControls, 'spec.riskAcceptance.enforcedControls');
  if (controls?.length) {
    const unknown = controls.filter((c) => !isEnforceableControl(c));
    if (unknown.length)
      problems.push(
        `spec.riskAcceptance.enforcedControls: unknown ${unknown.join(', ')} (known: ${ENFORCEABLE_CONTROLS.join(', ')})`,
      );
    contract.controls = controls.filter(isEnforceableControl);
    const allow = Array.isArray(spec.allow) ? spec.allow : [];
    if (contract.controls.includes('networkRestricted') && allow.includes('hostNetwork'))
      problems.push(`spec.riskAcceptance.enforcedControls: ${NETWORK_RESTRICTED_HOST_NETWORK}`);
  }
  return { contract, problems };
}

/**
 * An image entry names its registry (a first component with a `.` or `:`, or `localhost`), so
 * that no runtime defaulting (docker.io/library/...) can make two readings of it differ. The CRD
 * applies the same rule.
 */
export const IMAGE_ENTRY_PATTERN =
  /^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+|[a-z0-9.-]+:[0-9]+)(\/[a-z0-9._-]+)*(\/|@sha256:[a-f0-9]{64})?$/;
export function isQualifiedImageEntry(entry: string): boolean {
  return IMAGE_ENTRY_PATTERN.test(entry) && !entry.endsWith('//');
}
