// The CLI run in-process against local HTTP servers, for fast tests of its cluster access.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { run, type Io } from '../../src/cli/kubectl-hostns.ts';

/** `kubectl hostns ARGS` in this process: exit code and what it printed. */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    readStdin: () => '',
    env: {},
  };
  const code = await run(args, io);
  return { code, out, err };
}

/** Starts a server on a free loopback port, remembered in `servers` for closing; its port. */
export async function serve(
  servers: Server[],
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<number> {
  const s = createServer(handler);
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return (s.address() as { port: number }).port;
}
