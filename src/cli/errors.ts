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

/**
 * An error message as the one line the docs promise: a multi-line cause (a YAML parser's excerpt
 * of a broken kubeconfig) is cut to its first line, which names the problem.
 */
export function oneLine(message: string): string {
  const lines = message
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^\^+$/.test(l));
  return lines.length <= 1 ? (lines[0] ?? '') : lines[0]!.replace(/:$/, '');
}
