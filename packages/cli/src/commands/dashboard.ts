import type { Argv } from 'yargs';
import { redactUrl } from '@asyncq/core/internal';
import { connectionOf, untilStopSignal, wholeNumber, type CliContext, type GlobalOptions } from '../cli-context.js';
import { defineCommand } from '../grammar/command.js';
import { parseDuration } from '../grammar/durations.js';
import { CliError } from '../cli-error.js';
import { parseCredentials } from '../dashboard/basic-auth.js';
import { allowedHostsOf, hostAllowList } from '../dashboard/request-guard.js';

interface DashboardArgs extends GlobalOptions {
  port: string;
  host: string;
  allowActions?: boolean;
  auth?: string;
  readAuth?: string;
  allowActionsWithoutAuth?: boolean;
  allowedHost?: string[];
  interval: string;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/**
 * `asyncq dashboard`: bull-board over every queue plus asyncq's own page (join, maxsize gate,
 * shutdown, workers against the desired count, drain time, throughput) and a JSON API, until
 * SIGTERM or SIGINT. Read-only unless `--allow-actions`; basic auth with `--auth` or
 * `ASYNCQ_DASHBOARD_AUTH` (the environment variable keeps the password out of the process list).
 */
export async function dashboard(argv: DashboardArgs, ctx: CliContext): Promise<void> {
  const port = wholeNumber('--port', argv.port, 0, 65_535);
  const intervalMs = parseDuration(argv.interval, { flag: '--interval', bare: 's', min: 500, max: 60_000, warn: ctx.err });
  // An empty value is a mistake, not "no auth": a variable set from a secret store that came back
  // empty must not open the dashboard to everyone.
  if (process.env.ASYNCQ_DASHBOARD_AUTH === '' && argv.auth === undefined) {
    throw new CliError('ASYNCQ_DASHBOARD_AUTH is set but empty: set it to user:password, or unset it for a dashboard without auth');
  }
  const authText = argv.auth ?? process.env.ASYNCQ_DASHBOARD_AUTH;
  const auth = authText === undefined ? undefined : parseCredentials(authText);
  if (process.env.ASYNCQ_DASHBOARD_READ_AUTH === '' && argv.readAuth === undefined) {
    throw new CliError('ASYNCQ_DASHBOARD_READ_AUTH is set but empty: set it to user:password, or unset it');
  }
  const readText = argv.readAuth ?? process.env.ASYNCQ_DASHBOARD_READ_AUTH;
  const readAuth = readText === undefined ? undefined : parseCredentials(readText, '--read-auth (or ASYNCQ_DASHBOARD_READ_AUTH)');
  if (readAuth && !auth) throw new CliError('--read-auth needs --auth (or ASYNCQ_DASHBOARD_AUTH): the admin user beside the read-only one');
  if (readAuth && auth && readAuth.user === auth.user) throw new CliError('--read-auth and --auth name the same user: give the read-only user another name');
  if (!argv.host.trim()) throw new CliError('--host is empty: give the address to listen on, e.g. 127.0.0.1 (0.0.0.0 for every interface, with --auth)');
  const allowedHosts = allowedHostsOf(argv.allowedHost, process.env.ASYNCQ_DASHBOARD_ALLOWED_HOSTS);
  hostAllowList(argv.host, allowedHosts); // a bad name is one line before Redis is reached
  const actions = Boolean(argv.allowActions);
  if (actions && !auth && !LOOPBACK.test(argv.host) && !argv.allowActionsWithoutAuth) {
    throw new CliError(`--allow-actions on ${argv.host} without --auth would let anyone who reaches the port remove tasks: add --auth, or --allow-actions-without-auth if a proxy in front authenticates`);
  }
  const connection = connectionOf(argv);
  // Loaded here, not with the CLI: express and bull-board would slow every other command's start.
  const { BOARD_PATH, startDashboard } = await import('../dashboard/dashboard-server.js');
  const running = await startDashboard({ connection, prefix: argv.prefix, port, host: argv.host, actions, auth, readAuth, allowedHosts, intervalMs });
  const mode = [
    actions ? 'actions allowed' : 'read-only',
    auth ? `basic auth: ${auth.user} (admin)${readAuth ? `, ${readAuth.user} (read-only)` : ''}` : 'no auth',
  ].join(', ');
  ctx.out(`asyncq dashboard on ${running.url} (bull-board at ${running.url.replace(/\/$/, '')}${BOARD_PATH}/; ${mode}; Redis ${typeof connection === 'string' ? redactUrl(connection) : 'from options'}, prefix ${argv.prefix})`);
  if (!auth && !LOOPBACK.test(argv.host)) ctx.err(`asyncq: warning: listening on ${argv.host} without --auth: anyone who reaches this port can read task data`);
  await untilStopSignal(() => running.close());
}

/** The `asyncq dashboard` command, writing to `ctx`. */
export function dashboardCommand(ctx: CliContext) {
  return defineCommand(ctx, {
    command: 'dashboard',
    describe: 'web UI: bull-board over every queue plus asyncq page (join, maxsize, workers, drain time); GET /api/queues as JSON',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .option('port', { alias: 'p', type: 'string', default: '3000', describe: 'port to listen on (0 picks a free one)' })
        .option('host', { type: 'string', default: '127.0.0.1', describe: 'address to bind (0.0.0.0 exposes it: use --auth then)' })
        .option('allow-actions', { type: 'boolean', default: false, describe: 'buttons for every admin verb: retry, remove, promote, cancel, pause, resume, purge, clean, scale, shutdown, reopen (read-only otherwise)' })
        .option('auth', { type: 'string', describe: 'admin user:password for HTTP basic auth (may act with --allow-actions); prefer $ASYNCQ_DASHBOARD_AUTH (argv is visible to ps)' })
        .option('read-auth', { type: 'string', describe: 'a second user:password who may only look (needs --auth); prefer $ASYNCQ_DASHBOARD_READ_AUTH' })
        .option('allow-actions-without-auth', { type: 'boolean', default: false, describe: 'start --allow-actions on a non-loopback --host without --auth (a proxy in front authenticates)' })
        .option('allowed-host', {
          type: 'string',
          array: true,
          describe: 'a host name the dashboard answers to besides its address, e.g. behind a proxy (repeatable; or $ASYNCQ_DASHBOARD_ALLOWED_HOSTS, comma-separated)',
        })
        .option('interval', { type: 'string', default: '2s', describe: 'how often queues are read (500ms to 1m)' }),
    run: dashboard, errors: { hostFlag: '--host' },
  });
}
