import { readFileSync, readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { QueueKeys } from './queue-keys.js';

const LUA_DIR = new URL('../lua/', import.meta.url);

interface ScriptSource {
  /** The ioredis command name, e.g. `asyncqReserve`. */
  command: string;
  numberOfKeys: number;
  lua: string;
}

let sources: ScriptSource[] | undefined;

/** Reads `lua/<name>-<numberOfKeys>.lua` once per process. */
function loadSources(): ScriptSource[] {
  sources ??= readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`asyncq: Lua file name ${file} must be <name>-<numberOfKeys>.lua`);
      const camel = m[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      return {
        command: `asyncq${camel[0]!.toUpperCase()}${camel.slice(1)}`,
        numberOfKeys: Number(m[2]),
        lua: readFileSync(new URL(file, LUA_DIR), 'utf8'),
      };
    });
  return sources;
}

type Call = (...args: (string | number)[]) => Promise<unknown>;

/** The two registries that share `workers-2.lua`. */
export type RegistryKind = 'workers' | 'fleets';

/**
 * asyncq's own Lua scripts on one client, with typed calls. ioredis sends
 * them by SHA and falls back to the source once per connection.
 */
export class QueueScripts {
  constructor(
    private readonly client: Redis,
    private readonly keys: QueueKeys,
  ) {
    for (const s of loadSources()) {
      if (!(s.command in client)) client.defineCommand(s.command, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    }
  }

  private call(command: string): Call {
    return (this.client as unknown as Record<string, Call>)[command]!.bind(this.client);
  }

  /** How many of `count` puts got room (0 full, -1 shut down). See `reserve-6.lua`. */
  async reserve(maxsize: number, token: string, lifetimeMs: number, announce: boolean, count = 1): Promise<number> {
    const k = this.keys;
    return Number(
      await this.call('asyncqReserve')(k.state, k.reservations, k.wait, k.paused, k.prioritized, k.delayed,
        maxsize, token, lifetimeMs, announce ? k.channel : '', count),
    );
  }

  /** Drops `count` reservations under `token`; returns the shutdown mode or null. See `release-2.lua`. */
  async release(token: string, count = 1): Promise<string | null> {
    return (await this.call('asyncqRelease')(this.keys.state, this.keys.reservations, token, count)) as string | null;
  }

  /** Counts unfinished tasks, announcing a joiner or notifying joiners. See `unfinished-6.lua`. */
  async unfinished(mode: 'announce' | 'notify' | 'count'): Promise<number> {
    const k = this.keys;
    return Number(
      await this.call('asyncqUnfinished')(k.wait, k.paused, k.prioritized, k.delayed, k.active, k.waitingChildren,
        k.channel, mode),
    );
  }

  /** The shutdown mode ("" when open) and how many tasks are waiting or delayed. See `probe-5.lua`. */
  async probe(): Promise<{ shutdown: string; pending: number }> {
    const k = this.keys;
    const [shutdown, pending] = (await this.call('asyncqProbe')(k.state, k.wait, k.paused, k.prioritized, k.delayed)) as [
      string,
      number,
    ];
    return { shutdown, pending: Number(pending) };
  }

  /** Sets or clears the shutdown flag and tells every handle. See `set-shutdown-2.lua`. */
  async setShutdown(mode: 'graceful' | 'immediate' | 'reopen'): Promise<void> {
    await this.call('asyncqSetShutdown')(this.keys.state, this.keys.reservations, this.keys.channel, mode);
  }

  /** Registers or refreshes a worker's (or fleet's) heartbeat. See `workers-2.lua`. */
  async beat(kind: RegistryKind, id: string, infoJson: string, ttlMs: number): Promise<void> {
    await this.call('asyncqWorkers')(...this.registry(kind), 'beat', id, infoJson, ttlMs);
  }

  /** Removes a worker (or fleet) from its registry. */
  async leave(kind: RegistryKind, id: string): Promise<void> {
    await this.call('asyncqWorkers')(...this.registry(kind), 'leave', id);
  }

  /** The JSON infos of live workers (or fleets), dropping those whose heartbeat expired. */
  async list(kind: RegistryKind): Promise<string[]> {
    return (await this.call('asyncqWorkers')(...this.registry(kind), 'list')) as string[];
  }

  private registry(kind: RegistryKind): [string, string] {
    return kind === 'workers' ? [this.keys.workers, this.keys.heartbeats] : [this.keys.fleets, this.keys.fleetBeats];
  }

  /** The shutdown mode, or null when open. */
  async shutdownMode(): Promise<string | null> {
    return this.client.hget(this.keys.state, 'shutdown');
  }
}
