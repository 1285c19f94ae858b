// config/admission/operator-pod-writes.yaml without a cluster: it names the operator's real
// ServiceAccount (config/rbac), and the overlay patch its header documents retargets it.
// admission.it.test.ts proves on the API server what it refuses.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { find, OPERATOR_NAME, OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT, render } from '../deploy/manifests.ts';

const FILE = 'config/admission/operator-pod-writes.yaml';
const POLICY = 'hostns-operator-pod-writes';
type Policy = { spec: { matchConditions: Array<{ name: string; expression: string }>; failurePolicy: string } };

describe('hostns-operator-pod-writes', () => {
  it('is part of config/admission and matches the ServiceAccount config/rbac gives the operator', () => {
    const policy = find(render('config/admission'), 'ValidatingAdmissionPolicy', POLICY) as unknown as Policy;
    const sa = find(render('config/rbac'), 'ServiceAccount', OPERATOR_NAME);
    expect(sa.metadata).toMatchObject({ name: OPERATOR_NAME, namespace: OPERATOR_NAMESPACE });
    expect(policy.spec.matchConditions[0]).toEqual({
      name: 'by-the-operator',
      expression: `request.userInfo.username == '${OPERATOR_SERVICE_ACCOUNT}'`,
    });
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(find(render('config/admission'), 'ValidatingAdmissionPolicyBinding', POLICY)).toMatchObject({
      spec: { policyName: POLICY, validationActions: ['Deny'] },
    });
  });

  it('the overlay patch in its header retargets it to another account', () => {
    // The header's example, uncommented, as a user copies it into an overlay.
    const header = readFileSync(FILE, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('#'));
    const from = header.findIndex((l) => l.trim() === '#   patches:');
    const patch = header
      .slice(from)
      .map((l) => l.replace(/^# {3}/, ''))
      .filter((l) => l.trim() !== '#')
      .join('\n');
    expect(patch).toContain('system:serviceaccount:my-ns:my-operator');
    const dir = mkdtempSync(join(tmpdir(), 'hostns-pod-writes-'));
    try {
      writeFileSync(
        join(dir, 'kustomization.yaml'),
        `resources:\n  - ${relative(dir, resolve('config/admission'))}\n${patch}\n`,
      );
      const policy = find(render(dir), 'ValidatingAdmissionPolicy', POLICY) as unknown as Policy;
      expect(policy.spec.matchConditions[0]!.expression).toBe(
        "request.userInfo.username == 'system:serviceaccount:my-ns:my-operator'",
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
