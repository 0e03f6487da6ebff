import { readFileSync } from 'node:fs';

/** The names an entry point's source exports: values, and types (`type X` or `export type { ... }`), each sorted. */
export function exportedNames(entry: URL): { values: string[]; types: string[] } {
  const src = readFileSync(entry, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const names = { values: [] as string[], types: [] as string[] };
  for (const [, allTypes, body] of src.matchAll(/^export\s+(type\s+)?\{([^}]*)\}/gm)) {
    for (const part of body!.split(',').map((p) => p.trim()).filter(Boolean)) {
      names[allTypes || part.startsWith('type ') ? 'types' : 'values'].push(part.replace(/^type\s+/, '').split(/\s+as\s+/).pop()!);
    }
  }
  return { values: names.values.sort(), types: names.types.sort() };
}
