import type { Argv, CommandModule } from 'yargs';
import { connectRedis, type TaskState } from '@asyncq/core';
import { openReader } from '../queue-reader.js';
import { connectionOf, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';

interface InspectArgs extends GlobalOptions {
  queue: string;
  failed?: boolean;
  state?: TaskState;
  limit: number;
  json?: boolean;
}

/** Lists a queue's tasks in one state (failed ones with their errors). */
export async function inspect(argv: InspectArgs, ctx: CliContext): Promise<void> {
  const state: TaskState = argv.failed ? 'failed' : (argv.state ?? 'waiting');
  const client = await connectRedis(connectionOf(argv), { name: `asyncq:${argv.queue}` });
  const q = openReader(argv.queue, client, argv.prefix);
  try {
    const tasks = await q.admin.tasks(state, 0, argv.limit - 1);
    if (argv.json) {
      ctx.out(JSON.stringify(tasks));
      return;
    }
    const c = await q.admin.counts();
    ctx.out(`${argv.queue}: ${c.waiting} waiting, ${c.delayed} delayed, ${c.active} active, ${c.completed} completed, ${c.failed} failed; ${state}:`);
    if (tasks.length === 0) ctx.out('  (none)');
    for (const t of tasks) {
      const data = JSON.stringify(t.data);
      ctx.out(`  ${t.id} ${t.name} ${data.length > 60 ? `${data.slice(0, 57)}...` : data}${t.attemptsMade ? ` attempts=${t.attemptsMade}` : ''}`);
      if (t.error) ctx.out(`    error: ${t.error}`);
    }
  } finally {
    await q.close();
    client.disconnect();
  }
}

export function inspectCommand(ctx: CliContext): CommandModule<GlobalOptions, InspectArgs> {
  return {
    command: 'inspect <queue>',
    describe: 'list tasks in a state, failed ones with errors',
    builder: (y: Argv<GlobalOptions>) =>
      y
        .positional('queue', { type: 'string', demandOption: true })
        .option('failed', { type: 'boolean', describe: 'the failed tasks, with errors' })
        .option('state', { choices: ['waiting', 'delayed', 'active', 'completed', 'failed'] as const, describe: 'which state' })
        .option('limit', { type: 'number', default: 20 })
        .option('json', { type: 'boolean' }) as unknown as Argv<InspectArgs>,
    handler: wrapHandler(ctx, inspect),
  };
}
