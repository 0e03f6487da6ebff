import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { ROOT } from './processes.js';

/**
 * Tells which of asyncq's Lua scripts an EVAL or EVALSHA runs, by the script's file name stem
 * (`add`, `consume`, `fail`, ... from `packages/core/lua/<stem>-<keys>.lua`), so the fault proxy
 * can match "the consume script" without knowing its key count or arguments, which fixes may
 * change. An EVAL body is recognized by the opening of its file (each script opens with its own
 * header); an EVALSHA by the SHA1 of a body seen in an EVAL before, or of its file with the shared
 * library inserted the way core's scripts.ts inserts it today.
 */
export class LuaScripts {
  private readonly heads: { stem: string; head: string }[] = [];
  private readonly bySha = new Map<string, string>();

  constructor(dir = `${ROOT}packages/core/lua/`) {
    let lib = '';
    try {
      lib = readdirSync(`${dir}lib`)
        .filter((f) => f.endsWith('.lua'))
        .map((f) => readFileSync(`${dir}lib/${f}`, 'utf8'))
        .join('\n');
    } catch {
      // no shared library
    }
    for (const file of readdirSync(dir)) {
      const m = /^([a-z-]+?)-\d+\.lua$/.exec(file);
      if (!m) continue;
      const src = readFileSync(`${dir}${file}`, 'utf8');
      this.heads.push({ stem: m[1]!, head: src.slice(0, 400) });
      if (lib) this.bySha.set(sha1(src.replace('-- @include queue-lib', lib)), m[1]!);
      this.bySha.set(sha1(src), m[1]!);
    }
  }

  /** The stem of the script an EVAL/EVALSHA (name and arguments) runs, or undefined. */
  identify(name: string, args: readonly string[]): string | undefined {
    const first = args[0];
    if (first === undefined) return undefined;
    if (name === 'EVALSHA' || name === 'EVALSHA_RO') return this.bySha.get(first.toLowerCase());
    if (name === 'EVAL' || name === 'EVAL_RO') {
      const sha = sha1(first);
      const known = this.bySha.get(sha);
      if (known) return known;
      const hit = this.heads.find((h) => first.startsWith(h.head.slice(0, Math.min(h.head.length, 200))));
      if (hit) this.bySha.set(sha, hit.stem);
      return hit?.stem;
    }
    return undefined;
  }
}

function sha1(s: string): string {
  return createHash('sha1').update(s).digest('hex');
}
