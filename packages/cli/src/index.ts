/**
 * `@asyncq/cli`: the `asyncq` command line, and its parts as functions.
 *
 * @example
 * ```ts
 * import { main } from '@asyncq/cli';
 * process.exitCode = await main(['stats', '--redis-url', 'redis://127.0.0.1:6379']);
 * ```
 *
 * @packageDocumentation
 */
export { main } from './cli.js';
export { FleetSupervisor, type FleetOptions } from './fleet/fleet-supervisor.js';
export { queueMetricsRegistry } from './commands/metrics.js';
export { processContext, type CliContext, type GlobalOptions } from './cli-context.js';
