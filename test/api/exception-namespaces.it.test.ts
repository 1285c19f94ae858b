// The optional dedicated-namespaces setting (config/exception-namespaces) on the real API server:
// hostns-exception-namespaces refuses exceptions outside namespaces labelled
// hostns.io/exceptions=allowed, saying where they may go, with the operator's own words; the
// label guard lets only the platform groups set, change or remove that label. Installed here,
// removed in afterAll.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exceptionNamespaceProblem } from '../../src/policy/namespaces.ts';
import { exceptionBody } from '../harness/exceptions.ts';
import { createNamespace, eventually, kubectl } from '../harness/clients.ts';

const FILES = ['config/exception-namespaces/policy.yaml', 'config/exception-namespaces/label-guard.yaml'];
const SETTING = { key: 'hostns.io/exceptions', value: 'allowed' };
const ALLOWED = { 'hostns.io/exceptions': 'allowed' };
const USER = 'alice@example.com';

function apply(ns: string, name: string, dryRun = false) {
  const args = ['create', '-n', ns, '-f', '-', ...(dryRun ? ['--dry-run=server'] : [])];
  return kubectl(args, JSON.stringify(exceptionBody(name)));
}

function label(ns: string, value: string | null, as: string[] = []) {
  const arg = value === null ? 'hostns.io/exceptions-' : `hostns.io/exceptions=${value}`;
  return kubectl(['label', 'namespace', ns, arg, '--overwrite', ...as]);
}

let probe = '';
beforeAll(async () => {
  probe = await createNamespace('exns-probe');
  for (const f of FILES) expect(kubectl(['apply', '-f', f]).code).toBe(0);
  // Someone who may patch namespaces but is no platform admin (a namespace-admin tool, say).
  const role = kubectl([
    'create',
    'clusterrole',
    'it-exns-labeller',
    '--verb=get,patch,update',
    '--resource=namespaces',
  ]);
  expect(role.code, role.stderr).toBe(0);
  const bind = kubectl([
    'create',
    'clusterrolebinding',
    'it-exns-labeller',
    '--clusterrole=it-exns-labeller',
    `--user=${USER}`,
  ]);
  expect(bind.code, bind.stderr).toBe(0);
  await eventually(() => (apply(probe, 'probe', true).code !== 0 ? true : undefined), 60_000, 'the policy in force');
});

afterAll(async () => {
  for (const f of FILES) kubectl(['delete', '-f', f, '--ignore-not-found']);
  kubectl(['delete', 'clusterrolebinding,clusterrole', 'it-exns-labeller', '--ignore-not-found']);
  // Leave no policy in force for the next test file.
  if (probe)
    await eventually(() => (apply(probe, 'probe', true).code === 0 ? true : undefined), 60_000, 'the policy gone');
});

describe('hostns-exception-namespaces: exceptions only where the platform team said', () => {
  it('a namespace without the label: refused, saying where exceptions may go, as the operator says it', async () => {
    const ns = await createNamespace('exns-none');
    const r = apply(ns, 'agents');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('hostns-exception-namespaces');
    console.log(`[output] kubectl create -n ${ns} -f agents.yaml\n${r.stderr}`);
    expect(r.stderr).toContain(exceptionNamespaceProblem(SETTING, ns, undefined));
  });

  it.each([['true'], ['Allowed'], ['yes'], ['']])(
    'a wrong label value (%j): refused, naming the value',
    async (value) => {
      const ns = await createNamespace('exns-wrong', { 'hostns.io/exceptions': value });
      const r = apply(ns, 'agents');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(exceptionNamespaceProblem(SETTING, ns, value));
    },
  );

  it('a namespace labelled hostns.io/exceptions=allowed: admitted; another label key is not enough', async () => {
    const ns = await createNamespace('exns-ok', ALLOWED);
    const r = apply(ns, 'agents');
    expect(r.code, r.stderr).toBe(0);
    const other = await createNamespace('exns-key', { 'hostns.io/exception': 'allowed', exceptions: 'allowed' });
    expect(apply(other, 'agents').code).not.toBe(0);
  });

  it('the label removed after exceptions exist: their updates are refused, their deletion is not', async () => {
    const ns = await createNamespace('exns-removed', ALLOWED);
    expect(apply(ns, 'agents').code).toBe(0);
    expect(label(ns, null).code).toBe(0); // the platform team (this test's admin) removes it
    const patch = kubectl(['patch', 'hnse', 'agents', '-n', ns, '--type=merge', '-p', '{"spec":{"owner":"team-b"}}']);
    expect(patch.code).not.toBe(0);
    expect(patch.stderr).toContain(exceptionNamespaceProblem(SETTING, ns, undefined));
    expect(kubectl(['delete', 'hnse', 'agents', '-n', ns]).code).toBe(0);
  });
});

describe('hostns-exception-namespace-label: only the platform groups move the label', () => {
  const alice = ['--as', USER];
  const platform = ['--as', USER, '--as-group', 'hostns:platform-admins'];

  it('someone else may not set, change or remove it, whatever the value', async () => {
    const ns = await createNamespace('exns-guard');
    for (const value of ['allowed', 'true']) {
      const r = label(ns, value, alice);
      expect(r.code).not.toBe(0);
      console.log(`[output] kubectl label namespace ${ns} hostns.io/exceptions=${value} --as ${USER}\n${r.stderr}`);
      expect(r.stderr).toContain(
        `the label hostns.io/exceptions of namespace ${ns} says where HostNamespaceExceptions may exist: ` +
          'only members of system:masters, hostns:platform-admins may set, change or remove it',
      );
    }
    const labelled = await createNamespace('exns-guard-set', ALLOWED);
    expect(label(labelled, 'no', alice).code).not.toBe(0);
    expect(label(labelled, null, alice).code).not.toBe(0);
    // Other labels of the namespace are theirs to change.
    expect(kubectl(['label', 'namespace', labelled, 'team=a', ...alice]).code).toBe(0);
  });

  it('a member of a platform group may', async () => {
    const ns = await createNamespace('exns-platform');
    expect(label(ns, 'allowed', platform).code).toBe(0);
    expect(apply(ns, 'agents').code).toBe(0);
    expect(label(ns, null, platform).code).toBe(0);
  });
});
