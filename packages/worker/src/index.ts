/**
 * @packageDocumentation
 * `@asyncq/worker` is not implemented yet: it is planned (see the project's open
 * issues) and exports nothing today. Use `@asyncq/core` directly.
 */
export {};
