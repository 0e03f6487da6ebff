import { defineTask } from '@asyncq/core';

// One definition types both sides: what the producer sends and what the handler returns.
export const sendEmail = defineTask<{ to: string; subject: string }, { messageId: string }>('send-email');
