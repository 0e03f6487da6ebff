// The handler module `asyncq demo` runs: each task sleeps for the milliseconds it carries.
import { defineHandlers } from '@asyncq/worker';

export default defineHandlers({
  sleep: async (data: { ms: number }, ctx) =>
    new Promise<{ slept: number }>((resolve, reject) => {
      const t = setTimeout(() => resolve({ slept: data.ms }), data.ms);
      ctx.signal.addEventListener('abort', () => (clearTimeout(t), reject(ctx.signal.reason)), { once: true });
    }),
});
