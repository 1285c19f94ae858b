// What to do about a failed API request: a pure classification, so the runtime neither retries for
// ever what no retry can fix (an object over a size limit, a forbidden write) nor gives up on
// what a retry will fix (a conflict, throttling, an API server restarting).
import { ApiError } from './client.ts';

export type ApiErrorClass =
  /**
   * 409 Conflict, or 422 on a uid precondition (the object was replaced): our cached copy is
   * stale; retry from the newer cache (with backoff).
   */
  | 'conflict'
  /** 409 AlreadyExists on a create: the object exists; for a deterministic name that is success. */
  | 'exists'
  /** 404: the object (or its namespace) is gone; nothing to do, the watch will say so. */
  | 'gone'
  /** 429, 5xx, 401 (a rotating token), 410 on a watch, timeouts and network errors: retry later. */
  | 'retryable'
  /** A 4xx that the same request will get again (400, 403, 405, 413, 415, 422, ...): record, count, stop. */
  | 'terminal';

export interface ApiErrorVerdict {
  class: ApiErrorClass;
  /** HTTP status, 0 for a network error or a timeout. */
  status: number;
  /** A short label for logs and metric labels: the API's reason, or the error's name. */
  reason: string;
  /** The server's hint (Status.details.retryAfterSeconds), when it sent one. */
  retryAfterSeconds?: number;
}

function retryAfter(body: unknown): number | undefined {
  const s = (body as { details?: { retryAfterSeconds?: unknown } } | undefined)?.details?.retryAfterSeconds;
  return typeof s === 'number' && s > 0 ? s : undefined;
}

function causeFields(body: unknown): string[] {
  const causes = (body as { details?: { causes?: unknown } } | undefined)?.details?.causes;
  return Array.isArray(causes)
    ? causes.map((c) => (c as { field?: unknown })?.field).filter((f) => typeof f === 'string')
    : [];
}

export function classifyApiError(err: unknown): ApiErrorVerdict {
  if (!(err instanceof ApiError)) {
    // fetch failures (TypeError 'fetch failed'), aborts and timeouts, DNS, TLS: the network.
    const name = err instanceof Error ? err.name : 'Error';
    return { class: 'retryable', status: 0, reason: name === 'Error' ? 'NetworkError' : name };
  }
  const { status } = err;
  const reason = err.reason || `HTTP${status}`;
  const hint = retryAfter(err.body);
  const verdict = (c: ApiErrorClass): ApiErrorVerdict => ({
    class: c,
    status,
    reason,
    ...(hint ? { retryAfterSeconds: hint } : {}),
  });
  if (status === 409) return verdict(err.reason === 'AlreadyExists' ? 'exists' : 'conflict');
  // A uid in a merge patch is a precondition; the API answers a replaced object (same name, new
  // uid) with 422 "metadata.uid: field is immutable". That is a stale cache, not a bad request.
  if (status === 422 && causeFields(err.body).includes('metadata.uid')) return verdict('conflict');
  if (status === 404) return verdict('gone');
  // 401: a token that expired or rotated; the client re-reads credentials within 30 s.
  // 408/410/429 and every 5xx: the server asks us to come back.
  if (status === 401 || status === 408 || status === 410 || status === 429 || status >= 500)
    return verdict('retryable');
  if (status >= 400) return verdict('terminal');
  return verdict('retryable');
}

/** True for the errors worth another attempt (conflicts included). */
export function isRetryable(err: unknown): boolean {
  const c = classifyApiError(err).class;
  return c === 'retryable' || c === 'conflict';
}
