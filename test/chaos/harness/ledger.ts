import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * One run of a handler for a task, as the handler processes recorded it. The handlers write
 * append-only files outside the queue (`S`tart and `E`nd lines per execution, `X` at process exit,
 * `A` for a producer's acknowledged put), so the ledger survives SIGKILLs of Redis and of workers.
 */
export interface Execution {
  key: string;
  pid: number;
  attempt: number;
  start: number;
  /** When the handler returned; undefined if it never did (killed, or still running). */
  end?: number;
}

/** What the ledger files say. */
export interface LedgerView {
  /** Executions per task key, in start order. */
  byKey: Map<string, Execution[]>;
  /** Exit times recorded by processes that ended normally (SIGKILLed ones record none). */
  exits: Map<number, number>;
  /** Acknowledged puts: key -> when the put resolved. */
  acks: Map<string, number>;
  /** Handlers told of a cancel ("C" lines, futures-handlers.mjs): key -> when the first was told. */
  cancels: Map<string, number>;
  /** Side effects of step-wise handlers (`P` lines): key -> each step recorded, in file order. */
  steps: Map<string, { pid: number; at: number; step: number }[]>;
  /** Aborts of ctx.signal seen by step-wise handlers (`B` lines): key -> each abort with its reason `name:code`. */
  aborts: Map<string, { pid: number; at: number; reason: string }[]>;
}

const dirs: string[] = [];

/** A fresh ledger directory (removed after the test file). */
export function ledgerDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `asyncq-chaos-${label}-`));
  dirs.push(dir);
  return dir;
}

/** Reads every ledger file in `dir`. Lines cut short by a SIGKILL mid-write are skipped. */
export function readLedger(dir: string): LedgerView {
  const byKey = new Map<string, Execution[]>();
  const exits = new Map<number, number>();
  const acks = new Map<string, number>();
  const cancels = new Map<string, number>();
  const steps = new Map<string, { pid: number; at: number; step: number }[]>();
  const aborts = new Map<string, { pid: number; at: number; reason: string }[]>();
  // Open executions per key and pid, so an E closes the S of the same process.
  const open = new Map<string, Execution[]>();
  for (const file of readdirSync(dir).sort()) {
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const f = line.split(' ');
      if (f.length < 4) continue;
      const [kind, key, pidText, atText] = f as [string, string, string, string];
      const pid = Number(pidText);
      const at = Number(atText);
      if (!Number.isFinite(at) || !Number.isFinite(pid)) continue;
      if (kind === 'S') {
        const e: Execution = { key, pid, attempt: Number(f[4] ?? 1), start: at };
        const list = byKey.get(key) ?? [];
        list.push(e);
        byKey.set(key, list);
        const o = open.get(`${key} ${pid}`) ?? [];
        o.push(e);
        open.set(`${key} ${pid}`, o);
      } else if (kind === 'E') {
        const e = open.get(`${key} ${pid}`)?.shift();
        if (e) e.end = at;
      } else if (kind === 'X') {
        exits.set(pid, at);
      } else if (kind === 'A') {
        acks.set(key, at);
      } else if (kind === 'C') {
        if (!cancels.has(key)) cancels.set(key, at);
      } else if (kind === 'P') {
        steps.set(key, [...(steps.get(key) ?? []), { pid, at, step: Number(f[4]) }]);
      } else if (kind === 'B') {
        aborts.set(key, [...(aborts.get(key) ?? []), { pid, at, reason: f[4] ?? '-' }]);
      }
    }
  }
  for (const list of byKey.values()) list.sort((a, b) => a.start - b.start);
  return { byKey, exits, acks, cancels, steps, aborts };
}

/** Keys of `expected` with no finished execution. */
export function unfinishedKeys(view: LedgerView, expected: Iterable<string>): string[] {
  const out: string[] = [];
  for (const k of expected) if (!(view.byKey.get(k) ?? []).some((e) => e.end !== undefined)) out.push(k);
  return out;
}

/** Executions beyond the first, summed over tasks. */
export function duplicateExecutions(view: LedgerView): { extra: number; tasks: number } {
  let extra = 0;
  let tasks = 0;
  for (const list of view.byKey.values()) {
    if (list.length > 1) {
      extra += list.length - 1;
      tasks++;
    }
  }
  return { extra, tasks };
}

/** Tasks with more than one finished execution (completed by the handler more than once). */
export function finishedMoreThanOnce(view: LedgerView): string[] {
  return [...view.byKey].filter(([, list]) => list.filter((e) => e.end !== undefined).length > 1).map(([k]) => k);
}

/**
 * Pairs of executions of one task that overlapped in time: the second started before the first
 * ended. An execution that never recorded its end lasted until its process ended (`endOf`).
 */
export function overlaps(view: LedgerView, endOf: (e: Execution) => number | undefined): { key: string; firstPid: number; secondPid: number; overlapMs: number }[] {
  const out: { key: string; firstPid: number; secondPid: number; overlapMs: number }[] = [];
  for (const [key, list] of view.byKey) {
    for (let i = 0; i < list.length; i++) {
      const a = list[i]!;
      const aEnd = a.end ?? endOf(a) ?? Number.POSITIVE_INFINITY;
      for (let j = i + 1; j < list.length; j++) {
        const b = list[j]!;
        if (b.start < aEnd) out.push({ key, firstPid: a.pid, secondPid: b.pid, overlapMs: Math.min(aEnd, b.end ?? aEnd) - b.start });
      }
    }
  }
  return out;
}

afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Waits until the ledger in `dir` stops growing (no new execution for `quietMs`), at most `maxMs`:
 * the workers have run what was left, so what never ran is lost, not merely still waiting.
 */
export async function ledgerSettled(dir: string, quietMs = 3000, maxMs = 30_000): Promise<LedgerView> {
  const end = Date.now() + maxMs;
  let seen = -1;
  let since = Date.now();
  for (;;) {
    const view = readLedger(dir);
    const n = [...view.byKey.values()].reduce((a, l) => a + l.length, 0);
    if (n !== seen) {
      seen = n;
      since = Date.now();
    }
    if (Date.now() - since >= quietMs || Date.now() > end) return view;
    await new Promise((r) => setTimeout(r, 100));
  }
}
