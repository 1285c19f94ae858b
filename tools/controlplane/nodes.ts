// Fake nodes for KWOK: Node objects as a kubelet registers them (labels, addresses, allocatable),
// with the annotation KWOK recognises. KWOK then plays the kubelet: it makes them Ready, renews
// their Lease, and runs the pods bound to them.

/** Node names the local cluster creates at start: `kwok-node-0`, `kwok-node-1`, ... */
export function fakeNodeName(index: number): string {
  return `kwok-node-${index}`;
}

/** A taint as a Node's spec.taints holds it. */
export interface NodeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
}

/**
 * Extra labels and taints: a pool of nodes kept for one test (a taint keeps other workloads,
 * DaemonSets included, off them; a label lets the test's own workload select them).
 */
export interface NodePool {
  labels?: Record<string, string>;
  taints?: NodeTaint[];
}

/**
 * A Node object for a simulated node. `index` (0..16383) picks its addresses: InternalIP
 * 172.16.x.y and pod CIDR 10.64.0.0/10 split in /24s, one per node, so pod IPs never collide.
 * Allocatable is a typical worker's (32 CPUs, 256 GiB, the kubelet's default 110 pods), as KWOK's
 * own kwokctl uses.
 */
export function fakeNode(name: string, index: number, pool: NodePool = {}): Record<string, unknown> {
  if (!Number.isInteger(index) || index < 0 || index > 16383)
    throw new Error(`fake node index ${index} is not in 0..16383`);
  const podCidr = `10.${64 + (index >> 8)}.${index & 255}.0/24`;
  const internalIp = `172.16.${index >> 8}.${(index & 255) + 1}`;
  const resources = { cpu: '32', memory: '256Gi', pods: '110', 'ephemeral-storage': '100Gi' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': name,
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
        ...pool.labels,
      },
    },
    spec: { podCIDR: podCidr, podCIDRs: [podCidr], ...(pool.taints?.length ? { taints: pool.taints } : {}) },
    status: {
      addresses: [
        { type: 'InternalIP', address: internalIp },
        { type: 'Hostname', address: name },
      ],
      allocatable: resources,
      capacity: resources,
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux' },
    },
  };
}

/** `--nodes N` as given on a command line: a whole number from 0 (no nodes) to 16384. */
export function parseNodeCount(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 16384)
    throw new Error(`--nodes: expected a whole number from 0 to 16384, got "${text}"`);
  return n;
}
