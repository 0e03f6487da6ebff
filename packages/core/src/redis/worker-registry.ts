import { isSharded } from './cluster-room.js';
import { ConfigError } from '../errors.js';
import { lazily } from '../lazy.js';
import { checkInt, checkQueueName } from '../options.js';
import type { ConnectionOption, FleetInfo, WorkerInfo } from '../types.js';
import { checkAccess } from './access-check.js';
import { connectRedis, openClient, connectWithin, resolveConnection, toAsyncqError, type RedisClient } from './connection.js';
import { queueKeys, type QueueKeys } from './queue-keys.js';
import { publishSignal, QueueSignals } from './queue-signals.js';
import { QueueScripts } from './scripts.js';

/** Options of a {@link WorkerRegistry}. */
export interface WorkerRegistryOptions {
  /** Where Redis is; an ioredis client given here is shared and left open. @defaultValue `REDIS_URL` or localhost */
  connection?: ConnectionOption;
  /** Redis key prefix. @defaultValue 'asyncq' */
  prefix?: string;
  /** How long to wait for Redis at the first call. @defaultValue 5000 */
  connectTimeout?: number;
}

/** The desired worker count as stored (`<count> <by>`), or undefined when none (or nothing valid) is set. */
export function parseDesired(stored: string | null): { count: number; by: 'manual' | 'autoscaler' } | undefined {
  const [count, by] = (stored ?? '').split(' ');
  const n = count ? Number(count) : NaN;
  return Number.isInteger(n) && n >= 0 ? { count: n, by: by === 'autoscaler' ? 'autoscaler' : 'manual' } : undefined;
}

/** Whether a registry entry's JSON is one {@link WorkerRegistry} lists (corrupt ones are skipped). */
export function isRegistryEntry(info: unknown): info is { id: string } {
  return info !== null && typeof info === 'object' && typeof (info as { id?: unknown }).id === 'string';
}

/** How long an entry stays listed without a heartbeat, unless it says otherwise. */
const DEFAULT_TTL_MS = 15_000;

/**
 * The live workers and fleet supervisors of a queue, and the worker count operators ask for
 * (`asyncq scale`): workers beat (register and refresh), leave, and anyone lists them; an entry
 * that stops beating drops out. It opens one command connection (or uses the client given), and a
 * subscriber only for `onScale`. Listing only reads.
 *
 * @example
 * ```ts
 * const registry = new WorkerRegistry('emails', { connection: 'redis://127.0.0.1:6379' });
 * for (const w of await registry.list()) console.log(w.host, w.pid, w.done);
 * await registry.setDesired(8);
 * await registry.close();
 * ```
 */
export class WorkerRegistry {
  readonly name: string;
  private readonly keys: QueueKeys;
  private owned?: RedisClient;
  private subscriber?: RedisClient;
  /** Entries that could not be read (corrupt JSON) at the last listing, for operators. */
  skipped = 0;

  constructor(
    name: string,
    private readonly opts: WorkerRegistryOptions = {},
  ) {
    this.name = checkQueueName(name);
    // A partitioned queue keeps its registry under its plain name's tag.
    this.keys = queueKeys(opts.prefix ?? 'asyncq', this.name);
  }

  private readonly session = lazily(async () => {
    const client = await connectRedis(this.opts.connection, { connectTimeout: this.opts.connectTimeout, name: `asyncq:${this.name}` });
    if (client !== this.opts.connection) this.owned = client;
    const target = resolveConnection(client);
    const scripts = new QueueScripts(client, target, this.name);
    await checkAccess(scripts, target, this.keys, 'reader');
    return { client, target, scripts };
  });

  /** The session, once the user's ACL was found to allow what the registry's writes send (checked once). */
  private readonly writable = lazily(async () => {
    const s = await this.session();
    await checkAccess(s.scripts, s.target, this.keys, 'registry');
    return s;
  });

  /** Runs `op`, giving a refusal or an outage met by a plain command as asyncq's error. */
  private async run<R>(op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (e) {
      const s = await this.session().catch(() => undefined);
      throw (s && toAsyncqError(e, s.target)) ?? e;
    }
  }

