import type { NextFunction, Request, Response } from 'express';
import { CliError } from '../cli-error.js';

/** Which `Host` names the dashboard answers to, and which origins may change something. */
export interface HostAllowList {
  /** Names and addresses allowed in `Host` (lowercase; IPv6 in brackets). */
  readonly names: ReadonlySet<string>;
  /** Any IP address is allowed in `Host` (bound to every interface). */
  readonly anyAddress: boolean;
  /** The names given by the user (`--allowed-host`): also allowed as an `Origin` on any port, for a reverse proxy. */
  readonly given: ReadonlySet<string>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost)$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;
const IPV6 = /^\[[0-9a-f:.]+\]$/;
const WILDCARD = /^(0\.0\.0\.0|\[::\])$/;
// A DNS name (letters, digits, hyphens, dots), an IPv4 address or a bracketed IPv6 address.
const HOST_NAME = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

/** A host name as compared: lowercase, IPv6 in brackets, no trailing dot. */
function normal(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/**
 * The names a dashboard bound to `bindHost` answers to: that address; `localhost`, `127.0.0.1` and
 * `[::1]` when it is a loopback address; any IP address (and `localhost`) when it is every
 * interface (`0.0.0.0`, `::`); and the names given. A DNS rebinding attack reaches the dashboard
 * under a name of the attacker's, which is none of these: an IP address in `Host` can only come
 * from a page of that very address.
 */
export function hostAllowList(bindHost: string, given: readonly string[] = []): HostAllowList {
  const bind = normal(bindHost);
  const names = new Set([bind]);
  if (LOOPBACK.test(bind) || WILDCARD.test(bind)) for (const n of ['localhost', '127.0.0.1', '[::1]']) names.add(n);
  const extra = new Set<string>();
  for (const raw of given) {
    const n = normal(raw);
    if (!HOST_NAME.test(n) && !IPV6.test(n)) {
      throw new CliError(`--allowed-host takes a host name or address such as dash.example.com, without scheme, port or path; got ${JSON.stringify(raw.slice(0, 100))}`);
    }
    names.add(n);
    extra.add(n);
  }
  return { names, anyAddress: WILDCARD.test(bind), given: extra };
}

/** The allowed host names given in `ASYNCQ_DASHBOARD_ALLOWED_HOSTS` (comma-separated) or `--allowed-host` (repeatable, or comma-separated). */
export function allowedHostsOf(flag: readonly string[] | string | undefined, env: string | undefined): string[] {
  const given = flag === undefined ? [] : Array.isArray(flag) ? flag : [String(flag)];
  const source = given.length > 0 ? given : env ? [env] : [];
  return source.flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}

/** `host[:port]` split, the name normalized; undefined when it is not a host at all. */
function splitHost(text: string): { name: string; port: string } | undefined {
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(text.trim());
  return m && m[1] ? { name: normal(m[1]), port: m[2] ?? '' } : undefined;
}

/** A header value fit to quote in a one-line reason. */
function quote(text: string): string {
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}...` : text);
}

/**
 * Express middleware in front of everything: a request whose `Host` is not on the allow-list gets
 * 403 (DNS rebinding), and a request that may change something (any method but GET and HEAD, API
 * routes and bull-board's included) gets 403 unless its `Origin` (or, without one, its `Referer`)
 * is this dashboard itself: the same host and port as the request, or a name given with
 * `--allowed-host`. Browsers send `Origin` with every such request, and no page of another site
 * can forge it. Each refusal says why in one line.
 */
export function requestGuard(allow: HostAllowList): (req: Request, res: Response, next: NextFunction) => void {
  const shown = [...allow.names].join(', ') + (allow.anyAddress ? ', any IP address' : '');
  return (req, res, next) => {
    const hostHeader = req.headers.host ?? '';
    const host = splitHost(hostHeader);
    if (!host || !(allow.names.has(host.name) || (allow.anyAddress && (IPV4.test(host.name) || IPV6.test(host.name))))) {
      return refuse(req, res, `this dashboard answers to ${shown}, not to the host ${quote(hostHeader)}: add a name with --allowed-host (or ASYNCQ_DASHBOARD_ALLOWED_HOSTS)`);
    }
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const from = req.headers.origin ?? req.headers.referer;
    if (from === undefined) {
      return refuse(req, res, `a ${req.method} must come from this dashboard's own page: the request has no Origin header (from a script, send Origin: http://${hostHeader})`);
    }
    let origin: URL | undefined;
    try {
      origin = new URL(from);
    } catch {
      origin = undefined;
    }
    const sameOrigin = origin && /^https?:$/.test(origin.protocol) && splitHost(origin.host)?.name === host.name && samePort(origin, host.port);
    const proxied = origin && /^https?:$/.test(origin.protocol) && allow.given.has(normal(origin.hostname));
    if (!sameOrigin && !proxied) {
      return refuse(req, res, `a ${req.method} must come from this dashboard's own page, not from ${quote(origin ? origin.origin : from)}`);
    }
    next();
  };
}

/** Whether `origin`'s port (its scheme's default when absent) is `port` (80 when absent: `Host` omits the default). */
function samePort(origin: URL, port: string): boolean {
  const originPort = origin.port || (origin.protocol === 'https:' ? '443' : '80');
  return originPort === (port || (origin.protocol === 'https:' ? '443' : '80'));
}

function refuse(req: Request, res: Response, reason: string): void {
  res.status(403).set('Cache-Control', 'no-store');
  if (/^\/(board\/)?api(\/|$)/.test(req.path)) res.json({ error: reason, message: reason });
  else res.type('text/plain').send(`${reason}\n`);
}

/** A query parameter as one text ("" when absent or given twice). */
export function queryText(req: Request, name: string): string {
  const v = new URLSearchParams(req.url.slice(req.url.indexOf('?') + 1 || req.url.length)).getAll(name);
  return v.length === 1 ? v[0]! : '';
}
