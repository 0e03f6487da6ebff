import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { CliError } from '../cli-context.js';

/** A user name and password the dashboard asks for. */
export interface BasicCredentials {
  user: string;
  password: string;
}

/**
 * Reads `user:password` (from `--auth` or `ASYNCQ_DASHBOARD_AUTH`); the password may contain
 * colons, the user name may not (RFC 7617). The message on a mistake never repeats the value.
 */
export function parseCredentials(text: string): BasicCredentials {
  const at = text.indexOf(':');
  const user = at < 0 ? '' : text.slice(0, at);
  const password = at < 0 ? '' : text.slice(at + 1);
  if (!user || !password) throw new CliError('--auth (or ASYNCQ_DASHBOARD_AUTH) must be user:password, both non-empty');
  return { user, password };
}

/** Compares in time that does not depend on where the texts differ. */
function same(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/** Express middleware that answers 401 unless the request carries `credentials` (HTTP basic auth). */
export function basicAuth(credentials: BasicCredentials): (req: Request, res: Response, next: NextFunction) => void {
  return (req, res, next) => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    const given = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const at = given.indexOf(':');
    // Both compared every time, so a wrong user name takes as long as a wrong password.
    const userOk = same(at < 0 ? '' : given.slice(0, at), credentials.user);
    const passwordOk = same(at < 0 ? '' : given.slice(at + 1), credentials.password);
    if (m && at >= 0 && userOk && passwordOk) return next();
    res
      .status(401)
      .set('WWW-Authenticate', 'Basic realm="asyncq dashboard", charset="UTF-8"')
      .type('text/plain')
      .send('authentication required: this dashboard was started with --auth\n');
  };
}
