// `scan` checks exactly the resources the admission policy matches: one list, kept equal to
// config/admission/policy.yaml here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SCANNED_KINDS } from '../../src/report/scan-kinds.ts';

const policyPath = join(import.meta.dirname, '..', '..', 'config', 'admission', 'policy.yaml');

interface ResourceRule {
  apiGroups: string[];
  resources: string[];
}

describe('scanned kinds', () => {
  it('are the admission policy matchConstraints resources, no more and no fewer', () => {
    const policy = parse(readFileSync(policyPath, 'utf8')) as {
      spec: { matchConstraints: { resourceRules: ResourceRule[] } };
    };
    // Subresources (pods/ephemeralcontainers: kubectl debug on a running pod) have no manifest to scan.
    const admitted = policy.spec.matchConstraints.resourceRules.flatMap((r) =>
      r.apiGroups.flatMap((g) => r.resources.filter((res) => !res.includes('/')).map((res) => `${g}/${res}`)),
    );
    const scanned = SCANNED_KINDS.map((k) => `${k.group}/${k.resource}`);
    expect(new Set(scanned).size).toBe(scanned.length);
    expect([...scanned].sort()).toEqual([...new Set(admitted)].sort());
  });

  it('PodTemplate is in neither list (it runs nothing; admission sees its pods as Pods)', () => {
    expect(SCANNED_KINDS.some((k) => k.kind === 'PodTemplate')).toBe(false);
  });
});
