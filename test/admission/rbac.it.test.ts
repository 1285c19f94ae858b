// The path to an exception is guarded: config/rbac/exception-roles.yaml on the real API server,
// with kube-controller-manager's clusterrole-aggregation controller, asked through impersonation
// (`kubectl auth can-i --as`) as a user would.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNamespace, eventually, kubectl } from '../harness/clients.ts';

const ROLES_FILE = 'config/rbac/exception-roles.yaml';
const RESOURCE = 'hostnamespaceexceptions.hostns.io';
const WRITE_VERBS = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const READ_VERBS = ['get', 'list', 'watch'];
const suffix = randomBytes(3).toString('hex');
const platformBinding = `hostns-test-platform-${suffix}`;

let namespace: string;
let rolesExisted = false;

function canI(user: string, verb: string, extra: string[] = [], resource = RESOURCE): string {
  const r = kubectl([
    'auth',
    'can-i',
    verb,
    resource,
    '-n',
    namespace,
    '--as',
    user,
    '--as-group',
    'system:authenticated',
    ...extra,
  ]);
  // can-i exits 1 for "no"; anything else on stderr than the discovery warning is a failure.
  const answer = r.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i ${verb}: ${r.stderr}`);
  return answer;
}

beforeAll(async () => {
  rolesExisted = kubectl(['get', 'clusterrole', 'hostns-exception-admin', 'hostns-exception-viewer']).code === 0;
  const applied = kubectl(['apply', '-f', ROLES_FILE]);
  expect(applied.code, applied.stderr).toBe(0);
  namespace = await createNamespace('rbac');
  for (const role of ['view', 'edit', 'admin']) {
    const r = kubectl([
      'create',
      'rolebinding',
      `team-${role}`,
      '-n',
      namespace,
      `--clusterrole=${role}`,
      `--user=${role}-user`,
    ]);
    expect(r.code, r.stderr).toBe(0);
  }
  const r = kubectl([
    'create',
    'clusterrolebinding',
    platformBinding,
    '--clusterrole=hostns-exception-admin',
    `--group=platform-${suffix}`,
  ]);
  expect(r.code, r.stderr).toBe(0);
  // Aggregation into view (and through it edit and admin) is done by a controller: wait for it.
  await eventually(
    () => (['view', 'edit', 'admin'].every((role) => canI(`${role}-user`, 'list') === 'yes') ? true : undefined),
    60_000,
    'aggregation of hostns-exception-viewer',
  );
});

afterAll(() => {
  kubectl(['delete', 'clusterrolebinding', platformBinding, '--ignore-not-found']);
  if (!rolesExisted) kubectl(['delete', '-f', ROLES_FILE, '--ignore-not-found']);
});

describe('who may read and write HostNamespaceExceptions', () => {
  it.each(['view', 'edit', 'admin'])('the built-in %s role reads exceptions but cannot write them', (role) => {
    for (const verb of READ_VERBS) expect(canI(`${role}-user`, verb), `${role} ${verb}`).toBe('yes');
    for (const verb of WRITE_VERBS) expect(canI(`${role}-user`, verb), `${role} ${verb}`).toBe('no');
  });

  it('hostns-exception-admin writes exceptions, but not their status (the operator records it)', () => {
    const platform = ['--as-group', `platform-${suffix}`];
    for (const verb of [...READ_VERBS, ...WRITE_VERBS]) expect(canI('platform-user', verb, platform), verb).toBe('yes');
    for (const verb of ['update', 'patch'])
      expect(canI('platform-user', verb, [...platform, '--subresource=status']), `${verb} status`).toBe('no');
  });

  it('nothing that writes exceptions is aggregated into admin or edit', () => {
    const r = kubectl(['get', 'clusterrole', '-l', 'app.kubernetes.io/part-of=hostns-operator', '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const roles = (
      JSON.parse(r.stdout) as {
        items: { metadata: { name: string; labels?: Record<string, string> }; rules?: { verbs: string[] }[] }[];
      }
    ).items;
    for (const role of roles) {
      const labels = role.metadata.labels ?? {};
      const aggregated = ['admin', 'edit', 'view'].filter(
        (to) => labels[`rbac.authorization.k8s.io/aggregate-to-${to}`] === 'true',
      );
      if (aggregated.length === 0) continue;
      const verbs = (role.rules ?? []).flatMap((rule) => rule.verbs);
      expect(
        verbs.filter((v) => !READ_VERBS.includes(v)),
        `${role.metadata.name} aggregated to ${aggregated.join(', ')}`,
      ).toEqual([]);
    }
    expect(roles.map((r) => r.metadata.name)).toEqual(
      expect.arrayContaining(['hostns-exception-admin', 'hostns-exception-viewer']),
    );
  });

  it('an unbound user can do nothing with exceptions', () => {
    for (const verb of [...READ_VERBS, ...WRITE_VERBS]) expect(canI('stranger', verb), verb).toBe('no');
  });
});

describe('who may write the admission params (the grants objects and the grant index)', () => {
  // Only the operator: a namespace admin who could write their namespace's grants object would
  // grant themselves host namespaces; the platform team grants through exceptions.
  const users: [string, string[]][] = [
    ['view-user', []],
    ['edit-user', []],
    ['admin-user', []],
    ['platform-user', ['--as-group', `platform-${suffix}`]],
  ];
  it.each(users)('%s cannot write a grants object in its namespace, nor the index', (user, extra) => {
    for (const verb of WRITE_VERBS) {
      expect(canI(user, verb, extra, 'hostnamespacegrantsets.hostns.io'), `${user} ${verb} grants`).toBe('no');
      expect(canI(user, verb, extra, 'hostnamespacegrantindexes.hostns.io'), `${user} ${verb} index`).toBe('no');
    }
  });
});
