import { defineConfig } from 'vitest/config';

// Two projects: pure unit tests run in parallel; integration tests share one real control plane
// (started once by the global setup) and run file by file, because several of them install
// cluster-scoped objects (admission policies, the grants singleton, an operator with its Lease).
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
          globalSetup: ['test/harness/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
