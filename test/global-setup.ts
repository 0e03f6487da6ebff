import { execFileSync } from 'node:child_process';
import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis } from '@asyncq/core';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * Finds the one Redis every integration test uses: REDIS_URL when set; else a
 * throwaway redis-server on a free port (stopped afterwards); else Redis in
 * Docker through testcontainers when a Docker engine answers; else one clear
 * message saying how to get Redis.
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
      if (!dockerAnswers()) {
        throw new Error(
          `tests need Redis: set REDIS_URL, or install redis-server (apt-get install redis-server), or run a Docker engine (${(embeddedError as Error).message})`,
        );
      }
      const { RedisContainer } = await import('@testcontainers/redis');
      const container = await new RedisContainer('redis:7-alpine').start();
      url = container.getConnectionUrl();
      stop = async () => {
        await container.stop();
      };
    }
  }
  project.provide('redisUrl', url);
  process.env.REDIS_URL = url;
  return stop;
}

function dockerAnswers(): boolean {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
