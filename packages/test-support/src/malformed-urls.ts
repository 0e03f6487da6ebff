/**
 * Malformed Redis connection strings that hold a marker password, for the property tests that feed
 * them through every way asyncq takes a connection and check the marker never comes out.
 *
 * Each string is built from a password-bearing shape (a scheme or a broken one, a user, the
 * marker, an '@', a host, a port, a path) and then mutated by inserting characters that URLs trip
 * on. The marker always stays before an '@', where a password sits, so each string still "holds a
 * password" however broken the rest is. Seeded, so a failure names a string that can be replayed.
 */

/** The password every generated string holds. Letters only, so every encoding of it reads the same. */
export const MARKER = 'ZqTOPSECRETxW';

/** True when `text` shows the marker, or a recognisable part of it, in any case. */
export function leaks(text: string): boolean {
  const lower = text.toLowerCase();
  return lower.includes('topsecret') || lower.includes(MARKER.toLowerCase());
}

/** A small deterministic PRNG (mulberry32): the same seed gives the same strings. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SCHEMES = ['redis://', 'rediss://', 'redis:/', 'redis:', 'redis//', '//', '', 'REDIS://', 'http://', 'redis:///', 'redis://redis://', 'redis:://', 'unix://'];
const USERS = ['', 'user', 'default', 'a b', 'u%zz', `${MARKER}`];
const PASSWORD_FORMS = [
  `:${MARKER}`,
  `${MARKER}`,
  `:${MARKER}:more`,
  `:${MARKER}%`,
  `:${MARKER}%zz`,
  `:${MARKER}/x`,
  `:${MARKER}?x`,
  `:${MARKER}#x`,
  `:${MARKER} x`,
  `:${MARKER}@x`,
  `::${MARKER}`,
  `:${MARKER}[`,
  `:${MARKER}]`,
  `:${MARKER},x`,
];
const HOSTS = ['127.0.0.1', 'localhost', '[::1]', '[::1', '127.0.0.1]', '', '127.0.0.1 ', '::1'];
// No string leaves the port out: one that parsed would then go to whatever listens on 6379 here.
const PORTS = [':0', ':abc', ':99999', ':-1', ':1:{closed}', ':{closed}', ':{closed}', ':{closed}'];
const PATHS = ['', '/', '/0', '/abc', '/-1', '/99999999999', '/0/1', '?db=1', '#f', '/%zz', '/0?x=y'];
const JUNK = ['%', ' ', ':', '/', '[', ']', '@', '?', '#', '\\', 'é', ',', '\t', '%2', '//', ':/'];

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/**
 * `count` malformed connection strings from `seed`; `closedPort` is a port nothing listens on,
 * so the few that parse fail at once when connected to.
 */
export function malformedUrls(seed: number, count: number, closedPort: number): string[] {
  const rand = prng(seed);
  const out = new Set<string>();
  for (let guard = 0; out.size < count && guard < count * 20; guard++) {
    const user = pick(rand, USERS);
    let s = `${pick(rand, SCHEMES)}${user}${pick(rand, PASSWORD_FORMS)}@${pick(rand, HOSTS)}${pick(rand, PORTS)}${pick(rand, PATHS)}`.replace('{closed}', String(closedPort));
    // Mutations, never inside the marker and never after the last '@' moves ahead of it.
    for (let n = Math.floor(rand() * 3); n > 0; n--) {
      const junk = pick(rand, JUNK);
      const at = Math.floor(rand() * (s.length + 1));
      const mark = s.indexOf(MARKER);
      if (mark >= 0 && at > mark && at < mark + MARKER.length) continue;
      s = s.slice(0, at) + junk + s.slice(at);
    }
    if (s.lastIndexOf('@') < s.lastIndexOf(MARKER)) continue;
    out.add(s);
  }
  return [...out];
}
