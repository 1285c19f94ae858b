// Helpers for the API integration tests: create exceptions and read the API server's verdict.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { EXCEPTION_PLURAL, GROUP, VERSION } from '../../src/api/v1alpha1.ts';
import { customObjects, kubectl } from '../harness/clients.ts';
import type { Json } from './exception-corpus.ts';

export interface Verdict {
  /** HTTP status: 201 when created. */
  code: number;
  /** The API server's message when refused ('' when created). */
  message: string;
  object?: Json;
}

/** Creates an exception as kubectl does (unknown fields refused: fieldValidation=Strict). Never throws on a refusal. */
export async function createException(
  namespace: string,
  body: Json,
  fieldValidation = 'Strict',
  dryRun?: 'All',
): Promise<Verdict> {
  try {
    const object = (await customObjects().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: EXCEPTION_PLURAL,
      body,
      fieldValidation,
      dryRun,
    })) as Json;
    return { code: 201, message: '', object };
  } catch (err) {
    if (err instanceof ApiException) {
      let message = String(err.body);
      try {
        message = JSON.parse(String(err.body)).message ?? message;
      } catch {
        // not JSON: keep the raw body
      }
      return { code: err.code, message };
    }
    throw err;
  }
}

export async function readExceptionObject(namespace: string, name: string): Promise<Json> {
  return (await customObjects().getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: EXCEPTION_PLURAL,
    name,
  })) as Json;
}

/** `kubectl patch hnse` with a JSON merge patch (subresource 'status' for the status). */
export function patchException(namespace: string, name: string, patch: Json, subresource?: 'status') {
  const args = ['patch', 'hostnamespaceexception', name, '-n', namespace, '--type=merge', '-p', JSON.stringify(patch)];
  if (subresource) args.push(`--subresource=${subresource}`);
  return kubectl(args);
}

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * A copy of config/samples whose expiry is `expiresAt`, set the way docs/api.md tells users to
 * (the `expiresAt:` line of expiry.yaml).
 */
export function samplesWithExpiry(expiresAt: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'hostns-samples-'));
  cpSync('config/samples', dir, { recursive: true });
  const file = join(dir, 'expiry.yaml');
  const before = readFileSync(file, 'utf8');
  const after = before.replace(/^ {2}expiresAt: .*$/m, `  expiresAt: "${expiresAt}"`);
  if (after === before) throw new Error('config/samples/expiry.yaml has no "  expiresAt:" line');
  writeFileSync(file, after);
  return dir;
}
