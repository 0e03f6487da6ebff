import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis } from '@asyncq/core/testing';

/** The image the testcontainers fallback runs: the one docker/compose.yaml names (docker/local-bases.sh can build it). */
const REDIS_IMAGE = 'redis:7-alpine';

/**
 * Finds the one Redis every integration test uses: REDIS_URL when set; else a
 * throwaway redis-server on a free port (stopped afterwards); else Redis in a
 * container through testcontainers when a Docker-compatible engine answers
 * (Docker, or podman's API: `podman system service` with DOCKER_HOST pointing at
 * its socket); else one clear message saying how to get Redis.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let url = process.env.REDIS_URL;
  let stop = async (): Promise<void> => {};
  if (!url) {
    try {
      const redis = await startEmbeddedRedis();
      url = redis.url;
      stop = redis.stop;
    } catch (embeddedError) {
      const { getContainerRuntimeClient } = await import('testcontainers');
      try {
        await getContainerRuntimeClient();
      } catch {
        throw new Error(
          `tests need Redis: set REDIS_URL, or install redis-server (apt-get install redis-server), or run a Docker engine or podman's Docker API (DOCKER_HOST) (${(embeddedError as Error).message})`,
        );
      }
      const { RedisContainer } = await import('@testcontainers/redis');
      const container = await new RedisContainer(REDIS_IMAGE).start();
      url = container.getConnectionUrl();
      console.log(`global setup: Redis in a container (${REDIS_IMAGE}, ${container.getId().slice(0, 12)}) through testcontainers, at ${url}`);
      stop = async () => {
        await container.stop();
      };
    }
  }
  project.provide('redisUrl', url);
  process.env.REDIS_URL = url;
  return stop;
}
