/**
 * The handler modules more than one test folder loads, in `fixtures/`: `handlers.mjs` (sleep, echo,
 * fail and friends, each reporting to the parent process over IPC when there is one) and the
 * modules that break while loading (`never-loads.mjs`, `throws-null.mjs`, `exits-at-import.mjs`).
 */
export const HANDLER_FIXTURES = new URL('../fixtures/', import.meta.url).pathname;

/** `fixtures/handlers.mjs`, the handler module the worker, CLI and chaos tests share. */
export const HANDLERS = `${HANDLER_FIXTURES}handlers.mjs`;
