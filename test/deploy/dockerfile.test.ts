// The Dockerfile, checked without a container engine: stages, pinned base, user, entrypoint, and
// that the entrypoint is the file `npm run build` produces and runs on production dependencies only.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execForm, parseStages, type Instruction, type Stage } from './dockerfile.ts';

const root = join(import.meta.dirname, '..', '..');
const read = (f: string) => readFileSync(join(root, f), 'utf8');
const packageJson = JSON.parse(read('package.json')) as {
  engines: { node: string };
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const stages = parseStages(read('Dockerfile'));
const build = stages[0]!;
const runtime = stages.at(-1)!;

const all = (stage: Stage, keyword: string): Instruction[] => stage.instructions.filter((i) => i.keyword === keyword);
const last = (stage: Stage, keyword: string): Instruction | undefined => all(stage, keyword).at(-1);
const runs = (stage: Stage): string[] => all(stage, 'RUN').map((i) => i.args);

describe('Dockerfile stages and base image', () => {
  it('has a build stage and a runtime stage', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(build.name).toBe('build');
    expect(runtime.name).toBe('runtime');
  });

  it('pins the official Node image to the exact Node 24 LTS version the tests run on', () => {
    for (const stage of stages) {
      const m = /^node:(\d+)\.(\d+)\.(\d+)-[a-z]+(?:-slim)?(?:@sha256:[0-9a-f]{64})?$/.exec(stage.from);
      expect(m, `FROM ${stage.from} is not node:<major.minor.patch>-<variant>`).not.toBeNull();
      expect(m![1]).toBe('24');
      expect(`${m![1]}.${m![2]}.${m![3]}`).toBe(packageJson.devDependencies.node);
    }
    // and that version satisfies package.json engines (">=24.11.0 <25")
    const [major, minor] = packageJson.devDependencies.node!.split('.').map(Number);
    expect(packageJson.engines.node).toBe('>=24.11.0 <25');
    expect(major === 24 && minor! >= 11).toBe(true);
  });
});

describe('build stage', () => {
  it('installs all dependencies without install scripts and compiles with tsconfig.build.json', () => {
    const r = runs(build);
    expect(r.some((c) => /^npm ci\b/.test(c) && !c.includes('--omit=dev') && c.includes('--ignore-scripts'))).toBe(
      true,
    );
    expect(r.some((c) => /tsc -p tsconfig\.build\.json$/.test(c))).toBe(true);
  });
});

describe('runtime stage', () => {
  it('runs in production mode on production dependencies only, without TypeScript sources', () => {
    expect(all(runtime, 'ENV').map((i) => i.args)).toContain('NODE_ENV=production');
    const r = runs(runtime);
    expect(r.some((c) => /^npm ci\b/.test(c) && c.includes('--omit=dev'))).toBe(true);
    expect(r.join('\n')).not.toMatch(/tsc|typescript/);
    const copies = all(runtime, 'COPY').map((i) => i.args);
    expect(copies).toContain('--from=build /app/dist ./dist');
    expect(copies.some((c) => /\bsrc\b/.test(c))).toBe(false);
  });

  it('runs as a numeric non-root user', () => {
    const user = last(runtime, 'USER');
    expect(user, 'the runtime stage sets no USER').toBeDefined();
    const m = /^(\d+)(?::(\d+))?$/.exec(user!.args);
    expect(m, `USER ${user!.args} is not numeric (runAsNonRoot can only verify a number)`).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    if (m![2] !== undefined) expect(Number(m![2])).toBeGreaterThan(0);
    // nothing after USER switches back or needs root
    const afterUser = runtime.instructions.slice(runtime.instructions.indexOf(user!) + 1);
    expect(afterUser.map((i) => i.keyword).filter((k) => k === 'RUN' || k === 'USER')).toEqual([]);
  });

  it('starts node on the compiled entry point directly (no npm, no shell: nothing written at start)', () => {
    const entrypoint = last(runtime, 'ENTRYPOINT');
    expect(entrypoint).toBeDefined();
    expect(execForm(entrypoint!)).toEqual(['node', 'dist/main.js']);
    expect(last(runtime, 'WORKDIR')?.args).toBe('/app');
    expect(last(runtime, 'CMD')).toBeUndefined();
  });
});

