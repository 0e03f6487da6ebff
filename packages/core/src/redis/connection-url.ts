import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../errors.js';
import type { RedisTarget } from './connection.js';

/** What a connection URL looks like, for messages about one that does not. */
const URL_FORM = 'redis://[user:password@]host[:port][/db] (rediss:// for TLS)';

/**
 * Every message here quotes the URL only through {@link redactUrl}, and quotes no part of it
 * that a malformed URL could have taken from the password (its scheme, its path).
 */
export function fromUrl(url: string, extra: RedisOptions): RedisTarget {
  const shown = (): string => quote(redactUrl(url));
  if (!/^rediss?:\/\//i.test(url)) {
    throw new ConfigError(`connection URL ${shown()} ${SCHEME.test(url) ? 'must start with redis:// or rediss://' : 'is not a URL'}: ${URL_FORM}`);
  }
  const auth = authorityOf(url);
  if (auth && /[/?#]/.test(auth)) {
    throw new ConfigError(
      `the password in connection URL ${shown()} contains '/', '?' or '#': URL-encode it (e.g. '/' as %2F) or pass ioredis options { host, port, password }`,
    );
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`connection URL ${shown()} is not a URL: ${URL_FORM}`);
  }
  const path = u.pathname.slice(1);
  const db = path.length > 0 ? Number(path) : 0;
  if (!/^\d{0,5}$/.test(path) || !Number.isInteger(db)) throw new ConfigError(`connection URL ${shown()} names no database number: ${URL_FORM}`);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = u.port ? Number(u.port) : 6379;
  const options: RedisOptions = {
    host,
    port,
    db,
    ...(u.username ? { username: decode(u.username, 'user name', url) } : {}),
    ...(u.password ? { password: decode(u.password, 'password', url) } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    ...extra,
  };
  if (u.protocol === 'rediss:' && extra.tls) options.tls = { ...extra.tls };
  return { kind: 'standalone', options, describe: `${host}:${port}` };
}

function decode(part: string, what: string, url: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(`the ${what} in connection URL ${quote(redactUrl(url))} has a '%' that is not URL encoding: URL-encode it, writing a literal '%' as %25`);
  }
}

/** A URL's scheme and `://`, when it opens with one. */
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The user:password part of a URL, read by hand (a password may hold characters URL parsing trips on). */
function authorityOf(url: string): string | undefined {
  const start = SCHEME.exec(url)?.[0].length ?? 0;
  const at = url.lastIndexOf('@');
  return at >= start ? url.slice(start, at) : undefined;
}

/**
 * A connection string safe to print: everything before its last '@' (after a `scheme://`, when it
 * opens with one) becomes `***`. It does not trust the string to be a well-formed URL:
 * `redis:pw@host`, `redis:/:pw@host` and `:pw@host` lose their password too.
 */
export function redactUrl(url: string): string {
  const at = url.lastIndexOf('@');
  if (at < 0) return url;
  const scheme = SCHEME.exec(url)?.[0] ?? '';
  return `${scheme.length <= at ? scheme : ''}***${url.slice(at)}`;
}

/** A redacted URL quoted for a message, cut when long. */
function quote(text: string): string {
  const json = JSON.stringify(text);
  return json.length <= 120 ? json : `${json.slice(0, 120)}... (${text.length} characters)`;
}
