// Host namespaces beyond Kubernetes manifests (issue 19): Compose files, and container-engine
// command lines in Dockerfiles, shell scripts, Makefiles and CI workflows. Vulnerable and secure
// fixtures per kind (test/cli/fixtures/outside/), and several variants per class.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run, type Io } from '../../src/cli/kubectl-hostns.ts';
import { formatOf } from '../../src/cli/inputs.ts';
import { commandFileKind, scanCommands, scanCompose } from '../../src/report/scan-commands.ts';

const fixtures = join(import.meta.dirname, 'fixtures', 'outside');

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const io: Io = {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: () => undefined },
    readStdin: () => '',
    env: {},
  };
  return { code: await run(args, io), out };
}

describe('file kinds, by name', () => {
  it('recognises each documented kind and leaves other files alone', () => {
    const cases: [string, string | undefined][] = [
      ['Dockerfile', 'dockerfile'],
      ['build/Containerfile', 'dockerfile'],
      ['Dockerfile.dev', 'dockerfile'],
      ['web.dockerfile', 'dockerfile'],
      ['scripts/e2e.sh', 'shell'],
      ['tools/x.bash', 'shell'],
      ['Makefile', 'makefile'],
      ['GNUmakefile', 'makefile'],
      ['rules.mk', 'makefile'],
      ['.github/workflows/ci.yml', 'ci'],
      ['repo/.github/workflows/release.yaml', 'ci'],
      ['.gitlab-ci.yml', 'ci'],
      ['.circleci/config.yml', 'ci'],
      ['compose.yaml', 'compose'],
      ['docker-compose.yml', 'compose'],
      ['docker-compose.prod.yml', 'compose'],
      ['deploy/app.yaml', 'manifest'],
      ['list.json', 'manifest'],
      ['README.md', undefined],
      ['main.go', undefined],
    ];
    for (const [path, kind] of cases) expect(formatOf(path), path).toBe(kind);
    expect(commandFileKind('.github/actions/x.yml')).toBeUndefined();
  });
});

describe('fixtures: vulnerable fail with file:line:col, secure pass', () => {
  it('every vulnerable file of every kind fails, at the option', async () => {
    const r = await cli(['scan', join(fixtures, 'vulnerable'), '-o', 'json']);
    expect(r.code).toBe(1);
    const json = JSON.parse(r.out) as {
      findings: { file: string; line: number; column: number; flag: string; kind: string }[];
    };
    const got = json.findings.map((f) => `${f.file.slice(fixtures.length + 12)}:${f.line}:${f.column}:${f.flag}`);
    expect(got).toEqual([
      '.github/workflows/ci.yml:9:28:hostNetwork',
      '.github/workflows/ci.yml:14:13:hostIPC',
      '.gitlab-ci.yml:4:23:hostNetwork',
      'compose.yaml:4:5:hostNetwork',
      'compose.yaml:5:5:hostPID',
      'compose.yaml:8:5:hostNetwork',
      'Dockerfile:5:7:hostNetwork',
      'Dockerfile:6:5:hostPID',
      'Makefile:3:23:hostPID',
      'run-e2e.sh:4:23:hostNetwork',
      'run-e2e.sh:5:41:hostIPC',
    ]);
  });

  it('every secure file passes: comments, echo, step names, options after the image, other modes', async () => {
    const r = await cli(['scan', join(fixtures, 'secure')]);
    expect(r.out).not.toContain(': error:');
    expect(r.code).toBe(0);
  });

  it('SARIF and text carry them like any finding', async () => {
    const text = await cli(['scan', join(fixtures, 'vulnerable', 'Makefile')]);
    expect(text.out).toMatch(
      /Makefile:3:23: error: docker run shares the host process ID namespace \(docker run --pid=host\)/,
    );
    const sarif = JSON.parse((await cli(['scan', join(fixtures, 'vulnerable', 'compose.yaml'), '-o', 'sarif'])).out);
    expect(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId)).toEqual([
      'HOSTNS001',
      'HOSTNS002',
      'HOSTNS001',
    ]);
  });
});

