import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { CliError } from '../cli-error.js';
import { LoginThrottle } from './login-throttle.js';

/** A user name and password the dashboard asks for. */
export interface BasicCredentials {
  user: string;
  password: string;
}

/**
 * Reads `user:password` (from `--auth` or `ASYNCQ_DASHBOARD_AUTH`); the password may contain
 * colons, the user name may not (RFC 7617). The message on a mistake never repeats the value.
 */
export function parseCredentials(text: string, flag = '--auth (or ASYNCQ_DASHBOARD_AUTH)'): BasicCredentials {
  const at = text.indexOf(':');
  const user = at < 0 ? '' : text.slice(0, at);
  const password = at < 0 ? '' : text.slice(at + 1);
  if (!user || !password) throw new CliError(`${flag} must be user:password, both non-empty`);
  return { user, password };
}

/** Compares in time that does not depend on where the texts differ. */
function same(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Express middleware that answers 401 unless the request carries `credentials` (HTTP basic auth),
 * the admin's, or `readOnly`'s when given: it sets `res.locals.role` to `admin` or `read`, and the
 * routes behind refuse every change to `read`.
 * Failed logins are throttled per client address (see {@link LoginThrottle}): a client that must
 * wait gets 429 with `Retry-After`, its credentials unchecked. A request without credentials (a
 * browser's first, before it asks the user) is not a failed login.
 */
export function basicAuth(credentials: BasicCredentials, readOnly?: BasicCredentials, throttle = new LoginThrottle()): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const header = req.headers.authorization;
    const client = req.socket.remoteAddress ?? 'unknown';
    const waitMs = header === undefined ? 0 : throttle.waitMs(client);
    if (waitMs > 0) return void tooMany(res, waitMs);
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const at = given.indexOf(':');
    // Both compared every time (and both users), so a wrong user name takes as long as a wrong password.
    const matches = (c: BasicCredentials): boolean => {
      const userOk = same(at < 0 ? '' : given.slice(0, at), c.user);
      const passwordOk = same(at < 0 ? '' : given.slice(at + 1), c.password);
      return userOk && passwordOk;
    };
    const isAdmin = matches(credentials);
    const isReader = readOnly ? matches(readOnly) : false;
    if (m && at >= 0 && (isAdmin || isReader)) {
      throttle.succeeded(client);
      res.locals.role = isAdmin ? 'admin' : 'read';
      return next();
    }
    if (header !== undefined) throttle.failed(client);
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="asyncq dashboard", charset="UTF-8"')
      .type('text/plain')
      .send('authentication required: this dashboard was started with --auth\n');
  };
}

function tooMany(res: Response, waitMs: number): void {
  const seconds = Math.ceil(waitMs / 1000);
  res
    .status(429)
    .set('Retry-After', String(seconds))
    .type('text/plain')
    .send(`too many failed logins from this address: try again in ${seconds} s\n`);
}
