import { AsyncqError } from '../errors.js';
import { RedisOutOfMemory, RedisRefused, RedisUnreachable } from '../server-errors.js';
import type { RedisTarget } from './connection.js';

/**
 * The asyncq error for a Redis failure: refusals become {@link RedisRefused}, lost connections and
 * timeouts {@link RedisUnreachable}; `undefined` for anything else (a script or data error).
 */
export function toAsyncqError(e: unknown, target: RedisTarget): AsyncqError | undefined {
  if (e instanceof AsyncqError) return e;
  const msg = String((e as Error)?.message ?? e);
  if (/WRONGPASS|NOAUTH|invalid password|AUTH.*without any password/i.test(msg)) {
    return new RedisRefused(
      `Redis at ${target.describe} refused the password (${firstWord(msg)}): check the user and password in the URL or REDIS_URL`,
      e,
    );
  }
  if (/DB index is out of range|invalid DB index/i.test(msg)) {
    return new RedisRefused(`Redis at ${target.describe} has no such database (${msg.trim()}): use a database number it has, e.g. /0`, e);
  }
  const code = String((e as { code?: string })?.code ?? '');
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
    return new RedisRefused(
      `cannot trust the TLS certificate of Redis at ${target.describe} (${code}): give its CA with the connection { url, tls: { ca } } (asyncq --redis-ca <file>)`,
      e,
    );
  }
  const refusal = aclRefusal(msg, (e as { command?: { name?: string } })?.command?.name);
  if (refusal) return new RedisRefused(`Redis at ${target.describe} ${refusal}: grant the user the ACL in asyncq's README ("Redis permissions")`, e);
  if (/^OOM /.test(msg)) return new RedisOutOfMemory(target.describe, e);
  if (isTransient(e)) return new RedisUnreachable(target.describe, errorDetail(e), e);
  return undefined;
}

/**
 * True for failures that a later retry can get past: a lost or refused connection, a timeout, a
 * Redis still loading its data, a cluster mid-failover.
 */
export function isTransient(e: unknown): boolean {
  if (e instanceof RedisUnreachable) return true;
  const err = e as { code?: string; message?: string; name?: string };
  if (err?.name === 'MaxRetriesPerRequestError') return true;
  if (err?.code && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|ENETUNREACH)$/.test(err.code)) return true;
  return /Command timed out|Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Failed to refresh slots|None of startup nodes is available|Connection in subscriber mode/i.test(
    String(err?.message ?? ''),
  ) || isUnsent(e);
}

/**
 * True for refusals that say the command did not run: a server still loading, a cluster slot
 * moving or mid-failover (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, too many redirections), a replica
 * that does not take writes. Sending it elsewhere, or again, cannot run it twice.
 */
export function isUnsent(e: unknown): boolean {
  const unsent = /^(LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|MOVED|ASK)\b|Too many Cluster redirections/i;
  for (let err = e as { message?: unknown; cause?: unknown } | undefined, depth = 0; err && depth < 3; err = err.cause as typeof err, depth++) {
    if (unsent.test(String(err.message ?? ''))) return true;
  }
  return false;
}

function firstWord(msg: string): string {
  return msg.trim().split(/\s/)[0] ?? msg;
}

export function errorDetail(e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (/Command timed out/.test(err?.message ?? '')) return 'no answer in time';
  return err?.code ?? err?.message ?? String(e);
}

/**
 * What an ACL refusal says, naming the command: NOPERM for a command, a key or a channel (also as
 * the reason of an EXECABORT), and the errors Redis gives for the same inside a script.
 */
function aclRefusal(msg: string, command: string | undefined): string | undefined {
  const named = /no permissions to run the '([^']+)' command/i.exec(msg)?.[1];
  const cmd = (named ?? command ?? 'a command').toUpperCase();
  if (named) return `does not let this user run ${cmd} (NOPERM)`;
  if (/NOPERM.*keys/i.test(msg)) return `does not let this user run ${cmd} on these keys (NOPERM: the ACL's key pattern must cover asyncq's prefix, e.g. ~asyncq:*)`;
  if (/NOPERM.*channels/i.test(msg)) return `does not let this user run ${cmd} on this queue's channel (NOPERM: the ACL needs its channels, e.g. &*)`;
  if (/NOPERM/i.test(msg)) return `refused ${cmd} (${msg.trim().slice(0, 200)})`;
  const inScript = /The user executing the script can't (run this command or subcommand|access at least one of the keys|publish to the channel)/i.exec(msg)?.[1];
  if (!inScript) return undefined;
  const what = /^run/.test(inScript) ? 'a command' : /keys/.test(inScript) ? 'a command on a key outside its key pattern' : 'a publish on a channel outside its channel pattern';
  return `does not let this user run ${what} inside a script (${cmd})`;
}

/**
 * Runs `call` again while Redis refuses it unrun (a cluster failing over or resharding, a server
 * loading: see {@link isUnsent}), for up to `ms`, then throws the refusal: a handle's first call
 * during a failover rides it out, as puts do, instead of failing.
 */
export async function retryUnsent<R>(call: () => Promise<R>, ms: number): Promise<R> {
  const started = Date.now();
  for (let round = 0; ; round++) {
    try {
      return await call();
    } catch (e) {
      if (!isUnsent(e) || Date.now() - started > ms) throw e;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** round, 1000)));
    }
  }
}
