import { QueueAdmin, WorkerRegistry, type RedisClient } from '@asyncq/core';

/**
 * What read-only commands open on a queue: its admin reads and its worker registry, on one shared
 * connection, with no subscriber and no consumer.
 */
export interface QueueReader {
  readonly name: string;
  readonly admin: QueueAdmin;
  readonly registry: WorkerRegistry;
  close(): Promise<void>;
}

/** Opens the reads of queue `name` on `client` (which stays the caller's to close). */
export function openReader(name: string, client: RedisClient, prefix: string): QueueReader {
  const admin = new QueueAdmin(name, { connection: client, prefix });
  const registry = new WorkerRegistry(name, { connection: client, prefix });
  return { name, admin, registry, close: async () => void (await Promise.all([admin.close(), registry.close()])) };
}
