import { defineConfig } from 'vitest/config';

// Three projects: pure unit tests run in parallel; integration tests share one real control plane
// (started once by the global setup) and run file by file, because several of them install
// cluster-scoped objects (admission policies, the grants singleton, an operator with its Lease).
// Files named *.nodes.it.test.ts need simulated nodes, a scheduler and the workload controllers:
// they share a second, bigger cluster and also run file by file (the two integration projects
// run one file at a time between them: vitest puts single-worker projects in one sequential group).
const integration = {
  fileParallelism: false,
  testTimeout: 60_000,
  hookTimeout: 120_000,
};
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts', 'tools/**/*.test.ts'],
          exclude: ['**/*.it.test.ts', 'node_modules/**'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.it.test.ts', 'tools/**/*.it.test.ts'],
          exclude: ['**/*.nodes.it.test.ts', 'node_modules/**'],
          globalSetup: ['test/harness/global-setup.ts'],
          ...integration,
        },
      },
      {
        test: {
          name: 'integration-nodes',
          include: ['test/**/*.nodes.it.test.ts', 'tools/**/*.nodes.it.test.ts'],
          globalSetup: ['test/harness/global-setup-nodes.ts'],
          ...integration,
          // Pods go Running after KWOK's simulated delays (1 to 6 s per step), controllers back off.
          testTimeout: 120_000,
        },
      },
    ],
  },
});
