// Unit-test helpers: Workers over a LocalQueue (no Redis at all), a logger that keeps its lines,
// and clean-up after each test.
import { afterEach } from 'vitest';
import { LocalQueue } from '@asyncq/core';
import { createWorkerLogger, Worker, type Handlers, type WorkerOptions } from '@asyncq/worker';

/** One line a worker logged, as pino wrote it. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A pino logger (JSON, debug and up) whose lines land in `lines`. */
export function memoryLogger(): { logger: ReturnType<typeof createWorkerLogger>; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = createWorkerLogger({ format: 'json', level: 'debug', destination: { write: (s) => void lines.push(JSON.parse(s) as LogLine) } });
  return { logger, lines };
}

const workers: Worker[] = [];

/** A running Worker over a fresh LocalQueue, closed (grace 0) after the test. */
export function localWorker(handlers: Handlers, opts: WorkerOptions = {}) {
  const q = new LocalQueue({ name: 'unit' });
  const { logger, lines } = memoryLogger();
  const worker = new Worker('unit', handlers, { queue: q, handleSignals: false, logger, ...opts });
  workers.push(worker);
  const running = worker.run();
  return { q, worker, running, lines };
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close({ graceMs: 0 })));
});
