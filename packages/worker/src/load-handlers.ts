import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '@asyncq/core';
import { safeMessage } from '@asyncq/core/internal';
import { checkHandlers, type Handlers } from './handlers.js';

/** Options of {@link loadHandlers}. */
export interface LoadHandlersOptions {
  /** How long the module may take to load (its top-level awaits included). @defaultValue 30000 */
  timeoutMs?: number;
}

/** How long a handler module may take to load, unless told otherwise. */
export const HANDLER_LOAD_TIMEOUT_MS = 30_000;

/** Thrown in place of the process.exit() a module calls while it loads. */
class ExitWhileLoading extends Error {
  constructor(readonly code: unknown) {
    super('process.exit() while loading');
  }
}

/**
 * Loads a handler module by path (`.js` or `.mjs`; `.ts` where Node can strip types itself):
 * its default export must be `defineHandlers({...})` or one async function. Every mistake is
 * one {@link ConfigError} line naming the path and what is expected: a module that throws at
 * import (whatever it throws, `null` included), calls `process.exit()` while it loads, or never
 * finishes loading (a top-level await that waits on nothing, or for longer than `timeoutMs`).
 */
export async function loadHandlers(path: string, opts: LoadHandlersOptions = {}): Promise<Handlers> {
  const abs = resolve(path);
  if (!existsSync(abs)) throw new ConfigError(`handler module ${path} not found (looked at ${abs}); pass the path of a .js or .mjs file`);
  if (/\.[cm]?ts$/.test(abs) && !nodeStripsTypes()) {
    throw new ConfigError(
      `handler module ${path} is TypeScript, which Node ${process.versions.node} cannot load without a build step: compile it to .js (tsc), or run Node >= 22.6 with --experimental-strip-types`,
    );
  }
  const mod = await importWithin(path, pathToFileURL(abs).href, opts.timeoutMs ?? HANDLER_LOAD_TIMEOUT_MS);
  if (mod.default === undefined) {
    throw new ConfigError(`handler module ${path} has no default export: export default defineHandlers({ name: async (data, ctx) => result })`);
  }
  return checkHandlers(mod.default, `the default export of ${path}`);
}

/**
 * Imports `url`, turning each way a module can fail to load into one ConfigError. While it loads,
 * `process.exit` throws instead of ending the process (the module's import then fails with it),
 * and an event loop that runs empty means a top-level await that nothing can ever settle.
 */
async function importWithin(path: string, url: string, timeoutMs: number): Promise<{ default?: unknown }> {
  const exit = process.exit;
  let timer: NodeJS.Timeout | undefined;
  let onEmpty: (() => void) | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ConfigError(`handler module ${path} did not finish loading within ${timeoutMs / 1000} s (a top-level await still waiting?): make it load faster, or allow longer with --load-timeout`)),
      timeoutMs,
    );
    // Unref'd: a top-level await that nothing keeps alive must empty the loop (and be told at once).
    timer.unref();
    onEmpty = () => reject(new ConfigError(`handler module ${path} never finishes loading: a top-level await waits on a promise that nothing will ever settle`));
    process.once('beforeExit', onEmpty);
  });
  process.exit = ((code?: unknown) => {
    throw new ExitWhileLoading(code);
  }) as typeof process.exit;
  try {
    return (await Promise.race([import(url), stuck])) as { default?: unknown };
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (e instanceof ExitWhileLoading) {
      throw new ConfigError(`handler module ${path} called process.exit(${e.code === undefined ? '' : safeMessage(e.code)}) while loading: a handler module must not end the process; throw an error instead`);
    }
    const message = e instanceof Error ? safeMessage(e).split('\n')[0] || e.name : `it threw ${safeMessage(e)}, not an Error`;
    throw new ConfigError(`handler module ${path} failed to load: ${message.length > 300 ? `${message.slice(0, 300)}...` : message}`);
  } finally {
    process.exit = exit;
    clearTimeout(timer);
    if (onEmpty) process.off('beforeExit', onEmpty);
    stuck.catch(() => {});
  }
}

function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: unknown }).typescript);
}
