import { AsyncqError } from '@asyncq/core';
import { redactUrl } from '@asyncq/core/internal';
import { CliError } from './cli-error.js';
import { quoted } from './terminal-text.js';
import type { ConnectionFlags } from './grammar/connection-flags.js';

export { CliError } from './cli-error.js';
export { connectionOf } from './grammar/connection-flags.js';

/** Options every command has: where Redis is, and the key prefix. */
export interface GlobalOptions extends ConnectionFlags {}

/** Where a command writes, and the exit code it leaves; tests run commands with their own. */
export interface CliContext {
  out(line: string): void;
  err(line: string): void;
  /** True when stdout is a terminal: live views and progress bars, else plain lines. */
  readonly tty: boolean;
  exitCode: number;
}

/** The process's own streams. */
export function processContext(): CliContext {
  return {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    tty: Boolean(process.stdout.isTTY),
    exitCode: 0,
  };
}

/** How {@link wrapHandler} words what it reports. */
export interface WrapOptions {
  /** The flag that picks a port, for "port N is in use". @defaultValue '--port' */
  portFlag?: string;
  /** The flag that picks the address to listen on, for a command that serves HTTP: "cannot listen on X". */
  hostFlag?: string;
}

/**
 * Gives every command the same error handling: an asyncq error (a user mistake, an unreachable
 * or refusing Redis) is its own one line and exit code 1 (or the CliError's); a port in use says
 * which flag picks another; anything else is reported as a bug, with the stack only when
 * ASYNCQ_DEBUG is set. No line it prints carries a password from the connection settings.
 */
export function wrapHandler<A extends Partial<ConnectionFlags>>(ctx: CliContext, run: (argv: A, ctx: CliContext) => Promise<void>, opts: WrapOptions = {}): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      await run(argv, ctx);
    } catch (e) {
      ctx.exitCode = e instanceof CliError ? e.exitCode : 1;
      ctx.err(redactSecrets(`asyncq: ${describeFailure(e, opts)}`, argv));
    }
  };
}

function describeFailure(e: unknown, opts: WrapOptions): string {
  if (e instanceof AsyncqError) return e.message;
  const err = e as NodeJS.ErrnoException & { port?: number; address?: string; hostname?: string };
  const portFlag = opts.portFlag ?? '--port';
  if (err?.code === 'EADDRINUSE') return `port ${err.port ?? '?'} on ${err.address ?? 'this host'} is in use: choose another with ${portFlag}`;
  if (err?.code === 'EACCES' && err.syscall === 'listen') return `port ${err.port ?? '?'} needs privileges this process lacks: choose one above 1023 with ${portFlag}`;
  if (err?.code === 'ERR_SOCKET_BAD_PORT') return `a port is a whole number from 0 to 65535: choose one with ${portFlag}`;
  if (opts.hostFlag && err?.syscall === 'getaddrinfo') return `cannot listen on ${quoted(err.hostname ?? '?')}: no such host name; choose an address of this host with ${opts.hostFlag}, e.g. 127.0.0.1`;
  if (opts.hostFlag && (err?.code === 'EADDRNOTAVAIL' || err?.code === 'EAFNOSUPPORT')) {
    return `cannot listen on ${quoted(err.address ?? '?')}: it is not an address of this host; choose one with ${opts.hostFlag}, e.g. 127.0.0.1 or 0.0.0.0`;
  }
  const debug = debugEnabled();
  return `unexpected error: ${err?.message ?? String(e)}${debug ? `\n${err?.stack ?? ''}` : ' (set ASYNCQ_DEBUG=1 for details)'}`;
}

/** ASYNCQ_DEBUG set to anything but empty, 0 or false. */
export function debugEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.ASYNCQ_DEBUG;
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * `text` with every password the connection settings hold replaced by `***`: whole settings by
 * their redacted form, then the credentials alone (raw and URL-decoded), wherever a message quoted
 * them. A setting need not be a well-formed URL (`redis:pw@host`, `:pw@host`, a cluster entry
 * `//user:pw@host:1`): whatever precedes an '@' counts as credentials.
 */
export function redactSecrets(text: string, argv: Partial<ConnectionFlags> = {}, env: NodeJS.ProcessEnv = process.env): string {
  const settings = [argv.redisUrl, argv.redisCluster, argv.redisSentinels, env.ASYNCQ_REDIS_URL, env.ASYNCQ_REDIS_CLUSTER, env.ASYNCQ_REDIS_SENTINELS, env.REDIS_URL];
  const urls = settings.flatMap((u) => (typeof u === 'string' && u !== '' ? [u, ...u.split(',').map((e) => e.trim())] : []));
  const secrets = new Set<string>();
  for (const url of urls.sort((a, b) => b.length - a.length)) {
    if (!url.includes('@')) continue;
    text = text.split(url).join(redactUrl(url));
    const auth = url.slice(url.match(/^[a-z][a-z0-9+.-]*:\/\//i)?.[0].length ?? 0, url.lastIndexOf('@'));
    const password = auth.includes(':') ? auth.slice(auth.indexOf(':') + 1) : auth;
    for (const s of [auth, password]) {
      secrets.add(s);
      try {
        secrets.add(decodeURIComponent(s));
      } catch {
        // not URL encoding: the raw form is the one a message can quote
      }
    }
  }
  if (env.ASYNCQ_REDIS_PASSWORD) secrets.add(env.ASYNCQ_REDIS_PASSWORD);
  // Longest first, so a password that contains another is replaced whole; very short ones would
  // blank out ordinary words, and no message quotes them on their own.
  for (const s of [...secrets].filter((x) => x.length >= 4).sort((a, b) => b.length - a.length)) text = text.split(s).join('***');
  return text;
}

/** Parses a whole number argument, or throws a CliError saying what is allowed and what was given. */
export function wholeNumber(what: string, value: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const text = typeof value === 'string' ? value.trim() : typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
  const n = text !== undefined && /^[-+]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`;
    throw new CliError(`${what} must be ${range}, got ${value === undefined ? 'nothing' : quoted(typeof value === 'number' ? String(value) : value)}`);
  }
  return n;
}

/** Resolves after the first SIGTERM or SIGINT (or `orUntil`), once `stop` has run: long-running commands end this way. */
export function untilStopSignal(stop: () => Promise<void>, orUntil?: Promise<void>): Promise<void> {
  return new Promise<void>((done) => {
    let stopping = false;
    const onSignal = (): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      void stop().then(done);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // The command's own work may end it too (a fleet whose queue was shut down), as a signal would.
    void orUntil?.then(onSignal);
  });
}
