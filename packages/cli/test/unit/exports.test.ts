import { exportedNames } from '@asyncq/test-support/basics';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type * as cli from '@asyncq/cli';

// The CLI's programmatic surface, pinned twice so that an export added,
// removed or renamed by accident fails: at the type level (`pnpm typecheck`) and at run time, from
// the entry point's source (no import, so this file stays fast). Change the lists on purpose.

/** What `@asyncq/cli` exports as values, sorted. */
const CLI_VALUES = [
  'FleetSupervisor', 'main', 'processContext', 'queueMetricsRegistry',
] as const;

/** What `@asyncq/cli` exports as types only, sorted. */
const CLI_TYPES = [
  'CliContext', 'FleetOptions', 'GlobalOptions',
] as const;

/** Each type export, referenced: one removed or renamed fails the typecheck. */
export type CliTypes = [
  cli.CliContext, cli.FleetOptions, cli.GlobalOptions,
];

describe('@asyncq/cli exports', () => {
  it('exports exactly these values', () => {
    expectTypeOf<keyof typeof cli>().toEqualTypeOf<(typeof CLI_VALUES)[number]>();
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).values).toEqual([...CLI_VALUES]);
  });

  it('exports exactly these types', () => {
    expect(exportedNames(new URL('../../src/index.ts', import.meta.url)).types).toEqual([...CLI_TYPES]);
  });
});
