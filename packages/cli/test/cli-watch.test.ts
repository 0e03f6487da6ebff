import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Queue } from '@asyncq/core';
import { eventually, RedisServer, redisUrl, track, uniqueName } from '@asyncq/test-support';
import { BIN, runCli, startCli } from './cli-process.js';
import { HANDLERS, oneLine, queue } from './cli-test-helpers.js';

interface Sample {
  queue: string;
  error?: string;
  donePerSec: number;
  counts: { waiting: number; unfinished: number };
  workers: { pid: number; perSec: number }[];
  partitions?: { partition: number; waiting: number }[];
}

const samplesIn = (stdout: string): Sample[] => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Sample);

/** Runs `script` in a detached tmux session of `cols` x `rows`; `use` gets a screen reader; the session is always killed. */
async function inTmux(name: string, cols: number, rows: number, script: string, use: (screen: (all?: boolean) => string, keys: (k: string) => void) => Promise<void>): Promise<void> {
  const session = `asyncq-${name}`;
  const tmux = (...a: string[]): string => execFileSync('tmux', a, { encoding: 'utf8' });
  tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), script);
  try {
    await use(
      (all = false) => (all ? tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session) : tmux('capture-pane', '-p', '-t', session)),
      (k) => void tmux('send-keys', '-t', session, k),
    );
  } finally {
    execFileSync('tmux', ['kill-session', '-t', session]);
  }
}

