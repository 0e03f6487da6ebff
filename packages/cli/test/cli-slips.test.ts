// The CLI slips of issue 23 (finding 9), as the user meets them: a real `asyncq` subprocess, its
// help text, its one line on stderr, and what it left in Redis.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { queueKeys } from '@asyncq/core/internal';
import { adminClient, redisUrl, uniqueName } from '@asyncq/test-support';
import { main } from '../src/cli.js';
import { runCli } from './cli-process.js';
import { oneLine, queue } from './cli-test-helpers.js';

/** Every command's `--help`, as docs/cli.md holds it (one process, as `pnpm docs:cli` makes it). */
function helpByCommand(): Map<string, string> {
  const text = execFileSync(process.execPath, [new URL('../../../scripts/cli-reference.mjs', import.meta.url).pathname], { encoding: 'utf8' });
  const out = new Map<string, string>();
  const sections = text.split(/^## asyncq /m);
  out.set('', sections[0]!);
  for (const s of sections.slice(1)) out.set(s.slice(0, s.indexOf('\n')), s);
  return out;
}

/** The short flags the top-level help promises: `-t timeout` means `-t` is `--timeout`. */
const PROMISED: Record<string, string> = { q: 'queue', c: 'concurrency', w: 'workers', t: 'timeout', n: 'name', s: 'state', f: 'file', i: 'interval', p: 'port', y: 'yes' };

describe('help that tells the truth', () => {
  const help = helpByCommand();

  it('the top-level help lists the short flags this test checks', () => {
    const top = help.get('')!.replace(/\s+/g, ' ');
    expect(top).toContain('-q queue, -c concurrency, -w workers, -t timeout, -n task name, -s state, -f file, -i interval, -p port, -y yes');
  });

  it('a short flag means the one long flag the help says, in every command, and every such flag has it', () => {
    const wrong: string[] = [];
    for (const [command, text] of help) {
      if (!command) continue;
      for (const m of text.matchAll(/^ {2}-([a-z]), --([a-z-]+)/gm)) {
        const [, short, long] = m;
        if (short !== 'h' && PROMISED[short!] !== long) wrong.push(`${command}: -${short} is --${long}, the help says -${short} is --${PROMISED[short!] ?? '(nothing)'}`);
      }
      for (const [short, long] of Object.entries(PROMISED)) {
        if (new RegExp(`^ {6}--${long}\\b`, 'm').test(text)) wrong.push(`${command}: --${long} has no -${short}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('examples and descriptions are whole lines, never broken mid-word', () => {
    for (const [command, text] of help) {
      const examples = text.split('\nExamples:\n')[1]?.split('\n\n')[0]?.split('\n```')[0];
      for (const line of examples?.split('\n') ?? []) expect(line, `${command}: ${line}`).toMatch(/^ {2}(asyncq |cat .* \| asyncq |# )/);
    }
    expect(help.get('fleet')).toContain('asyncq fleet ./handlers.js -q emails --autoscale 1,8');
    expect(help.get('worker')).toContain('asyncq worker ./handlers.js -q emails -t 30s');
    expect(help.get('worker')).toContain('(default info: a line per finished or failed task)');
  });

  it('put --help says where --priority runs, as it does: after tasks without one, lower first', () => {
    expect(help.get('put')!.replace(/\s+/g, ' ')).toContain("lower runs first, after every task put without one (BullMQ's order)");
  });

  it('the CLI README names the dashboard and the admin commands', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const c of ['dashboard', 'inspect', 'retry', 'pause', 'resume', 'shutdown', 'reopen', 'scale', 'purge', 'clean', 'delete', 'cancel', 'workers']) expect(readme, c).toContain(`asyncq ${c}`);
  });
});

describe('one clear line for a wrong number', () => {
  it('demo and fleet name the flag and the value as typed, never NaN', async () => {
    const cases: [string[], string][] = [
      [['demo', '--tasks', '5s'], 'asyncq: --tasks must be a whole number >= 1, got "5s"'],
      [['demo', '-w', 'abc'], 'asyncq: --workers must be a whole number >= 1, got "abc"'],
      [['fleet', 'h.js', '-q', 'q', '-w', 'abc'], 'asyncq: --workers must be a whole number from 0 to 10000, got "abc"'],
      [['watch', 'q', '--count', 'x'], 'asyncq: --count must be a whole number >= 1, got "x"'],
      [['dashboard', '-i', 'abc'], 'asyncq: --interval must be a duration such as 500ms, 30s, 5m or 1h, got "abc"'],
      [['put', 'q', '1', '--backoff', 'soon'], 'asyncq: --backoff must be a duration such as 500ms, 30s, 5m or 1h, got "soon"'],
      [['put', 'q', '--file', '-', '--id', 'x'], 'asyncq: --id names one task: give the item as a JSON argument, or put an NDJSON file without --id'],
    ];
    // In this process (main() as bin.ts runs it): none of these reaches Redis, and a process each costs seconds.
    for (const [args, line] of cases) {
      const err: string[] = [];
      const ctx = { out: () => {}, err: (l: string) => err.push(l), tty: false, exitCode: 0 };
      expect(await main(args, ctx), args.join(' ')).toBe(1);
      expect(err, args.join(' ')).toEqual([line]);
    }
  });
});

/**
 * `asyncq args...` run in this process, as bin.ts runs it, on the test Redis: a subprocess per
 * command cost seconds each on a loaded machine; the shut-down test below keeps one, for stderr.
 */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main([...args, '--redis-url', redisUrl()], { out: (l) => out.push(l), err: (l) => err.push(l), tty: false, exitCode: 0 });
  return { code, stdout: out.map((l) => `${l}\n`).join(''), stderr: err.join('\n') };
}

describe('the CLI against a queue', () => {
  it('a shut-down queue tells a CLI user the command that reopens it', async () => {
    const name = uniqueName('slip-shut');
    queue(name);
    expect((await cli(['put', name, '1'])).code).toBe(0);
    expect((await cli(['shutdown', name])).code).toBe(0);
    const r = await runCli(['put', name, '2']);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`asyncq: queue "${name}" is shut down and accepts no tasks: asyncq reopen -q ${name} opens it again`);
  });

  it('put --id puts a task once; --backoff is stored as BullMQ reads it', async () => {
    const name = uniqueName('slip-put');
    const q = queue(name);
    const first = await cli(['put', name, '{"a":1}', '--id', 'order-42', '--attempts', '3', '--backoff', 'exponential:1s']);
    const again = await cli(['put', name, '{"a":2}', '--id', 'order-42']);
    expect([first.code, first.stdout.trim(), again.code, again.stdout.trim()]).toEqual([0, 'order-42', 0, 'order-42']);
    expect(await q.qsize()).toBe(1);
    const opts = JSON.parse((await adminClient().hget(queueKeys('asyncq', name).job('order-42'), 'opts'))!) as { attempts: number; backoff: unknown };
    expect(opts).toMatchObject({ attempts: 3, backoff: { type: 'exponential', delay: 1000 } });
    expect((await cli(['put', name, '1', '--backoff', '250ms'])).code).toBe(0);
  });

  it('--priority runs as the help says: tasks without one first, then lower numbers first', async () => {
    const name = uniqueName('slip-prio');
    const q = queue(name);
    for (const [item, prio] of [['"none-1"'], ['"p5"', '5'], ['"p0"', '0'], ['"none-2"']] as [string, string?][]) {
      expect((await cli(['put', name, item, ...(prio ? ['--priority', prio] : [])])).code).toBe(0);
    }
    const order: unknown[] = [];
    for (let i = 0; i < 4; i++) order.push(await q.get());
    expect(order).toEqual(['none-1', 'none-2', 'p0', 'p5']);
  });

  it('stats shows the desired worker count, and its JSON says shutdown as a boolean', async () => {
    const name = uniqueName('slip-stats');
    queue(name);
    expect((await cli(['put', name, '1'])).code).toBe(0);
    expect((await cli(['scale', name, '3'])).code).toBe(0);
    const table = (await cli(['stats', name])).stdout.split('\n');
    expect(table[0]).toMatch(/\bworkers +desired +state$/);
    expect(table[1]).toMatch(/ 0 +3 +open$/);
    expect(JSON.parse((await cli(['stats', name, '--json'])).stdout)).toEqual([expect.objectContaining({ desired: 3, shutdown: false, shutdownMode: null })]);
    expect((await cli(['shutdown', name])).code).toBe(0);
    expect(JSON.parse((await cli(['stats', name, '--json'])).stdout)).toEqual([expect.objectContaining({ shutdown: true, shutdownMode: 'graceful' })]);
  });

  it('read-only commands leave Redis as it was; join sets only its want-join flag, as the README says', async () => {
    const name = uniqueName('slip-ro');
    queue(name);
    const id = (await cli(['put', name, '{"x":1}'])).stdout.trim();
    const keys = queueKeys('asyncq', name);
    const admin = adminClient();
    // Every key of the queue with its content (DUMP is no witness: a hash's field order may change on a read).
    const state = async (): Promise<Map<string, string>> => {
      const names = (await admin.keys(`${keys.base}*`)).sort();
      const content = async (k: string): Promise<string> => {
        const type = await admin.type(k);
        if (type === 'hash') return JSON.stringify(Object.entries(await admin.hgetall(k)).sort());
        if (type === 'list') return JSON.stringify(await admin.lrange(k, 0, -1));
        if (type === 'set') return JSON.stringify((await admin.smembers(k)).sort());
        if (type === 'zset') return JSON.stringify(await admin.zrange(k, 0, -1, 'WITHSCORES'));
        if (type === 'string') return JSON.stringify(await admin.get(k));
        return type;
      };
      return new Map(await Promise.all(names.map(async (k) => [k, await content(k)] as [string, string])));
    };
    const before = await state();
    for (const args of [['stats', name], ['inspect', name], ['logs', name, id], ['locks'], ['watch', name, '--json', '--count', '1'], ['workers', name]]) {
      expect((await cli(args)).code, args.join(' ')).toBe(0);
      expect(await state(), args.join(' ')).toEqual(before);
    }
    expect((await cli(['join', name, '--timeout', '1s'])).code).toBe(2);
    const after = await state();
    after.delete(keys.wantJoin);
    expect(after).toEqual(before);
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
    expect(readme).toContain('`join` changes no task either: it only sets the queue\'s `aq:want-join` flag');
  });
});