  /** Registers a worker, or refreshes its heartbeat and counters; it drops out after `ttlMs` without a beat. */
  async beat(info: WorkerInfo, ttlMs = DEFAULT_TTL_MS): Promise<void> {
    const { scripts } = await this.writable();
    await scripts.beat(this.keys.workers, this.keys.heartbeats, info.id, JSON.stringify(info), ttlMs);
  }

  /** Removes a worker (it stopped). */
  async leave(id: string): Promise<void> {
    const { scripts } = await this.writable();
    await scripts.leave(this.keys.workers, this.keys.heartbeats, id);
  }

  /** The live workers, oldest first. A corrupt entry is skipped (and counted in `skipped`), never fatal. */
  async list(): Promise<WorkerInfo[]> {
    const { scripts } = await this.session();
    return this.parse<WorkerInfo>(await scripts.list(this.keys.workers, this.keys.heartbeats));
  }

  /** Registers a fleet supervisor, or refreshes it. */
  async beatFleet(info: FleetInfo, ttlMs = DEFAULT_TTL_MS): Promise<void> {
    const { scripts } = await this.writable();
    await scripts.beat(this.keys.fleets, this.keys.fleetBeats, info.id, JSON.stringify(info), ttlMs);
  }

  /** Removes a fleet supervisor. */
  async leaveFleet(id: string): Promise<void> {
    const { scripts } = await this.writable();
    await scripts.leave(this.keys.fleets, this.keys.fleetBeats, id);
  }

  /** The live fleet supervisors, oldest first. */
  async listFleets(): Promise<FleetInfo[]> {
    const { scripts } = await this.session();
    return this.parse<FleetInfo>(await scripts.list(this.keys.fleets, this.keys.fleetBeats));
  }

  /**
   * Sets how many workers every fleet serving the queue should run between them, and tells them;
   * `undefined` clears it (fleets then follow their own default or autoscaler). `by` records who
   * set it: an autoscaler leaves a count an operator set by hand alone until it is cleared.
   */
  async setDesired(n: number | undefined, by: 'manual' | 'autoscaler' = 'manual'): Promise<void> {
    const value = n === undefined ? undefined : `${checkInt('desired workers', n, 0, 0, 10_000)} ${by}`;
    const { client, target } = await this.writable();
    await this.run(async () => {
      if (value === undefined) await client.del(this.keys.desired);
      else await client.set(this.keys.desired, value);
      await publishSignal(client, this.keys, 'scale', isSharded(target));
    });
  }

  /** The desired worker count, or undefined when none is set. */
  async desired(): Promise<number | undefined> {
    return (await this.desiredState())?.count;
  }

  /** The desired worker count and who set it, or undefined when none is set. */
  async desiredState(): Promise<{ count: number; by: 'manual' | 'autoscaler' } | undefined> {
    const { client } = await this.session();
    return parseDesired(await this.run(() => client.get(this.keys.desired)));
  }

  /** Calls `fn` whenever the desired worker count changes, until the returned function is called. */
  async onScale(fn: () => void): Promise<() => void> {
    const { target } = await this.writable();
    if (!this.subscriber) {
      this.subscriber = openClient(target, 'subscriber', `asyncq:${this.name}`, 20_000);
      await connectWithin(this.subscriber, target, this.opts.connectTimeout ?? 5000);
    }
    const signals = new QueueSignals(this.subscriber, [this.keys.channel], isSharded(target));
    await this.run(() => signals.start());
    return signals.on((s) => {
      if (s === 'scale' || s === 'reconnected') fn();
    });
  }

  async close(): Promise<void> {
    this.subscriber?.disconnect();
    if (this.owned) await this.owned.quit().catch(() => this.owned?.disconnect());
  }

  private parse<I extends { startedAt: number; id: string }>(json: string[]): I[] {
    this.skipped = 0;
    const out: I[] = [];
    for (const j of json) {
      try {
        const info: unknown = JSON.parse(j);
        if (!isRegistryEntry(info)) throw new ConfigError('not an entry');
        out.push(info as I);
      } catch {
        this.skipped++;
      }
    }
    return out.sort((a, b) => (Number(a.startedAt) || 0) - (Number(b.startedAt) || 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
}
