// The one reading of a failed Kubernetes request, for the operator's and the CLI's messages:
// what went wrong, in terms a user can act on.
import { ApiError } from './client.ts';

export type KubeFailure =
  /** No connection (refused, DNS, TLS): `detail` is the system error code when there is one. */
  | { kind: 'unreachable'; detail: string }
  /** No answer within the request's deadline. */
  | { kind: 'timeout' }
  /** 404 for the resource itself: the API server does not serve it (a CRD not installed). */
  | { kind: 'resource-unknown' }
  /** 404 for a named object. */
  | { kind: 'not-found'; message: string }
  | { kind: 'unauthorized' }
  | { kind: 'forbidden'; message: string }
  /** 400/422: the API server refuses the request body. */
  | { kind: 'invalid'; message: string }
  | { kind: 'status'; code: number; message: string };

interface StatusBody {
  kind?: string;
  message?: string;
  details?: { name?: string };
}

export function kubeFailure(err: unknown): KubeFailure {
  if (err instanceof ApiError) {
    const body: StatusBody = err.body && typeof err.body === 'object' ? err.body : {};
    const message = body.message ?? (typeof err.body === 'string' ? err.body.trim() : err.message);
    switch (err.status) {
      case 404:
        // A Status naming an object: that object is missing; otherwise the resource is unknown.
        return body.kind === 'Status' && body.details?.name
          ? { kind: 'not-found', message }
          : { kind: 'resource-unknown' };
      case 401:
        return { kind: 'unauthorized' };
      case 403:
        return { kind: 'forbidden', message: body.message ?? 'RBAC refused the request' };
      case 400:
      case 422:
        return { kind: 'invalid', message };
      default:
        return { kind: 'status', code: err.status, message: body.message ?? 'no message' };
    }
  }
  const e = err as {
    name?: string;
    code?: string;
    cause?: { code?: string; message?: string; name?: string };
    message?: string;
  };
  if (e?.name === 'TimeoutError' || e?.cause?.name === 'TimeoutError') return { kind: 'timeout' };
  const code = e?.cause?.code ?? e?.code;
  return { kind: 'unreachable', detail: code ?? e?.cause?.message ?? e?.message ?? String(err) };
}
