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
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(s / size);
    if (n > 0) out.push(`${n}${unit}`);
    s -= n * size;
  }
  return out.join('') || '0s';
}

/** The policy settings as flags spell them (operator and CLI alike). */
export interface PolicySettings {
  /** Comma-separated namespace names ("" for none). */
  exemptNamespaces: string;
  expiringSoon: string;
  maxLifetime: string;
  reviewInterval: string;
}

/** The flags' defaults, written as the flags take them. */
export const DEFAULT_POLICY_SETTINGS: PolicySettings = Object.freeze({
  exemptNamespaces: [...DEFAULT_POLICY.exemptNamespaces].join(','),
  expiringSoon: formatDuration(DEFAULT_POLICY.expiringSoonWindow),
  maxLifetime: formatDuration(DEFAULT_POLICY.maxLifetime),
  reviewInterval: formatDuration(DEFAULT_POLICY.reviewInterval),
});

/** Settings -> policy; throws an Error naming the flag (--expiring-soon, ...) on bad input. */
export function policyFrom(settings: PolicySettings): PolicyConfig {
  return {
    exemptNamespaces: new Set(
      settings.exemptNamespaces
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
    expiringSoonWindow: parseDuration(settings.expiringSoon, '--expiring-soon'),
    maxLifetime: parseDuration(settings.maxLifetime, '--max-lifetime'),
    reviewInterval: parseDuration(settings.reviewInterval, '--review-interval'),
  };
}
