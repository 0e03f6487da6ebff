import { ConfigError, type FlowStep, type FlowStepOptions, type TaskDefinition } from '@asyncq/core';

/** One task of a chain or chord: the task (a definition or a handler name), its data, its options. */
export interface Step {
  task: string | TaskDefinition<unknown, unknown>;
  /** Only a chain's first step and a chord's group take data: the others get theirs from the flow. */
  data?: unknown;
  opts?: FlowStepOptions;
}

/** The steps as core's flow steps, or one line naming the step that names no task. */
export function flowSteps(steps: readonly Step[], what: string): FlowStep[] {
  if (!Array.isArray(steps)) throw new ConfigError(`the ${what} must be an array of { task, data?, opts? }`);
  // Core's own refusal would name its step shape ({ name }); a producer's steps say { task }.
  if (steps.length === 0 && what === 'chain') throw new ConfigError("a chain needs at least one step: producer.chain([{ task: 'a', data }, { task: 'b' }, ...])");
  if (steps.length === 0 && what === "chord's group") throw new ConfigError("a chord needs at least one task in its group: producer.chord([{ task: 'a', data }, ...], { task: 'callback' })");
  return steps.map((step, i) => {
    const where = what === "chord's callback" ? `the ${what}` : `step ${i + 1} of the ${what}`;
    if (step === null || typeof step !== 'object') throw new ConfigError(`${where} must be { task, data?, opts? }`);
    const task = step.task as unknown;
    const name = typeof task === 'string' ? task : task !== null && typeof task === 'object' ? (task as { name?: unknown }).name : undefined;
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError(`${where} names no task: give it { task: 'handler-name' } or a task definition`);
    return { name, ...('data' in step ? { data: step.data } : {}), ...(step.opts ? { opts: step.opts } : {}) };
  });
}
