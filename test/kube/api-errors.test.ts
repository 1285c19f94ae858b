// Which API failures a retry can fix, and which it cannot.
import { describe, expect, it } from 'vitest';
import { classifyApiError, isRetryable } from '../../src/kube/api-errors.ts';
import { ApiError } from '../../src/kube/client.ts';

const api = (status: number, reason = '', body: unknown = {}) => new ApiError(status, reason, `x: ${status}`, body);

describe('classifyApiError', () => {
  it('terminal: 4xx that the same request gets again', () => {
    for (const [status, reason] of [
      [422, 'Invalid'], // e.g. metadata.annotations: Too long: must have at most 262144 bytes
      [400, 'BadRequest'],
      [403, 'Forbidden'], // RBAC, or a namespace being terminated
      [405, 'MethodNotAllowed'],
      [413, 'RequestEntityTooLarge'],
      [415, 'UnsupportedMediaType'],
      [406, ''],
    ] as const) {
      const v = classifyApiError(api(status, reason));
      expect(v.class, `${status}`).toBe('terminal');
      expect(v.status).toBe(status);
      expect(isRetryable(api(status, reason))).toBe(false);
    }
  });
  it('retryable: throttling, server errors, an expired token, timeouts, the network', () => {
    for (const status of [401, 408, 410, 429, 500, 502, 503, 504]) {
      expect(classifyApiError(api(status)).class, `${status}`).toBe('retryable');
      expect(isRetryable(api(status))).toBe(true);
    }
    expect(classifyApiError(new TypeError('fetch failed'))).toEqual({
      class: 'retryable',
      status: 0,
      reason: 'TypeError',
    });
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(classifyApiError(timeout)).toMatchObject({ class: 'retryable', reason: 'TimeoutError' });
    expect(classifyApiError(new Error('socket hang up'))).toMatchObject({ class: 'retryable', reason: 'NetworkError' });
    expect(classifyApiError('a string')).toMatchObject({ class: 'retryable' });
  });
  it('409: a stale copy (retry from the newer cache) vs an existing object (done, for deterministic names)', () => {
    expect(classifyApiError(api(409, 'Conflict')).class).toBe('conflict');
    expect(isRetryable(api(409, 'Conflict'))).toBe(true);
    expect(classifyApiError(api(409, 'AlreadyExists')).class).toBe('exists');
    expect(isRetryable(api(409, 'AlreadyExists'))).toBe(false);
  });
  it('422 on the uid precondition of a merge patch (a replaced pod) is a conflict, other 422s are terminal', () => {
    const uid = { details: { causes: [{ reason: 'FieldValueInvalid', field: 'metadata.uid' }] } };
    expect(classifyApiError(api(422, 'Invalid', uid)).class).toBe('conflict');
    const annotations = { details: { causes: [{ reason: 'FieldValueTooLong', field: 'metadata.annotations' }] } };
    expect(classifyApiError(api(422, 'Invalid', annotations)).class).toBe('terminal');
    expect(classifyApiError(api(422, 'Invalid', { details: { causes: 'junk' } })).class).toBe('terminal');
  });
  it('404: gone, nothing to retry', () => {
    expect(classifyApiError(api(404, 'NotFound')).class).toBe('gone');
  });
  it("keeps the server's Retry-After hint and a reason usable as a metric label", () => {
    expect(classifyApiError(api(429, 'TooManyRequests', { details: { retryAfterSeconds: 3 } }))).toEqual({
      class: 'retryable',
      status: 429,
      reason: 'TooManyRequests',
      retryAfterSeconds: 3,
    });
    expect(classifyApiError(api(500, '', undefined)).reason).toBe('HTTP500');
    expect(
      classifyApiError(api(429, '', { details: { retryAfterSeconds: 'soon' } })).retryAfterSeconds,
    ).toBeUndefined();
  });
});
