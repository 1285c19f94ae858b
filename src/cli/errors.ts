// Exit statuses of kubectl-hostns (documented in docs/cli.md) and the error that carries one.

export const EXIT = Object.freeze({
  /** Nothing to report (or findings without --fail-on-findings). */
  ok: 0,
  /** Findings: uncovered host-namespace use (scan), findings with --fail-on-findings (review, audit). */
  findings: 1,
  /** Bad usage or input: unknown flag, bad value, unreadable file, YAML syntax error (scan incomplete). */
  usage: 2,
  /** The cluster cannot answer: unreachable, credentials refused, forbidden, CRD not installed. */
  cluster: 3,
  /** A bug in kubectl-hostns (the message carries a stack trace to report). */
  internal: 4,
});

/** An error the CLI prints as one line (`error: ...`) before exiting with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}
