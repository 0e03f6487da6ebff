import express from 'express';
import { listPrimitives, type RedisClient } from '@asyncq/core/internal';

/**
 * `GET /api/locks`: the coordination primitives under the prefix, as `asyncq locks --json` lists
 * them (holders with host, pid, age and token; waiters; values; set state; phase). Only reads.
 */
export function locksRoute(opts: { client: RedisClient; prefix: string }): express.Router {
  const router = express.Router();
  router.get('/api/locks', async (_req, res) => {
    res.set('Cache-Control', 'no-store').json({ prefix: opts.prefix, primitives: await listPrimitives(opts.client, opts.prefix) });
  });
  return router;
}