describe('asyncq watch', () => {
  it('--json prints one parseable object per queue per interval, per partition too; an unknown queue is one line', async () => {
    const name = uniqueName('watch');
    const q = queue(name);
    for (let i = 0; i < 4; i++) await q.put(i);
    const parted = uniqueName('parts');
    const p = track(new Queue(parted, { connection: redisUrl(), partitions: 3 }), parted);
    for (let i = 0; i < 6; i++) await p.put(i);
    const r = await runCli(['watch', name, parted, '--json', '-n', '2', '-i', '200ms']);
    expect(r.code, r.stderr).toBe(0);
    const samples = samplesIn(r.stdout);
    expect(samples).toHaveLength(4);
    expect(samples[2]).toMatchObject({ queue: name, counts: { waiting: 4, unfinished: 4 }, workers: [] });
    expect(samples[2]!.partitions).toBeUndefined();
    expect(samples[3]).toMatchObject({ queue: parted, counts: { waiting: 6 } });
    expect(samples[3]!.partitions!.map((x) => x.partition)).toEqual([0, 1, 2]);
    expect(samples[3]!.partitions!.reduce((a, x) => a + x.waiting, 0)).toBe(6);
    const unknown = await runCli(['watch', 'no-such-queue-here']);
    expect(unknown.code).toBe(1);
    expect(oneLine(unknown.stderr)).toMatch(/no queue named "no-such-queue-here" \(known: .*\); a queue exists once a task was put/);
  });

  it('rates come from counters over a window: a worker beating every 5 s shows a steady rate, not bursts and zeros', async () => {
    const name = uniqueName('steady');
    const q = queue(name);
    await q.putMany(Array.from({ length: 2500 }, () => ({ item: { ms: 40 }, opts: { name: 'sleep' } })));
    const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '4']); // heartbeat: the default 5 s
    await worker.waitFor(/runs/);
    const r = await runCli(['watch', name, '--json', '-n', '36', '-i', '500ms'], { timeout: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const busy = samplesIn(r.stdout).filter((s) => s.counts.unfinished > 0);
    // From the worker's second heartbeat in view (its first rate) on, while it works.
    const from = busy.findIndex((s) => (s.workers[0]?.perSec ?? 0) > 0);
    expect(from).toBeGreaterThan(-1);
    const rates = busy.slice(from).map((s) => s.workers[0]!.perSec);
    expect(rates.length).toBeGreaterThan(8);
    expect(Math.min(...rates)).toBeGreaterThan(0);
    expect(Math.max(...rates) / Math.min(...rates)).toBeLessThan(3);
    expect(Math.min(...busy.slice(from).map((s) => s.donePerSec))).toBeGreaterThan(0);
    worker.kill('SIGTERM');
    await worker.exited;
  }, 90_000);

  it('survives Redis stopping and restarting: says it is reconnecting, then carries on', async () => {
    const redis = await RedisServer.start({ aof: true });
    const name = uniqueName('restart');
    const q = new Queue(name, { connection: redis.url });
    await q.putMany([1, 2, 3].map((item) => ({ item })));
    await q.close();
    const w = startCli(['watch', name, '--json', '-i', '300ms'], { REDIS_URL: redis.url });
    const normal = (after: number): Sample | undefined => samplesIn(w.stdout).slice(after).find((s) => !s.error && s.counts.waiting === 3);
    await eventually(() => expect(normal(0)).toBeDefined(), 15_000);
    const reconnecting = (): Promise<void> =>
      eventually(() => expect(samplesIn(w.stdout).at(-1)?.error).toMatch(/^reconnecting to Redis at 127\.0\.0\.1:\d+\.\.\. \(no answer since /), 15_000);
    redis.freeze(); // hangs: commands wait
    await reconnecting();
    let seen = samplesIn(w.stdout).length;
    redis.thaw();
    await eventually(() => expect(normal(seen)).toBeDefined(), 20_000);
    await redis.shutdown(); // gone: connections refused
    await reconnecting();
    seen = samplesIn(w.stdout).length;
    await redis.relaunch(); // back on the same port, with its data
    await eventually(() => expect(normal(seen)).toBeDefined(), 20_000);
    w.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stderr).toBe('');
  }, 90_000);

  it('in a terminal shows rates, depth, workers and a chart, and q restores the terminal', async () => {
    const name = uniqueName('tty');
    const q = queue(name);
    const worker = startCli(['worker', HANDLERS, '-q', name, '-c', '4']);
    await worker.waitFor(/runs/);
    await q.putMany(Array.from({ length: 200 }, () => ({ item: { ms: 20 }, opts: { name: 'sleep' } })));
    const script = `REDIS_URL=${redisUrl()} ${process.execPath} ${BIN} watch ${name} -i 300ms; echo EXIT=$?; stty -a; sleep 30`;
    await inTmux(name, 80, 40, script, async (capture, keys) => {
      let screen = '';
      await eventually(() => {
        screen = capture();
        expect(screen).toMatch(/done\/s over the last \d+ samples/);
      }, 15_000);
      expect(screen).toContain(name);
      expect(screen).toMatch(/enqueued\/s\s+[\d.,]+\s+done\/s\s+[\d.,]+\s+failed\/s/);
      expect(screen).toMatch(/waiting \d+ {2}delayed \d+ {2}active \d+ {2}unfinished \d+/);
      expect(screen).toMatch(/wait p50 \S+ p99 \S+ {3}run p50 \S+ p99 \S+ {3}workers 1/);
      expect(screen).toMatch(new RegExp(`:${worker.proc.pid}\\s+c=4`));
      expect(screen.split('\n').every((l) => l.length <= 80)).toBe(true);
      keys('q');
      await eventually(() => {
        screen = capture(true);
        expect(screen).toContain('EXIT=0');
        // stty -a has printed its modes too (tmux may show EXIT=0 a moment before them).
        expect(screen.slice(screen.indexOf('EXIT=0'))).toMatch(/-?icanon/);
      }, 5000);
      const tty = screen.slice(screen.indexOf('EXIT=0'));
      // Back in cooked mode: line editing and echo on again.
      expect(tty).toMatch(/(^|\s)icanon(\s|;|$)/m);
      expect(tty).toMatch(/(^|\s)echo(\s|;|$)/m);
    });
  }, 60_000);

  it('on 80x24, queues that do not fit in full get one line each, and the view never scrolls', async () => {
    const names = Array.from({ length: 5 }, (_, i) => uniqueName(`w${i}`));
    for (const n of names) await queue(n).put(1);
    const script = `REDIS_URL=${redisUrl()} ${process.execPath} ${BIN} watch ${names.join(' ')} -i 300ms; sleep 30`;
    await inTmux(names[0]!, 80, 24, script, async (capture, keys) => {
      let screen: string[] = [];
      await eventually(() => {
        screen = capture().split('\n');
        expect(screen.filter((l) => names.some((n) => l.startsWith(n)))).toHaveLength(5);
      }, 15_000);
      expect(screen[0]).toMatch(/^asyncq watch {2}\S+/); // the heading stays on the first row
      expect(screen[1]).toMatch(/^queue\s+put\/s\s+done\/s/);
      for (const n of names) expect(screen.find((l) => l.startsWith(n))).toMatch(new RegExp(`^${n}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+1\\s+0\\s+1\\s+0\\s+`));
      keys('q');
    });
  }, 60_000);
});
