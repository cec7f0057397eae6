import { defineConfig } from 'vitest/config';

// Three projects in one run: every test file, and the broker's integration tests twice more against
// a real 2-worker cluster, on a real redis-server and on a real Redis Cluster (same files, the
// harness switched by env).
// Cluster tests run the built CLI (bin/starling.js -> dist/): `npm test` builds first (pretest).
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: integration files start real brokers and redis-servers; keep parallelism modest.
    maxWorkers: 2,
    env: { STARLING_CLUSTER_BIN: '1' },
    projects: [
      { extends: true, test: { name: 'all', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'broker-on-cluster',
          include: ['test/integration/broker/**/*.test.ts'],
          // 13-cli starts its own processes and has no harness to switch.
          exclude: ['test/integration/broker/13-cli.test.ts'],
          env: { STARLING_CLUSTER_BIN: '1', STARLING_TEST_HARNESS: './cluster-harness.ts' },
        },
      },
      {
        // The same again on a Redis Cluster (3 masters, 3 replicas; one per test file): sharded
        // pub/sub, hash-tagged keys, retained index spread over slots.
        extends: true,
        test: {
          name: 'broker-on-redis-cluster',
          include: ['test/integration/broker/**/*.test.ts'],
          exclude: ['test/integration/broker/13-cli.test.ts'],
          env: { STARLING_CLUSTER_BIN: '1', STARLING_TEST_HARNESS: './cluster-harness.ts', STARLING_TEST_REDIS: 'cluster' },
        },
      },
    ],
  },
});
