import { readdirSync, readFileSync } from 'node:fs';
import { Packr } from 'msgpackr';

// The one place that reads asyncq's Lua scripts and packs their options (scripts.ts calls them).

const LUA_DIR = new URL('../../lua/', import.meta.url);

export interface ScriptSource {
  /** The ioredis command name, e.g. `asyncqConsume`. */
  command: string;
  numberOfKeys: number;
  lua: string;
}

let sources: ScriptSource[] | undefined;

/**
 * Reads `lua/<name>-<numberOfKeys>.lua` once per process, inserting `lua/lib/queue-lib.lua` where
 * asked (with `lua/lib/finish-lib.lua` and `lua/lib/groups-lib.lua` inserted where queue-lib asks), and `lua/lib/limits-lib.lua`
 * where a script asks for it.
 */
export function loadSources(): ScriptSource[] {
  if (sources) return sources;
  const finish = readFileSync(new URL('lib/finish-lib.lua', LUA_DIR), 'utf8');
  const groups = readFileSync(new URL('lib/groups-lib.lua', LUA_DIR), 'utf8');
  const lib = readFileSync(new URL('lib/queue-lib.lua', LUA_DIR), 'utf8').replace('-- @include finish-lib', finish).replace('-- @include groups-lib', groups);
  const limits = readFileSync(new URL('lib/limits-lib.lua', LUA_DIR), 'utf8');
  sources = readdirSync(LUA_DIR)
    .filter((f) => f.endsWith('.lua'))
    .map((file) => {
      const m = /^([a-z-]+)-(\d+)\.lua$/.exec(file);
      if (!m) throw new Error(`asyncq: Lua file name ${file} must be <name>-<numberOfKeys>.lua`);
      const camel = m[1]!.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      return {
        command: `asyncq${camel[0]!.toUpperCase()}${camel.slice(1)}`,
        numberOfKeys: Number(m[2]),
        lua: readFileSync(new URL(file, LUA_DIR), 'utf8').replace('-- @include queue-lib', lib).replace('-- @include limits-lib', limits),
      };
    });
  return sources;
}

/**
 * The Redis commands asyncq's Lua scripts send (those of `command`, e.g. `asyncqRegistry`, or of
 * every script), read from their sources: what a user's ACL must allow. A publish on the queue's
 * channel is listed as PUBLISH and SPUBLISH.
 */
export function luaCommands(command?: string): string[] {
  const out = new Set<string>();
  for (const s of loadSources()) {
    if (command !== undefined && s.command !== command) continue;
    for (const m of s.lua.matchAll(/(?:rcall|redis\.p?call)\(\s*(?:"([A-Za-z]+)"|'([A-Za-z]+)'|((?:o\.)?pub)\b)/g)) {
      if (m[3]) out.add('PUBLISH').add('SPUBLISH');
      else out.add((m[1] ?? m[2])!.toUpperCase());
    }
  }
  return [...out].sort();
}

export type Call = (...args: (string | number | Buffer)[]) => Promise<unknown>;

// Plain msgpack maps, as Redis's cmsgpack reads them (no msgpackr records extension).
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

/** A script's scalar options, packed into its one options argument (ARGV[1]). */
export function pack(options: Record<string, string | number | boolean | string[] | undefined>): Buffer {
  return packr.pack(options);
}

