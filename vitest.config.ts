import { defineConfig } from 'vitest/config';

// One project per kind of test, so each runs with only the set-up it needs:
// - unit: no Redis and no global set-up at all (LocalQueue conformance, pure functions);
// - integration: one real Redis found by packages/test-support/src/global-setup.ts (REDIS_URL, else a throwaway redis-server);
// - cluster: a Redis Cluster (3 masters, 3 replicas) and a Sentinel group started from local binaries;
// - chaos: real processes and redis-servers the suite starts, kills and restarts itself (`pnpm test:chaos`).
const shared = {
  testTimeout: 30_000,
  hookTimeout: 30_000,
  pool: 'forks' as const,
  // expect.poll's own default (1 s) is a timed assertion: a page that redraws every 2 s on a loaded
  // 2-core machine misses it (the dashboard's browser tests did in CI). Polls wait up to 20 s.
  expect: { poll: { timeout: 20_000, interval: 100 } },
};

export default defineConfig({
  test: {
    // Two cores: cross-process tests spawn their own processes, so run two files at a time at most.
    maxWorkers: 2,
    projects: [
      {
        test: { ...shared, name: 'unit', include: ['packages/*/test/unit/**/*.test.ts', 'test/unit/**/*.test.ts', 'docker/test/unit/**/*.test.ts'] },
      },
      {
        test: {
          ...shared,
          name: 'integration',
          include: ['packages/*/test/**/*.test.ts', 'examples/test/**/*.test.ts', 'docker/test/**/*.test.ts', 'bench/test/**/*.test.ts', 'test/*.test.ts'],
          exclude: ['packages/*/test/unit/**', 'docker/test/unit/**', '**/node_modules/**'],
          globalSetup: ['packages/test-support/src/global-setup.ts'],
        },
      },
      {
        test: {
          ...shared,
          name: 'cluster',
          include: ['test/cluster/**/*.test.ts'],
          globalSetup: ['test/cluster/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          ...shared,
          name: 'chaos',
          include: ['test/chaos/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          // Each scenario loads both cores with its own fleets and redis-servers, and times recoveries:
          // one file at a time, or the scenarios measure each other.
          fileParallelism: false,
        },
      },
    ],
  },
});
