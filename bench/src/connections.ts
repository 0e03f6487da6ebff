/**
 * How BullMQ and bee-queue reach the bench's Redis, and the key prefixes that keep each engine's
 * keys apart. No engine is imported here: a child process loads only the engine it measures.
 */

/** BullMQ's key prefix in the bench. */
export const BULL_PREFIX = 'bullbench';
/** bee-queue's key prefix in the bench. */
export const BEE_PREFIX = 'beebench';

/** ioredis options for BullMQ (workers need `maxRetriesPerRequest: null`). */
export function bullConnection(url: string): { host: string; port: number; db: number; maxRetriesPerRequest: null } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0), maxRetriesPerRequest: null };
}

/** node-redis 3 options for bee-queue. */
export function beeRedis(url: string): { host: string; port: number; db: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) };
}
