import { defineHandlers, implement } from '@asyncq/worker';
import { sendEmail } from './tasks.js';

// A handler module: its default export is what a worker runs, by task name.
export default defineHandlers({
  [sendEmail.name]: implement(sendEmail, async ({ to, subject }, ctx) => {
    await ctx.log(`sending "${subject}" to ${to}`); // ctx also has id, attempt, signal, progress()
    return { messageId: `msg-${ctx.id}` };
  }),
});
