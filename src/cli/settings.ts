// Which policy settings the CLI decides with: a flag given on the command line, else the
// operator's published settings (src/policy/settings.ts), else the CLI's defaults; and the lines
// that say so on stderr, so no one reads a phase computed with settings the operator does not use.
import type { Duration } from 'luxon';
import { DEFAULT_POLICY, formatDuration, parseDuration, type PolicyConfig } from '../policy/config.ts';
import type { PolicySettingsRead } from '../policy/settings.ts';

/** Where the operator's settings came from, or why there are none. */
export type SettingsSource =
  { kind: 'operator'; read: Extract<PolicySettingsRead, { kind: 'published' }> } | { kind: 'unavailable'; why: string };

/** The policy flags as given (undefined: not on the command line). */
export interface PolicyFlagValues {
  exemptNamespaces?: string;
  expiringSoon?: string;
  maxLifetime?: string;
  reviewInterval?: string;
}

type DurationKey = 'expiringSoonWindow' | 'maxLifetime' | 'reviewInterval';

const DURATION_FLAGS: { key: DurationKey; flag: keyof PolicyFlagValues; name: string }[] = [
  { key: 'expiringSoonWindow', flag: 'expiringSoon', name: '--expiring-soon' },
  { key: 'maxLifetime', flag: 'maxLifetime', name: '--max-lifetime' },
  { key: 'reviewInterval', flag: 'reviewInterval', name: '--review-interval' },
];

const namespaceList = (text: string): Set<string> =>
  new Set(
    text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
const showNamespaces = (s: ReadonlySet<string>) => (s.size ? [...s].sort().join(',') : '""');
const sameNamespaces = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
  a.size === b.size && [...a].every((n) => b.has(n));

/**
 * The settings to decide with, and the notes to print (one line each): a flag that differs from
 * the operator's, or the defaults used because the operator's could not be read (`source.why`).
 * Throws an Error naming the flag on a bad flag value.
 */
export function resolvePolicy(
  flags: PolicyFlagValues,
  source: SettingsSource,
): { config: PolicyConfig; notes: string[] } {
  const base = source.kind === 'operator' ? source.read.policy : DEFAULT_POLICY;
  const differs: string[] = [];
  const defaults: string[] = [];

  let exemptNamespaces = base.exemptNamespaces;
  if (flags.exemptNamespaces !== undefined) {
    exemptNamespaces = namespaceList(flags.exemptNamespaces);
    if (!sameNamespaces(exemptNamespaces, base.exemptNamespaces))
      differs.push(
        `--exempt-namespaces ${showNamespaces(exemptNamespaces)} instead of ${showNamespaces(base.exemptNamespaces)}`,
      );
  } else defaults.push(`--exempt-namespaces ${showNamespaces(base.exemptNamespaces)}`);

  const durations = {} as Record<DurationKey, Duration>;
  for (const { key, flag, name } of DURATION_FLAGS) {
    const text = flags[flag];
    durations[key] = base[key];
    if (text === undefined) {
      defaults.push(`${name} ${formatDuration(base[key])}`);
      continue;
    }
    durations[key] = parseDuration(text, name);
    if (durations[key].toMillis() !== base[key].toMillis())
      differs.push(`${name} ${formatDuration(durations[key])} instead of ${formatDuration(base[key])}`);
  }

  const notes: string[] = [];
  if (source.kind === 'operator' && differs.length > 0) {
    const { publishedAt, publishedBy } = source.read;
    notes.push(
      `warning: flags override the operator's policy settings (published ${publishedAt} by ${publishedBy}): ` +
        `${differs.join(', ')}; phases and findings may disagree with the register`,
    );
  }
  if (source.kind === 'unavailable' && defaults.length > 0) {
    notes.push(`note: using the CLI's default policy settings (${defaults.join(', ')}): ${source.why}`);
  }
  return { config: { exemptNamespaces, ...durations }, notes };
}