describe('command lines', () => {
  const flagged = (text: string, kind: 'shell' | 'dockerfile' | 'makefile' | 'ci' = 'shell') =>
    scanCommands(text, kind).findings.map((f) => f.what);

  it('every spelling of the three options, for the three engines and run/create/container run', () => {
    expect(flagged('docker run --network=host x')).toEqual(['docker run --network=host']);
    expect(flagged('docker run --network host x')).toEqual(['docker run --network host']);
    expect(flagged('podman create --net=host x')).toEqual(['podman create --net=host']);
    expect(flagged('nerdctl container run --pid host x')).toEqual(['nerdctl run --pid host']);
    expect(flagged('/usr/bin/docker run --ipc=host x')).toEqual(['docker run --ipc=host']);
    expect(flagged('docker run --pid=host --ipc=host --net=host x')).toHaveLength(3);
    expect(flagged('x && docker run --net=host a; podman run --pid=host b | cat')).toEqual([
      'docker run --net=host',
      'podman run --pid=host',
    ]);
    expect(flagged('docker run \\\n  -v /a:/b \\\n  --net=host x')).toEqual(['docker run --net=host']);
  });

  it('no finding for comments, echo/printf text, quoted words, other subcommands, values after the image', () => {
    for (const text of [
      '# docker run --net=host x',
      'echo docker run --net=host x',
      'echo "docker run --net=host x"',
      "printf 'docker run --pid=host'",
      'docker ps --filter network=host',
      'docker network inspect host',
      'docker run x --net=host',
      'docker run --network bridge x',
      'docker run -e NET=--net=host x',
      'docker run --name host x',
      '"docker" run --net=host x',
      'dockerd --net=host',
    ]) {
      expect(flagged(text), text).toEqual([]);
    }
  });

  it('Dockerfile: RUN only (shell and exec form, with --mount options), not other instructions', () => {
    expect(flagged('RUN docker run --net=host x', 'dockerfile')).toHaveLength(1);
    expect(flagged('RUN --mount=type=cache,target=/c docker run --net=host x', 'dockerfile')).toHaveLength(1);
    expect(flagged('RUN ["docker","run","--pid=host","x"]', 'dockerfile')).toHaveLength(1);
    expect(
      flagged(
        'CMD docker run --net=host x\nENTRYPOINT ["docker","run","--net=host"]\nLABEL a="docker run --net=host"',
        'dockerfile',
      ),
    ).toEqual([]);
  });

  it('Makefile: recipe lines only (after a tab, @ - + prefixes allowed)', () => {
    expect(flagged('t:\n\t-@docker run --net=host x\n', 'makefile')).toHaveLength(1);
    expect(flagged('X = docker run --net=host\n# \tdocker run --net=host\n', 'makefile')).toEqual([]);
  });

  it('CI files: run/script values and script lists, never names or other keys', () => {
    expect(flagged('steps:\n  - run: docker run --net=host x\n', 'ci')).toHaveLength(1);
    expect(flagged('steps:\n  - run: |\n      set -e\n      docker run --pid=host x\n', 'ci')).toHaveLength(1);
    expect(flagged('job:\n  script: ["docker run --ipc=host x"]\n', 'ci')).toHaveLength(1);
    expect(flagged('steps:\n  - name: docker run --net=host\n    env: {X: docker run --net=host}\n', 'ci')).toEqual([]);
    expect(scanCommands('steps: [\n', 'ci').errors).toHaveLength(1);
  });
});

describe('Compose', () => {
  it('host modes, and sharing with a service that uses the host, at the key', () => {
    const r = scanCompose(
      'services:\n  a: {network_mode: host}\n  b: {network_mode: "service:a"}\n  c: {network_mode: "service:b"}\n  d: {ipc: host, pid: "host"}\n',
    );
    expect(r.findings.map((f) => `${f.subject}:${f.flag}:${f.line}`)).toEqual([
      'Compose service a:hostNetwork:2',
      'Compose service b:hostNetwork:3',
      'Compose service c:hostNetwork:4',
      'Compose service d:hostPID:5',
      'Compose service d:hostIPC:5',
    ]);
  });

  it('no finding for bridge, none, sharing with a non-host service, container: sharing, cycles', () => {
    const r = scanCompose(
      'services:\n  a: {network_mode: bridge}\n  b: {network_mode: "service:a"}\n  c: {network_mode: none, pid: "container:x"}\n  d: {network_mode: "service:e"}\n  e: {network_mode: "service:d"}\n',
    );
    expect(r).toEqual({ findings: [], errors: [] });
  });
});
