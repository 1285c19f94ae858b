// A workload controller's pod creation refused by our admission policy (its FailedCreate Event),
// linked to the lapsed exception that used to allow it: the note of the Event the operator puts
// on the workload, and the key that makes it once per workload per lapse.
import type { ExceptionState } from './violation.ts';
import { lostAbility, type Workload } from './workloads.ts';

/** What kube-controller-manager writes when admission refuses a pod: our policies are named hostns-*. */
const OUR_POLICY_REFUSAL = /ValidatingAdmissionPolicy 'hostns-[a-z0-9-]+' with binding '[^']*' denied request/;

export function isOurRefusal(message: string): boolean {
  return OUR_POLICY_REFUSAL.test(message);
}

/**
 * The lapsed exceptions the policy's message names: `(lapsed: a (owner: o, expired T), b (expired T))`
 * (the owner when the grants object records one; the first 4, then `and N more`). An owner is free
 * text that may hold `)` or `, `: an item ends at the first `expired <RFC 3339>)` after its name.
 * Callers believe a name only when it is an Expired exception of the namespace.
 */
export function lapsedNamed(message: string): string[] {
  const start = message.indexOf('(lapsed: ');
  if (start < 0) return [];
  const item = /([a-z0-9][a-z0-9.-]*) \((?:owner: .*?, )?expired \d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:\d\d)\)(, )?/y;
  item.lastIndex = start + '(lapsed: '.length;
  const names: string[] = [];
  for (let m = item.exec(message); m; m = m[2] ? item.exec(message) : null) names.push(m[1]!);
  return names;
}

/** Once per workload per lapse: the lapsed exceptions with their expiry. */
export function refusalKey(lapsed: readonly Pick<ExceptionState, 'name' | 'expiresAt'>[]): string {
  return 'lapsed=' + lapsed.map((l) => `${l.name}@${l.expiresAt ?? ''}`).join(',');
}

/**
 * `DaemonSet node-exporter cannot create pods: admission refuses hostNetwork, hostPID since
 * exception node-exporter (owner: team-x) lapsed at T. ...`. The refusal itself (the controller's
 * message) is quoted last: the Event note is cut to its byte limit from the end.
 */
export function refusalNote(
  workload: Pick<Workload, 'kind' | 'name'>,
  lapsed: readonly ExceptionState[],
  refusal: string,
): string {
  const each = lapsed.map(
    (l) =>
      `exception ${l.name} (owner: ${l.owner || '(none)'}, allowed ${l.allow.join(', ')}) lapsed at ${l.expiresAt ?? '?'}`,
  );
  return (
    `${workload.kind} ${workload.name} cannot create pods: the host namespace admission policy refuses them since ` +
    `${each.join(' and ')}: ${lostAbility(workload)}. Renew the exception (a fresh spec.riskAcceptance.acceptedAt ` +
    `and spec.expiresAt) or remove the host namespaces from the pod template. Refusal: ${refusal}`
  );
}
