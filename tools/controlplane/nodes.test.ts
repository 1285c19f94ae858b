// The simulated nodes' objects and the --nodes option of `npm run cluster` / `npm run dev`.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { fakeNode, fakeNodeName, parseNodeCount } from './nodes.ts';

type NodeShape = {
  metadata: { name: string; annotations: Record<string, string>; labels: Record<string, string> };
  spec: { podCIDR: string };
  status: { addresses: { type: string; address: string }[]; allocatable: Record<string, string> };
};

describe('fakeNode', () => {
  it('is a Node KWOK manages, with a worker kubelet allocatable and its own addresses', () => {
    const node = fakeNode(fakeNodeName(0), 0) as NodeShape;
    expect(node.metadata.name).toBe('kwok-node-0');
    expect(node.metadata.annotations['kwok.x-k8s.io/node']).toBe('fake');
    expect(node.metadata.labels['kubernetes.io/hostname']).toBe('kwok-node-0');
    expect(node.status.allocatable).toMatchObject({ cpu: '32', memory: '256Gi', pods: '110' });
    expect(node.spec.podCIDR).toBe('10.64.0.0/24');
    expect(node.status.addresses).toContainEqual({ type: 'InternalIP', address: '172.16.0.1' });
  });

  it('gives every index distinct addresses and pod CIDRs', () => {
    const seen = { ip: new Set<string>(), cidr: new Set<string>() };
    for (const index of [0, 1, 255, 256, 257, 1000, 16383]) {
      const node = fakeNode(`n${index}`, index) as NodeShape;
      seen.ip.add(node.status.addresses.find((a) => a.type === 'InternalIP')!.address);
      seen.cidr.add(node.spec.podCIDR);
    }
    expect(seen.ip.size).toBe(7);
    expect(seen.cidr.size).toBe(7);
    expect((fakeNode('last', 16383) as NodeShape).spec.podCIDR).toBe('10.127.255.0/24');
  });

  it("carries a pool's labels and taints; without a pool, none of either", () => {
    const taint = { key: 'hostns.io/test-pool', value: 'p1', effect: 'NoSchedule' as const };
    const pooled = fakeNode('n', 1, { labels: { 'hostns.io/test-pool': 'p1' }, taints: [taint] }) as NodeShape & {
      spec: { taints?: unknown[] };
    };
    expect(pooled.metadata.labels).toMatchObject({ 'hostns.io/test-pool': 'p1', 'kubernetes.io/hostname': 'n' });
    expect(pooled.spec.taints).toEqual([taint]);
    expect((fakeNode('n', 1) as { spec: object }).spec).not.toHaveProperty('taints');
    expect((fakeNode('n', 1, { taints: [] }) as { spec: object }).spec).not.toHaveProperty('taints');
  });

  it('refuses an index outside 0..16383', () => {
    for (const bad of [-1, 16384, 1.5, Number.NaN])
      expect(() => fakeNode('n', bad)).toThrow(`fake node index ${bad} is not in 0..16383`);
  });
});

describe('--nodes', () => {
  it('accepts whole numbers from 0 to 16384', () => {
    expect(parseNodeCount('0')).toBe(0);
    expect(parseNodeCount('3')).toBe(3);
    expect(parseNodeCount('16384')).toBe(16384);
  });

  it('refuses anything else, naming the option', () => {
    for (const bad of ['', 'three', '-1', '1.5', '1e3', '0x10', '16385', ' ']) {
      expect(() => parseNodeCount(bad), bad).toThrow(`--nodes: expected a whole number from 0 to 16384, got "${bad}"`);
    }
  });

  it('npm run cluster and npm run dev stop at once with the message and the usage, exit 2', () => {
    const usage = { cluster: '[-- --nodes N [--pod-heartbeat 10s]]', dev: '[-- --nodes N]' };
    for (const script of ['cluster', 'dev'] as const) {
      const r = spawnSync(process.execPath, [`tools/controlplane/${script}.ts`, '--nodes', 'many'], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(r.status, script).toBe(2);
      expect(r.stderr).toBe(
        `npm run ${script}: --nodes: expected a whole number from 0 to 16384, got "many"\n` +
          `usage: npm run ${script} ${usage[script]}\n`,
      );
    }
    const unknown = spawnSync(process.execPath, ['tools/controlplane/cluster.ts', '--node', '3'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("Unknown option '--node'");
  }, 60_000); // three Node processes: seconds each on a loaded machine
});
