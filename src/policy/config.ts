// Policy settings shared by the controller, the CLI and the admission config, with their defaults.
import { Duration } from 'luxon';

export interface PolicyConfig {
  /** An exception is ExpiringSoon this long before it expires. */
  expiringSoonWindow: Duration;
  /** Longest lifetime an exception may have, from its risk acceptance (or creation) to expiry. */
  maxLifetime: Duration;
  /** A review is due this long after the last one (or after creation). */
  reviewInterval: Duration;
  /** Namespaces whose pods are never classified as offenders nor labelled. */
  exemptNamespaces: ReadonlySet<string>;
}

export const DEFAULT_POLICY: PolicyConfig = Object.freeze({
  expiringSoonWindow: Duration.fromObject({ days: 7 }),
  maxLifetime: Duration.fromObject({ days: 90 }),
  reviewInterval: Duration.fromObject({ days: 30 }),
  exemptNamespaces: new Set(['kube-system']),
});

/**
 * Parses "7d", "36h", "90m", "45s", combinations like "1d12h", or an ISO 8601 duration ("P7D").
 * Throws an Error naming `field` when the text is not a positive duration.
 */
export function parseDuration(text: string, field: string): Duration {
  const trimmed = text.trim();
  let d: Duration | undefined;
  if (/^P/i.test(trimmed)) {
    d = Duration.fromISO(trimmed.toUpperCase());
  } else {
    const re = /(\d+(?:\.\d+)?)(d|h|m|s)/gy;
    const parts: Record<string, number> = {};
    let m: RegExpExecArray | null;
    let consumed = 0;
    while ((m = re.exec(trimmed)) !== null) {
      const unit = { d: 'days', h: 'hours', m: 'minutes', s: 'seconds' }[m[2] as 'd' | 'h' | 'm' | 's'];
      parts[unit] = (parts[unit] ?? 0) + Number(m[1]);
      consumed = re.lastIndex;
    }
    if (consumed === trimmed.length && consumed > 0) d = Duration.fromObject(parts);
  }
  if (!d || !d.isValid || d.toMillis() <= 0) {
    throw new Error(`${field}: ${JSON.stringify(text)} is not a positive duration (use e.g. 7d, 36h, 90m, 45s or P7D)`);
  }
  return d;
}

/** Renders a duration the way people write it back: 7d, 1d12h, 90s. */
export function formatDuration(d: Duration): string {
  let s = Math.round(d.as('seconds'));
  const out: string[] = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(s / size);
    if (n > 0) out.push(`${n}${unit}`);
    s -= n * size;
  }
  return out.join('') || '0s';
}
