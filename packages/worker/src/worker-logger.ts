import { writeSync } from 'node:fs';
import { ConfigError } from '@asyncq/core';
import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * What a {@link Worker} logs through: a pino logger, or anything with pino's calling convention
 * (`logger.info({ taskId }, 'task done')`). `child`, when present, binds the worker's queue.
 */
export interface WorkerLogger {
  /** Each task started. */
  debug(obj: object, msg?: string): void;
  /** Each task done, and the worker's lifecycle. */
  info(obj: object, msg?: string): void;
  /** A failed attempt that will be retried, a lost lease, Redis lost or back. */
  warn(obj: object, msg?: string): void;
  /** A task failed for good, a failure the worker rides out (it never throws). */
  error(obj: object, msg?: string): void;
  /** A logger whose every line carries `bindings` (the worker binds its queue). */
  child?(bindings: Record<string, unknown>): WorkerLogger;
}

/** A logger that drops everything: a library prints nothing unless asked to. */
export const silentLogger: WorkerLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** The levels {@link createWorkerLogger} takes, most verbose first. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** How {@link createWorkerLogger} writes lines. */
export type LogFormat = 'pretty' | 'json';

/** Options of {@link createWorkerLogger}. */
export interface WorkerLoggerOptions {
  /** `pretty`: one readable line per event; `json`: one JSON object per line (pino's). @defaultValue 'pretty' */
  format?: LogFormat;
  /** The least severe level written. @defaultValue 'info' */
  level?: LogLevel;
  /** Where lines go. @defaultValue stderr, written synchronously (nothing is lost when the process exits) */
  destination?: DestinationStream;
}

/**
 * A pino logger for a worker process: JSON lines for log collectors, or short readable lines for a
 * terminal, on stderr (stdout stays the command's own). Bad options are one {@link ConfigError} line.
 *
 * @example
 * ```ts
 * const worker = new Worker('emails', handlers, { logger: createWorkerLogger({ format: 'json', level: 'debug' }) });
 * ```
 */
export function createWorkerLogger(opts: WorkerLoggerOptions = {}): Logger {
  const format = opts.format ?? 'pretty';
  if (format !== 'pretty' && format !== 'json') {
    throw new ConfigError(`log format must be 'pretty' or 'json', got ${JSON.stringify(format)}`);
  }
  const level = opts.level ?? 'info';
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level)}`);
  }
  const out = opts.destination ?? stderr;
  // JSON lines name their process (collectors merge many); a terminal's lines show the fields the worker logs.
  return format === 'json' ? pino({ level, base: { pid: process.pid } }, out) : pino({ level, base: null }, prettyStream(out));
}

const stderr: DestinationStream = { write: (line) => void writeSync(2, line) };

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** pino's JSON lines turned into `12:03:04.512 INFO  task done taskId=42 taskName=send ms=12`. */
function prettyStream(out: DestinationStream): DestinationStream {
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { level, time, msg, ...fields } = entry;
      const clock = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 23);
      const label = (LEVEL_NAMES[Number(level)] ?? String(level)).padEnd(5);
      const rest = Object.entries(fields).map(([k, v]) => `${k}=${prettyValue(v)}`);
      out.write(`${clock} ${label} ${String(msg ?? '')}${rest.length > 0 ? ` ${rest.join(' ')}` : ''}\n`);
    },
  };
}

function prettyValue(v: unknown): string {
  if (v !== null && typeof v === 'object' && typeof (v as { message?: unknown }).message === 'string') {
    return prettyValue((v as { message: string }).message);
  }
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return /[\s"=]/.test(s) || s === '' ? JSON.stringify(s) : s;
}
