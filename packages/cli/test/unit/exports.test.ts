import { readFileSync } from 'node:fs';
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
    expect(exportedNames('../../src/index.ts').values).toEqual([...CLI_VALUES]);
  });

  it('exports exactly these types', () => {
    expect(exportedNames('../../src/index.ts').types).toEqual([...CLI_TYPES]);
  });
});

/** The names an entry point's source exports: values, and types (`type X` or `export type { ... }`). */
function exportedNames(entry: string): { values: string[]; types: string[] } {
  const src = readFileSync(new URL(entry, import.meta.url), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const names = { values: [] as string[], types: [] as string[] };
  for (const [, allTypes, body] of src.matchAll(/^export\s+(type\s+)?\{([^}]*)\}/gm)) {
    for (const part of body!.split(',').map((p) => p.trim()).filter(Boolean)) {
      names[allTypes || part.startsWith('type ') ? 'types' : 'values'].push(part.replace(/^type\s+/, '').split(/\s+as\s+/).pop()!);
    }
  }
  return { values: names.values.sort(), types: names.types.sort() };
}
