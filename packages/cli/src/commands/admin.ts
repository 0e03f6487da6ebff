import type { Argv, CommandModule } from 'yargs';
import { CliError, wrapHandler, type CliContext, type GlobalOptions } from '../cli-context.js';
import { queuePositional } from '../grammar/queue-flag.js';
import { withQueue, type OpenQueue } from '../queues/queue-reader.js';
import { commandHint, printable } from '../terminal-text.js';

interface QueueArgs extends GlobalOptions {
  queue: string;
}

interface TaskArgs extends QueueArgs {
  id: string;
}

/** `asyncq pause <queue>`: workers take no new tasks; running ones finish and puts still go in. */
export async function pause(argv: QueueArgs, ctx: CliContext): Promise<void> {
  await withQueue(argv, argv.queue, (q) => q.admin.pause());
  const name = printable(argv.queue);
  ctx.out(`${name}: paused: workers take no new tasks (running ones finish, puts still go in); ${commandHint('asyncq', 'resume', argv.queue)} resumes`);
}

/** `asyncq resume <queue>`: delivery again after `pause`. */
export async function resume(argv: QueueArgs, ctx: CliContext): Promise<void> {
  await withQueue(argv, argv.queue, (q) => q.admin.resume());
  ctx.out(`${printable(argv.queue)}: resumed`);
}

/** `asyncq remove <queue> <id>`: one task that is not running, gone for good. */
export async function remove(argv: TaskArgs, ctx: CliContext): Promise<void> {
  const id = String(argv.id);
  await withQueue(argv, argv.queue, async (q) => {
    const task = await taskOrFail(q, id);
    if (task.state === 'active') throw new CliError(`task ${printable(id)} of ${printable(argv.queue)} is running: remove it once it has finished or failed`);
    if (!(await q.admin.remove(id))) throw new CliError(`task ${printable(id)} of ${printable(argv.queue)} could not be removed: it started running meanwhile`);
    ctx.out(`${printable(argv.queue)}: removed task ${printable(id)} (it was ${task.state})`);
  });
}

/** `asyncq promote <queue> <id>`: a delayed task is ready now. */
export async function promote(argv: TaskArgs, ctx: CliContext): Promise<void> {
  const id = String(argv.id);
  await withQueue(argv, argv.queue, async (q) => {
    if (!(await q.admin.promote(id))) {
      const task = await taskOrFail(q, id);
      throw new CliError(`task ${printable(id)} of ${printable(argv.queue)} is ${task.state}, not delayed: only a delayed task can be promoted`);
    }
    ctx.out(`${printable(argv.queue)}: task ${printable(id)} is ready now`);
  });
}

async function taskOrFail(q: OpenQueue, id: string): Promise<{ state: string }> {
  const task = await q.admin.task(id);
  if (!task) throw new CliError(`queue ${JSON.stringify(printable(q.name))} has no task ${JSON.stringify(printable(id))} (never put, or finished and no longer kept)`);
  return task;
}

const taskPositional = (y: Argv<GlobalOptions>) => queuePositional(y).positional('id', { type: 'string', demandOption: true, describe: 'task id (asyncq inspect lists them)' });

/** pause, resume, remove and promote. */
export function adminCommands(ctx: CliContext): CommandModule<GlobalOptions, any>[] {
  return [
    { command: 'pause <queue>', describe: 'stop handing out tasks; puts still go in', builder: queuePositional, handler: wrapHandler(ctx, pause) as never },
    { command: 'resume <queue>', describe: 'hand out tasks again after pause', builder: queuePositional, handler: wrapHandler(ctx, resume) as never },
    { command: 'remove <queue> <id>', describe: 'remove one task that is not running', builder: taskPositional, handler: wrapHandler(ctx, remove) as never },
    { command: 'promote <queue> <id>', describe: 'make a delayed task ready now', builder: taskPositional, handler: wrapHandler(ctx, promote) as never },
  ];
}
