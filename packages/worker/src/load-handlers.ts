import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@asyncq/core';
import { checkHandlers, type Handlers } from './handlers.js';

/**
 * Loads a handler module by path (`.js` or `.mjs`; `.ts` where Node can strip types itself):
 * its default export must be `defineHandlers({...})` or one async function. Every mistake is
 * one {@link ConfigError} line naming the path and what is expected.
 */
export async function loadHandlers(path: string): Promise<Handlers> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ConfigError(`handler module ${path} not found (looked at ${abs}); pass the path of a .js or .mjs file`);
  if (/\.[cm]?ts$/.test(abs) && !nodeStripsTypes()) {
    throw new ConfigError(
      `handler module ${path} is TypeScript, which Node ${process.versions.node} cannot load without a build step: compile it to .js (tsc), or run Node >= 22.6 with --experimental-strip-types`,
    );
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(pathToFileURL(abs).href)) as { default?: unknown };
  } catch (e) {
    throw new ConfigError(`handler module ${path} failed to load: ${(e as Error).message.split('\n')[0]}`);
  }
  if (mod.default === undefined) {
    throw new ConfigError(`handler module ${path} has no default export: export default defineHandlers({ name: async (data, ctx) => result })`);
  }
  return checkHandlers(mod.default, `the default export of ${path}`);
}

function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}
