import { exportedNames } from '@asyncq/test-support/basics';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as producer from '@asyncq/producer';

// The producer's surface, pinned twice so that an export added,
// removed or renamed by accident fails: at the type level (`pnpm typecheck`) and at run time, from
// the entry point's source (no import, so this file stays fast). Change the lists on purpose.

/** What `@asyncq/producer` exports as values, sorted. */
const PRODUCER_VALUES = [
  'Producer', 'TaskCancelled', 'TaskFailed', 'asCompleted', 'defineTask', 'gather', 'wait',
  'waitFor',
] as const;

/** What `@asyncq/producer` exports as types only, sorted. */
const PRODUCER_TYPES = [
  'AsCompletedOptions', 'CancelOptions', 'EnqueueItem', 'EnqueueManyOptions', 'EnqueueOptions',
  'FlowRef', 'GatherOptions', 'ProducerOptions', 'ProducerTaskGroup', 'ReturnWhen', 'Step',
  'TaskDefinition', 'TaskRef', 'TaskRefState', 'WaitForOptions', 'WaitManyOptions',
] as const;

/** Each type export, referenced: one removed or renamed fails the typecheck. */
export type ProducerTypes = [
  producer.AsCompletedOptions, producer.CancelOptions, producer.EnqueueItem,
  producer.EnqueueManyOptions, producer.EnqueueOptions, producer.FlowRef<unknown>,
  producer.GatherOptions, producer.ProducerOptions, producer.ProducerTaskGroup,
  producer.ReturnWhen, producer.Step, producer.TaskDefinition<unknown, unknown>,
  producer.TaskRef<unknown>, producer.TaskRefState, producer.WaitForOptions,
  producer.WaitManyOptions,
];

describe('@asyncq/producer exports', () => {
  it('exports exactly these values', () => {
    expectTypeOf<keyof typeof producer>().toEqualTypeOf<(typeof PRODUCER_VALUES)[number]>();
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).values).toEqual([...PRODUCER_VALUES]);
  });

  it('exports exactly these types', () => {
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).types).toEqual([...PRODUCER_TYPES]);
  });
});
