/**
 * `@asyncq/producer`: enqueue tasks from application code.
 *
 * @example
 * ```ts
 * import { Producer } from '@asyncq/producer';
 * import { defineTask } from '@asyncq/core';
 *
 * const sendEmail = defineTask<{ to: string }, { sent: string }>('send');
 * const producer = new Producer({ queue: 'emails', connection: 'redis://127.0.0.1:6379' });
 * const ref = await producer.enqueue(sendEmail, { to: 'a@b.c' }, { attempts: 3 });
 * const { sent } = await ref.result({ timeout: 30_000 }); // throws TaskFailed with the remote error
 * await producer.close();
 * ```
 *
 * @packageDocumentation
 */
export {
  Producer,
  type ProducerOptions,
  type EnqueueOptions,
  type EnqueueItem,
  type EnqueueManyOptions,
  type ProducerTaskGroup,
} from './producer.js';
export type { Step } from './flow-steps.js';
export {
  defineTask,
  TaskFailed,
  TaskCancelled,
  gather,
  asCompleted,
  wait,
  waitFor,
  type TaskDefinition,
  type TaskRef,
  type TaskRefState,
  type FlowRef,
  type CancelOptions,
  type GatherOptions,
  type AsCompletedOptions,
  type WaitManyOptions,
  type WaitForOptions,
  type ReturnWhen,
} from '@asyncq/core';