/**
 * The image's user and read-only root without a container engine: a private mount namespace
 * (`unshare -m`) in which every mount but /proc, /sys and /dev is remounted read-only (bind
 * remounts change only this namespace's view), then `setpriv` to uid/gid 1000 with no
 * supplementary groups. Needs root and util-linux; elsewhere the test is skipped (the plain start
 * above still runs).
 */
const ISOLATE = `set -e
findmnt -rn -o TARGET,OPTIONS | while read -r target options; do
  case "$target" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  case ",$options," in *,rw,*) mount -o remount,bind,ro "$target" ;; esac
done
if touch "$OUT/.write-probe" 2>/dev/null; then echo "the root is still writable" >&2; exit 90; fi
exec setpriv --reuid "$IMAGE_UID" --regid "$IMAGE_GID" --clear-groups -- "$NODE" "$OUT/main.js" "$@"`;

function canIsolate(): boolean {
  if (process.getuid?.() !== 0) return false;
  const check = 'command -v setpriv && command -v findmnt && unshare -m --propagation private true';
  return spawnSync('sh', ['-c', check], { encoding: 'utf8' }).status === 0;
}

describe('the entry point is what `npm run build` produces', () => {
  let out = '';
  beforeAll(() => {
    // inside the repo, so that the compiled code resolves its packages from node_modules as in the image
    mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
    out = mkdtempSync(join(root, 'node_modules/.cache/hostns-build-'));
  });
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('maps src/main.ts to dist/main.js through tsconfig.build.json', () => {
    const cfg = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(existsSync(join(root, 'src/main.ts')), 'src/main.ts is missing').toBe(true);
    const entry = posix.join(
      cfg.compilerOptions.outDir,
      posix.relative(cfg.compilerOptions.rootDir, 'src/main.ts').replace(/\.ts$/, '.js'),
    );
    expect(entry).toBe('dist/main.js');
    expect(packageJson).toHaveProperty('scripts.build', 'tsc -p tsconfig.build.json');
  });

  it(
    'compiles, and the compiled code imports only Node built-ins and production dependencies',
    { timeout: 120_000 },
    () => {
      const tsc = spawnSync(
        process.execPath,
        [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
        {
          cwd: root,
          encoding: 'utf8',
        },
      );
      expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
      expect(existsSync(join(out, 'main.js'))).toBe(true);

      const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
      const production = new Set(Object.keys(packageJson.dependencies));
      const offending: string[] = [];
      for (const file of readdirSync(out, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'))) {
        const code = readFileSync(join(out, file), 'utf8');
        for (const m of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
          const spec = m[1]!;
          if (spec.startsWith('.') || builtins.has(spec)) continue;
          const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!production.has(pkg)) offending.push(`${relative(out, join(out, file))}: ${spec}`);
        }
      }
      expect(offending, 'imports that `npm ci --omit=dev` would not install').toEqual([]);

      // and the entry point starts: `node dist/main.js --help`, as the image's ENTRYPOINT runs it
      const help = spawnSync(process.execPath, [join(out, 'main.js'), '--help'], {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, NODE_ENV: 'production' },
        timeout: 60_000,
      });
      expect(help.status, help.stderr).toBe(0);
      expect(help.stdout).toContain('Usage: hostns-operator');
      expect(help.stdout).toContain('--leader-elect');
    },
  );

  const user = /^(\d+):(\d+)$/.exec(last(runtime, 'USER')!.args)!;
  const title = `starts as the image's user (uid ${user[1]}) on a read-only root; one line on an unreachable API`;
  it.skipIf(!canIsolate())(title, { timeout: 120_000 }, () => {
    expect(existsSync(join(out, 'main.js')), 'compiled by the test above').toBe(true);
    chmodSync(out, 0o755); // the image user reads it, as it reads /app
    // no cluster in a unit test: an API that refuses connections, as a cluster down at start
    writeFileSync(
      join(out, 'kubeconfig'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'down', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: 'unused' } }],
        contexts: [{ name: 'down', context: { cluster: 'down', user: 'u' } }],
        'current-context': 'down',
      }),
      { mode: 0o644 },
    );
    // who the process is, and whether it can write next to its code
    writeFileSync(
      join(out, 'whoami.cjs'),
      `const fs = require('node:fs');
let write = 'written';
try { fs.writeFileSync(${JSON.stringify(join(out, 'probe'))}, 'x'); } catch (err) { write = err.code; }
const groups = /^Groups:(.*)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1].trim();
console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), groups, write }));`,
      { mode: 0o644 },
    );
    const env = { PATH: process.env.PATH, OUT: out, NODE: process.execPath, IMAGE_UID: user[1], IMAGE_GID: user[2] };
    const isolated = ['-m', '--propagation', 'private', 'sh', '-c'];
    const whoami = spawnSync('unshare', [...isolated, ISOLATE.replace('"$OUT/main.js"', '"$OUT/whoami.cjs"')], {
      cwd: root,
      encoding: 'utf8',
      env,
    });
    expect(whoami.status, whoami.stderr).toBe(0);
    const image = { uid: Number(user[1]), gid: Number(user[2]) };
    expect(JSON.parse(whoami.stdout)).toEqual({ ...image, groups: '', write: 'EROFS' });

    const args = ['start', '--kubeconfig', join(out, 'kubeconfig'), '--http-port', '0'];
    const start = spawnSync('unshare', [...isolated, ISOLATE, ...args], {
      cwd: root,
      encoding: 'utf8',
      // the image's environment: production, and no HOME it could write to
      env: { ...env, NODE_ENV: 'production', HOME: '/nonexistent' },
      timeout: 90_000,
    });
    const logs = start.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: string; message: string });
    expect(logs[0]).toMatchObject({ level: 'info', message: 'starting' });
    const down = 'cannot reach the Kubernetes API at https://127.0.0.1:1: fetch failed';
    expect(logs.at(-1)).toMatchObject({ level: 'error', message: down });
    expect(start.stderr).toBe(`hostns-operator: ${down}\n`);
    expect(start.stderr + start.stdout).not.toMatch(/EROFS|EACCES|read-only file system|permission denied/i);
    expect(start.status).toBe(1);
  });
});

