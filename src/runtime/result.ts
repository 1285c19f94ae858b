// What a reconciler returns (controller-runtime's Result, kube-rs's Action) and the one error
// that must not be retried.

export interface ReconcileResult<W> {
  /** The writes that bring the cluster to the desired state, in the order they must happen. */
  writes: W[];
  /** Reconcile this key again after this many milliseconds (a time-driven change is due then). */
  requeueAfter?: number;
}

/**
 * An error retrying cannot fix (the API refuses the body as invalid): logged, not retried. The
 * key runs again when something it reads changes.
 */
export class TerminalError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TerminalError';
  }
}
