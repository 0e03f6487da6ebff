import type { Argv, MiddlewareFunction } from 'yargs';

/** Variables that are not flags, or that connection-flags.ts reads with its own precedence rules. */
const NOT_FLAGS = /^ASYNCQ_(DEBUG|FLEET_WORKER|DASHBOARD_AUTH|REDIS_.*|PREFIX)$/;

/**
 * Configuration is flags, then `ASYNCQ_*` environment variables: `ASYNCQ_WORKERS=4` is `-w 4`
 * for a command that has `--workers`. Only options the running command has are filled, and only
 * when the command line did not give them, so any other `ASYNCQ_*` variable (another tool's, or
 * one meant for another command) is left alone instead of failing the command as an unknown flag.
 */
export function flagsFromEnvironment<T>(y: Argv<T>, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Argv<T> {
  // yargs passes the running command's instance as the second argument; its types omit it.
  const fill = (argv: Record<string, unknown>, command: unknown): void => {
    const options = (command as unknown as { getOptions(): { key: Record<string, unknown>; alias: Record<string, string[]> } }).getOptions();
    for (const [name, value] of Object.entries(env)) {
      if (!name.startsWith('ASYNCQ_') || NOT_FLAGS.test(name) || value === undefined || value === '') continue;
      const kebab = name.slice('ASYNCQ_'.length).toLowerCase().replace(/_/g, '-');
      const camel = kebab.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (!(kebab in options.key) && !(camel in options.key)) continue;
      const spellings = [kebab, camel, ...(options.alias[kebab] ?? []), ...(options.alias[camel] ?? [])];
      const onCommandLine = args.some((a) => spellings.some((s) => (s.length === 1 ? a === `-${s}` : a === `--${s}` || a.startsWith(`--${s}=`) || a === `--no-${s}`)));
      if (onCommandLine) continue;
      argv[kebab] = value;
      argv[camel] = value;
    }
  };
  return y.middleware(fill as unknown as MiddlewareFunction<T>, true);
}
