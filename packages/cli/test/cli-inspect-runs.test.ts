import { describe, expect, it } from 'vitest';
import { Queue, WorkerRegistry } from '@asyncq/core';
import { defineHandlers, Worker } from '@asyncq/worker';
import { eventually, redisUrl, track, uniqueName } from '@asyncq/test-support';
import { runCli } from './cli-process.js';

// `asyncq inspect --id` (issue 23): one task whole, attempt by attempt, each with its start, end,
// duration, worker (by its id, not its lease), error, stack and its own log lines.

interface JsonRun {
  attempt: number;
  outcome: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  holder: string;
  worker: string | null;
  error?: string;
  stack?: string;
  logs: string[];
}

/** The lines of attempt `n` in `inspect --id`'s output: from its head line to the next attempt's. */
function attemptBlock(lines: string[], n: number): string[] {
  const from = lines.findIndex((l) => l.startsWith(`attempt ${n}: `));
  expect(from, `attempt ${n} in:\n${lines.join('\n')}`).toBeGreaterThanOrEqual(0);
  const next = lines.findIndex((l, i) => i > from && l.startsWith('attempt '));
  return lines.slice(from, next < 0 ? undefined : next);
}

describe('asyncq inspect --id', { timeout: 60_000 }, () => {
  it('shows a task that failed twice and then completed, attempt by attempt, naming the worker; --json too; an unknown id is one line', async () => {
    const name = uniqueName('inspect-runs');
    const q = track(new Queue(name, { connection: redisUrl() }), name);
    const registry = track(new WorkerRegistry(name, { connection: redisUrl() }), name);
    const id = await q.put({ n: 7 }, { name: 'flaky', attempts: 3 });
    const later = await q.put({ n: 8 }, { name: 'flaky', delay: 3_600_000 });
    const handlers = defineHandlers({
      flaky: async (_data: unknown, ctx) => {
        await ctx.log(`try ${ctx.attempt} begins`);
        await ctx.log(`try ${ctx.attempt} ends`);
        if (ctx.attempt < 3) throw new Error(`boom on try ${ctx.attempt}`);
        return 'fixed';
      },
    });
    const worker = track(new Worker(name, handlers, { connection: redisUrl(), concurrency: 1, heartbeatMs: 250, handleSignals: false }), name);
    const running = worker.run();
    try {
      await eventually(async () => expect((await q.counts()).completed).toBe(1), 20_000);
      // The worker still lives: the CLI names it by the id `asyncq workers` lists.
      await eventually(async () => expect((await registry.list()).map((w) => w.id)).toEqual([worker.id]), 10_000);

      const shown = await runCli(['inspect', name, '--id', id]);
      expect(shown.code, shown.stderr).toBe(0);
      const lines = shown.stdout.trimEnd().split('\n');
      expect(lines[0]).toBe(`${name} task ${id} (flaky): completed, 3 of 3 attempts made`);
      expect(lines[1]).toMatch(/^put \S+Z, last attempt started \S+Z, finished \S+Z, ran \d+m?s$/);
      expect(lines[2]).toBe('data: {"n":7}');
      expect(lines[3]).toBe('result: "fixed"');
      // No task-level error once it completed: the failed attempts carry theirs.
      expect(lines[4]).toMatch(/^attempt 1: /);
      expect(lines.filter((l) => l.startsWith('attempt '))).toHaveLength(3);
      const head = (n: number, outcome: string): RegExp => new RegExp(`^attempt ${n}: ${outcome} after \\d+m?s, started \\S+Z, ended \\S+Z, worker ${worker.id}$`);
      for (const n of [1, 2]) {
        const block = attemptBlock(lines, n);
        expect(block[0]).toMatch(head(n, 'failed'));
        expect(block[1]).toBe(`  error: boom on try ${n}`);
        expect(block[2]).toBe('  stack:');
        expect(block[3]).toBe(`    Error: boom on try ${n}`);
        expect(block[4]).toMatch(/^ {4}\s+at /);
        // Its own log lines, not the other attempts'.
        expect(block.slice(block.indexOf('  log:'))).toEqual(['  log:', `    try ${n} begins`, `    try ${n} ends`]);
      }
      expect(attemptBlock(lines, 3)).toEqual([expect.stringMatching(head(3, 'completed')), '  log:', '    try 3 begins', '    try 3 ends']);
      expect(shown.stdout).not.toMatch(/\blease /);

      const json = await runCli(['inspect', name, '--id', id, '--json']);
      expect(json.code, json.stderr).toBe(0);
      const task = JSON.parse(json.stdout) as { id: string; name: string; state: string; data: unknown; result: unknown; runs: JsonRun[] };
      expect(task).toMatchObject({ id, name: 'flaky', state: 'completed', data: { n: 7 }, result: 'fixed' });
      expect(task.runs.map((r) => [r.attempt, r.outcome, r.error ?? null, r.worker, r.logs])).toEqual([
        [1, 'failed', 'boom on try 1', worker.id, ['try 1 begins', 'try 1 ends']],
        [2, 'failed', 'boom on try 2', worker.id, ['try 2 begins', 'try 2 ends']],
        [3, 'completed', null, worker.id, ['try 3 begins', 'try 3 ends']],
      ]);
      for (const r of task.runs) {
        expect(r.holder).toMatch(/^[0-9a-f]+\.\d+$/); // the lease, which the worker's id replaces on the page
        expect(r.durationMs).toBe(r.endedAt - r.startedAt);
      }
      expect(task.runs[0]!.stack).toMatch(/^Error: boom on try 1\n\s+at /);

      // The lists: when each task's last attempt started and how long it ran, when a delayed one is due.
      const done = await runCli(['inspect', name, '-s', 'completed']);
      expect(done.stdout).toMatch(new RegExp(`\\n  ${id} flaky \\{"n":7\\} attempts=3 put \\S+Z\\n    last attempt started (\\S+Z), ran \\d+m?s\\n`));
      const delayed = await runCli(['inspect', name, '-s', 'delayed']);
      const due = delayed.stdout.match(new RegExp(`\\n  ${later} flaky \\{"n":8\\} put (\\S+Z)\\n    due (\\S+Z)\\n`));
      expect(due, delayed.stdout).not.toBeNull();
      expect(Date.parse(due![2]!) - Date.parse(due![1]!)).toBeGreaterThanOrEqual(3_600_000 - 5);
      expect(Date.parse(due![2]!) - Date.parse(due![1]!)).toBeLessThan(3_600_000 + 1000);
    } finally {
      await worker.close();
      await running;
    }

    const unknown = await runCli(['inspect', name, '--id', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(`asyncq: queue "${name}" has no task "nope" (never put, or finished and no longer kept)\n`);
    const both = await runCli(['inspect', name, '--id', id, '--state', 'failed']);
    expect(both.code).toBe(1);
    expect(both.stderr).toBe(`asyncq: --id shows task "${id}" whatever its state: leave out --state\n`);
  });
});
