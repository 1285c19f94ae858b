// The policy settings the operator runs with, published on the grant index (HostNamespaceGrantIndex
// `cluster`) as the annotation hostns.io/policy-settings, so that `kubectl hostns` decides phases,
// findings and verdicts as the operator does without anyone repeating its flags (docs/cli.md).
// Pure: the operator builds the value, the CLI reads it back; neither trusts anything else.
import { Duration, type DateTime } from 'luxon';
import { isApiDateTime, textProblem } from '../api/validation.ts';
import { formatDuration, parseDuration, type PolicyConfig } from './config.ts';
import { rfc3339 } from './grants.ts';
import { stableJson } from './json.ts';

export const ANNOTATION_POLICY_SETTINGS = 'hostns.io/policy-settings';

/**
 * The version of the value's meaning. A reader refuses any other: a new setting that changes a
 * phase, finding or verdict gets a new version, so an older CLI falls back to its defaults and
 * says so instead of deciding without it.
 */
export const POLICY_SETTINGS_VERSION = 1;

/** Larger values are not read (about 900 exempt namespaces of 63 characters fit). */
export const MAX_POLICY_SETTINGS_BYTES = 65_536;

/** Every operator setting that changes a phase, finding or verdict, in canonical form. */
export interface PolicySettingValues {
  /** Sorted namespace names. */
  exemptNamespaces: string[];
  /** Durations as formatDuration writes them (7d, 1d12h, 10m). */
  expiringSoon: string;
  maxLifetime: string;
  reviewInterval: string;
}

/** The annotation's value, as JSON. */
export interface PublishedPolicySettings {
  version: typeof POLICY_SETTINGS_VERSION;
  settings: PolicySettingValues;
  /** When the operator wrote these settings (they are rewritten only when they change). */
  publishedAt: string;
  /** The operator replica (its --identity) that wrote them. */
  publishedBy: string;
}

export function policySettingValues(policy: PolicyConfig): PolicySettingValues {
  return {
    exemptNamespaces: [...policy.exemptNamespaces].sort(),
    expiringSoon: formatDuration(policy.expiringSoonWindow),
    maxLifetime: formatDuration(policy.maxLifetime),
    reviewInterval: formatDuration(policy.reviewInterval),
  };
}

export function publishedPolicySettings(policy: PolicyConfig, at: DateTime, by: string): PublishedPolicySettings {
  return {
    version: POLICY_SETTINGS_VERSION,
    settings: policySettingValues(policy),
    publishedAt: rfc3339(at.startOf('second')),
    publishedBy: by,
  };
}

/**
 * Whether an annotation value already states `desired`'s version and settings, exactly as the
 * operator writes them. Who and when are not compared: a restart, or another replica taking the
 * lead, with the same settings writes nothing.
 */
export function statesSameSettings(annotation: string | undefined, desired: PublishedPolicySettings): boolean {
  if (annotation === undefined || annotation.length > MAX_POLICY_SETTINGS_BYTES) return false;
  let current: unknown;
  try {
    current = JSON.parse(annotation);
  } catch {
    return false;
  }
  if (!isRecord(current)) return false;
  return current.version === desired.version && stableJson(current.settings) === stableJson(desired.settings);
}

/** What a reader made of the annotation. */
export type PolicySettingsRead =
  | {
      kind: 'published';
      policy: PolicyConfig;
      values: PolicySettingValues;
      publishedAt: string;
      publishedBy: string;
    }
  | { kind: 'absent' }
  /** `problem` names the field and says what is wrong with it. */
  | { kind: 'invalid'; problem: string };

/** Longer durations are refused (dates that far out are beyond what any phase needs). */
const MAX_SETTING_DURATION = Duration.fromObject({ days: 36_500 });

/** A DNS-1123 label: what a namespace name is. */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Reads the annotation's value (whoever wrote it: only the operator and cluster admins can, but a
 * reader trusts nothing). Never throws: anything but a well-formed value of this version is
 * `invalid`, with the field named.
 */
export function readPolicySettings(annotation: unknown): PolicySettingsRead {
  if (annotation === undefined) return { kind: 'absent' };
  if (typeof annotation !== 'string') return { kind: 'invalid', problem: 'is not a string' };
  const bytes = Buffer.byteLength(annotation, 'utf8');
  if (bytes > MAX_POLICY_SETTINGS_BYTES)
    return { kind: 'invalid', problem: `is ${bytes} bytes, over the ${MAX_POLICY_SETTINGS_BYTES} read` };
  let value: unknown;
  try {
    value = JSON.parse(annotation);
  } catch (err) {
    // The parser's message quotes the input: escaped, so a forged value cannot write to a terminal.
    return { kind: 'invalid', problem: `is not JSON: ${short((err as Error).message)}` };
  }
  if (!isRecord(value)) return { kind: 'invalid', problem: 'is not a JSON object' };
  if (value.version !== POLICY_SETTINGS_VERSION) {
    const version = short(value.version ?? null);
    return {
      kind: 'invalid',
      problem: `version: ${version} is not the version this CLI reads (${POLICY_SETTINGS_VERSION}); upgrade kubectl-hostns`,
    };
  }
  try {
    const { settings, publishedAt, publishedBy } = value;
    if (!isRecord(settings)) throw new Error('settings: missing, or not an object');
    const exempt = settings.exemptNamespaces;
    if (!Array.isArray(exempt)) throw new Error('settings.exemptNamespaces: missing, or not a list');
    for (const [i, ns] of exempt.entries()) {
      if (typeof ns !== 'string' || !NAMESPACE_NAME.test(ns))
        throw new Error(`settings.exemptNamespaces[${i}]: ${short(ns)} is not a namespace name`);
    }
    const duration = (field: 'expiringSoon' | 'maxLifetime' | 'reviewInterval') => {
      const text = settings[field];
      let d: Duration | undefined;
      try {
        d = typeof text === 'string' ? parseDuration(text, field) : undefined;
      } catch {
        d = undefined;
      }
      if (!d || d.toMillis() > MAX_SETTING_DURATION.toMillis())
        throw new Error(
          `settings.${field}: ${short(text)} is not a positive duration of at most 36500d (e.g. 7d, 36h)`,
        );
      return d;
    };
    const policy: PolicyConfig = {
      exemptNamespaces: new Set(exempt as string[]),
      expiringSoonWindow: duration('expiringSoon'),
      maxLifetime: duration('maxLifetime'),
      reviewInterval: duration('reviewInterval'),
    };
    if (typeof publishedAt !== 'string' || !isApiDateTime(publishedAt))
      throw new Error(`publishedAt: ${short(publishedAt)} is not an RFC 3339 date-time`);
    if (typeof publishedBy !== 'string' || publishedBy.length > 253 || textProblem(publishedBy))
      throw new Error(`publishedBy: ${short(publishedBy)} is not a single-line name of at most 253 characters`);
    return { kind: 'published', policy, values: policySettingValues(policy), publishedAt, publishedBy };
  } catch (err) {
    return { kind: 'invalid', problem: (err as Error).message };
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value quoted for a message, cut so a huge or multi-line one stays one short line. */
function short(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
