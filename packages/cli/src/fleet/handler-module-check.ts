import { spawn } from 'node:child_process';
import { CliError } from '../cli-error.js';
import { commandHint, printable } from '../terminal-text.js';

const BIN = new URL('../bin.js', import.meta.url).pathname;
/** Node's own start-up, on top of the module's load timeout, before the check is given up. */
const START_MARGIN_MS = 10_000;

/**
 * Loads the handler module `path` in a child process (`asyncq check-handlers`) and resolves when
 * it loaded, or throws one {@link CliError} line saying why not. The fleet supervisor never imports
 * the module itself: a module that calls `process.exit()`, or never finishes loading, would
 * otherwise end or hang the supervisor.
 */
export async function checkHandlerModule(path: string, timeoutMs: number): Promise<void> {
  // The same environment as the fleet's workers: the module may read its settings from it.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ASYNCQ_')));
  const child = spawn(process.execPath, [BIN, 'check-handlers', path, '--load-timeout', `${timeoutMs}ms`], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-8192);
  });
  let timedOut = false;
  const limit = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs + START_MARGIN_MS);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.once('error', () => resolve([null, null]));
    child.once('exit', (c, s) => resolve([c, s]));
  }).finally(() => clearTimeout(limit));
  if (code === 0) return;
  if (timedOut) throw new CliError(`handler module ${printable(path)} did not finish loading within ${(timeoutMs + START_MARGIN_MS) / 1000} s; make it load faster, or allow longer with --load-timeout`);
  const ours = stderr.split('\n').filter((l) => l.startsWith('asyncq: ')).at(-1);
  if (ours) throw new CliError(printable(ours.slice('asyncq: '.length)));
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  throw new CliError(`handler module ${printable(path)} could not be loaded: the process loading it ${how} without saying why; run ${commandHint('asyncq', 'worker', path, '-q', '<queue>')} to see its output`);
}