describe('.dockerignore', () => {
  // Docker's rule: the last matching pattern wins; `!` re-includes. Enough of its glob for our patterns.
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const toRegExp = (glob: string) =>
    new RegExp(
      `^${glob
        .replace(/\/$/, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '(?:.*/)?')
        .replace(/\*/g, '[^/]*')}(?:/.*)?$`,
    );
  const ignored = (path: string) => {
    let result = false;
    for (const p of patterns) {
      const negated = p.startsWith('!');
      if (toRegExp(negated ? p.slice(1) : p).test(path)) result = !negated;
    }
    return result;
  };

  it('keeps local state out of the build context', () => {
    for (const path of [
      'node_modules',
      'node_modules/typescript/package.json',
      'dist/main.js',
      '.git/HEAD',
      'test/deploy/dockerfile.test.ts',
      'bench/run.ts',
      'config/default/kustomization.yaml',
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });

  it('sends every file the Dockerfile copies from the context', () => {
    const sources = all(build, 'COPY')
      .concat(all(runtime, 'COPY'))
      .filter((i) => !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(0);
    for (const src of sources) expect(ignored(src), src).toBe(false);
    expect(ignored('src/main.ts')).toBe(false);
    expect(ignored('src/policy/selector.ts')).toBe(false);
  });
});
