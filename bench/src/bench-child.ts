/**
 * One timed phase of `pnpm bench` or `pnpm bench:soak`, in a process of its own. argv[2] is a
 * JSON {@link ChildSpec}. Only the engine measured is loaded, so the process's RSS is its own.
 */
import { ChildContext, send } from './child-context.js';
import type { ChildSpec } from './protocol.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as ChildSpec;
const fail = (e: unknown): void => {
  send({ event: 'error', message: e instanceof Error ? e.message : String(e) });
  process.exitCode = 1;
  // The message must leave before the process does.
  setTimeout(() => process.exit(1), 100).unref();
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

try {
  const ctx = new ChildContext(spec);
  if (spec.engine === 'asyncq') await (await import('./child-asyncq.js')).runAsyncq(ctx);
  else if (spec.engine === 'bullmq') await (await import('./child-bullmq.js')).runBullmq(ctx);
  else await (await import('./child-bee.js')).runBee(ctx);
  process.disconnect?.();
} catch (e) {
  fail(e);
}
