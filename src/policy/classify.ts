// Pod classification: which host namespaces a pod uses and whether active exceptions cover them.
import { HOST_NAMESPACES, type HostNamespace, type LabelSelector } from '../api/v1alpha1.ts';
import type { ExceptionFacts } from './exception.ts';
import { isGranting, type Lifecycle } from './lifecycle.ts';
import { matchesSelector, type Labels } from './selector.ts';
import { contractBreaches, type ContractBreach, type ExceptionContract, type PodSecurityProfile } from './contract.ts';

/** The few facts about a pod that classification needs. */
export interface PodFacts {
  namespace: string;
  name: string;
  labels: Labels;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  /** What an exception's contract checks (ServiceAccount, images, controls); absent: unknown. */
  security?: PodSecurityProfile;
  /** Whether a NetworkPolicy restricts its egress (src/policy/network.ts); absent: not known here. */
  networkRestricted?: boolean;
}

/** An exception as classification sees it. */
export interface ExceptionGrant {
  name: string;
  owner: string;
  allow: readonly HostNamespace[];
  selector: LabelSelector;
  /** True while Active or ExpiringSoon; a lapsed (Expired) exception only explains offenders. */
  granting: boolean;
  /** What the exception is bound to and the controls it enforces; absent or empty binds nothing. */
  contract?: ExceptionContract;
}

/** A granting exception that selects the pod but whose contract the pod breaks. */
export interface BrokenContract {
  exception: string;
  owner: string;
  /** Empty when the pod's security profile was not known (it cannot be checked, so it is not covered). */
  breaches: ContractBreach[];
}

export type PodClass =
  | { kind: 'clean' }
  | { kind: 'exempt'; used: HostNamespace[] }
  | { kind: 'covered'; used: HostNamespace[]; exceptions: string[] }
  | {
      kind: 'offender';
      used: HostNamespace[];
      uncovered: HostNamespace[];
      /** Granting exceptions that cover part of what it uses. */
      exceptions: string[];
      /** Lapsed exceptions that would have allowed an uncovered flag (for the violation message). */
      lapsed: { name: string; owner: string }[];
      /** Granting exceptions that would have allowed an uncovered flag but whose contract it breaks. */
      broken: BrokenContract[];
    };

/** Whether the contract binds anything at all (an exception without one covers by labels alone). */
export function hasContract(c: ExceptionContract | undefined): c is ExceptionContract {
  return (
    !!c && ((c.serviceAccountNames?.length ?? 0) > 0 || (c.images?.length ?? 0) > 0 || (c.controls?.length ?? 0) > 0)
  );
}

/** The breaches of one exception's contract by one pod; `undefined` when it keeps the contract. */
function brokenBy(pod: PodFacts, e: ExceptionGrant): ContractBreach[] | undefined {
  if (!hasContract(e.contract)) return undefined;
  if (!pod.security) return [];
  const breaches = contractBreaches(pod.security, e.contract, pod.networkRestricted);
  return breaches.length ? breaches : undefined;
}

/**
 * What classification sees of evaluated exceptions, for the controller and the CLI alike:
 * Active/ExpiringSoon ones grant, Expired ones only explain offenders, Invalid ones are left out
 * (they cannot be trusted to say what they allow).
 */
export function classifiableExceptions(
  exceptions: readonly { facts: ExceptionFacts; lifecycle: Lifecycle }[],
): ExceptionGrant[] {
  return exceptions
    .filter((e) => e.lifecycle.phase !== 'Invalid')
    .map(({ facts, lifecycle }) => ({
      name: facts.name,
      owner: facts.owner,
      allow: facts.allow,
      selector: facts.selector,
      granting: isGranting(lifecycle.phase),
      contract: facts.contract,
    }));
}

/** Exactly the fields Pod Security Admission's baseline hostNamespaces check flags. */
export function usedHostNamespaces(pod: Pick<PodFacts, HostNamespace>): HostNamespace[] {
  return HOST_NAMESPACES.filter((h) => pod[h] === true);
}

/**
 * Classifies a pod against the exceptions of its namespace. Several exceptions may together cover
 * a pod (one allowing hostNetwork, another hostPID).
 */
export function classifyPod(
  pod: PodFacts,
  exceptionsInNamespace: readonly ExceptionGrant[],
  exemptNamespaces: ReadonlySet<string>,
): PodClass {
  const used = usedHostNamespaces(pod);
  if (used.length === 0) return { kind: 'clean' };
  if (exemptNamespaces.has(pod.namespace)) return { kind: 'exempt', used };

  const allowed = new Set<HostNamespace>();
  const exceptions: string[] = [];
  const brokenAll: (BrokenContract & { allow: readonly HostNamespace[] })[] = [];
  const matching = exceptionsInNamespace.filter((e) => matchesSelector(e.selector, pod.labels));
  for (const e of matching) {
    if (!e.granting) continue;
    const useful = e.allow.filter((h) => used.includes(h));
    if (useful.length === 0) continue;
    const breaches = brokenBy(pod, e);
    if (breaches) {
      brokenAll.push({ exception: e.name, owner: e.owner, breaches, allow: e.allow });
      continue;
    }
    useful.forEach((h) => allowed.add(h));
    exceptions.push(e.name);
  }
  exceptions.sort();
  const uncovered = used.filter((h) => !allowed.has(h));
  if (uncovered.length === 0) return { kind: 'covered', used, exceptions };
  const lapsed = matching
    .filter((e) => !e.granting && e.allow.some((h) => uncovered.includes(h)))
    .map((e) => ({ name: e.name, owner: e.owner }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const broken = brokenAll
    .filter((b) => b.allow.some((h) => uncovered.includes(h)))
    .map(({ exception, owner, breaches }) => ({ exception, owner, breaches }))
    .sort((a, b) => a.exception.localeCompare(b.exception));
  return { kind: 'offender', used, uncovered, exceptions, lapsed, broken };
}
