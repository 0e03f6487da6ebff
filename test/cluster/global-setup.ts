import type { TestProject } from 'vitest/node';
import { type ClusterAddresses, startRedisCluster } from '@asyncq/test-support/basics';

declare module 'vitest' {
  export interface ProvidedContext {
    redisCluster: ClusterAddresses;
  }
}

/**
 * Starts the Redis Cluster (3 masters, 3 replicas) that the cluster suite
 * shares, and hands its addresses and slot map to the tests as `redisCluster`.
 * Tests that kill servers (failover, Sentinel) start private ones instead, so
 * this cluster stays whole and evenly split while files run side by side.
 * Fails with one line when redis-server or redis-cli 7+ is missing.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Nothing is killed on this cluster: a longer node timeout keeps a starved node on a busy
  // machine from being failed over by mistake.
  const cluster = await startRedisCluster({ nodeTimeoutMs: 3000 });
  project.provide('redisCluster', cluster.addresses());
  return () => cluster.stop();
}
