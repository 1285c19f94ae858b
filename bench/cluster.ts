// The bench's control plane: the project's ControlPlane with an audit log of the bench's named
// users, one client certificate (and kubeconfig) per user, and the project's CRDs installed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCrds } from '../tools/controlplane/crds.ts';
import { ControlPlane } from '../tools/controlplane/controlplane.ts';
import { auditPolicyYaml, FLOOR_USER, OPERATOR_USER, STANDBY_USER } from './audit.ts';

export interface BenchCluster {
  cp: ControlPlane;
  admin: string;
  /** kubeconfig per bench user (system:masters, so RBAC does not enter the figures). */
  users: Record<string, string>;
  auditLogPath: string;
  apiserverArgs: string[];
}

function userKubeconfig(cp: ControlPlane, user: string): string {
  const dir = join(cp.dir, 'bench-users');
  mkdirSync(dir, { recursive: true });
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  writeFileSync(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    `${user}.key`,
    '-out',
    `${user}.csr`,
    '-subj',
    `/O=system:masters/CN=${user}`,
  ]);
  run([
    'x509',
    '-req',
    '-in',
    `${user}.csr`,
    '-CA',
    join(cp.dir, 'ca.crt'),
    '-CAkey',
    join(cp.dir, 'ca.key'),
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'client.ext',
    '-out',
    `${user}.crt`,
  ]);
  const admin = readFileSync(cp.kubeconfigPath, 'utf8');
  const b64 = (f: string) => readFileSync(join(dir, f)).toString('base64');
  const text = admin
    .replace(/client-certificate-data: .*/, `client-certificate-data: ${b64(`${user}.crt`)}`)
    .replace(/client-key-data: .*/, `client-key-data: ${b64(`${user}.key`)}`);
  const path = join(dir, `${user}.kubeconfig`);
  writeFileSync(path, text, { mode: 0o600 });
  return path;
}

export async function startBenchCluster(
  workDir: string,
  extraArgs: string[] = [],
  keepDir?: string,
): Promise<BenchCluster> {
  mkdirSync(workDir, { recursive: true });
  const policy = join(workDir, 'audit-policy.yaml');
  writeFileSync(policy, auditPolicyYaml([OPERATOR_USER, FLOOR_USER, STANDBY_USER]));
  const auditLogPath = join(workDir, 'audit.log');
  writeFileSync(auditLogPath, '');
  const apiserverArgs = [
    `--audit-policy-file=${policy}`,
    `--audit-log-path=${auditLogPath}`,
    '--audit-log-format=json',
    '--audit-log-maxsize=0',
    // Batch the audit writes so the log does not slow the requests it records.
    '--audit-log-mode=batch',
    '--audit-log-batch-max-wait=1s',
    ...extraArgs,
  ];
  const cp = await ControlPlane.start({ apiserverArgs, ...(keepDir ? { keepDir } : {}) });
  const users = Object.fromEntries(
    [OPERATOR_USER, FLOOR_USER, STANDBY_USER].map((u) => [u, userKubeconfig(cp, u)] as const),
  );
  const kc = ['--kubeconfig', cp.kubeconfigPath];
  installCrds(cp.kubeconfigPath);
  const crds = execFileSync('kubectl', [...kc, 'get', 'crd', '-o', 'name'], { encoding: 'utf8' });
  if (!crds.includes('hostnamespaceexceptions.hostns.io')) {
    await cp.stop();
    throw new Error(
      'crds/ holds no HostNamespaceException CRD (hostnamespaceexceptions.hostns.io): the bench needs it',
    );
  }
  return { cp, admin: cp.kubeconfigPath, users, auditLogPath, apiserverArgs };
}
