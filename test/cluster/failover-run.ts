/**
 * A master killed in the middle of a run, shared by the Cluster and Sentinel
 * files: a producer, a consumer and a joiner (each its own process) work on
 * one queue; the master is SIGKILLed while they do; a replica takes over; the
 * run must finish on its own. {@link runFailover} measures it,
 * {@link expectFailoverGuarantees} asserts what asyncq promises.
 */
import { expect } from 'vitest';
import type { Queue } from '@asyncq/core';
import { type Promotion, type TestChild } from '@asyncq/test-support';
import { clusterChild, duplicates, itemKey, whileRunning, type ClusterConnection } from './cluster-helpers.js';

/** What a scenario provides. */
export interface FailoverScenario {
  /** For the report, e.g. "cluster, partitions: 3". */
  label: string;
  name: string;
  /** The connection the child processes use (a plain object: it crosses to them as JSON). */
  connection: ClusterConnection;
  /** Queue options besides the connection (partitions, maxsize...), the same in every process. */
  queueOptions: Record<string, unknown>;
  /** The test's own handle on the queue: it puts the joiner's blocker and reads counts at the end. */
  queue: Queue<unknown>;
  /** SIGKILLs the master the queue (or one of its partitions) lives on. */
  kill(): Promise<{ killedAt: number; port: number }>;
  /** Waits until a replica has taken over. */
  promoted(): Promise<Promotion>;
  /** Items the producer puts. @defaultValue 400 */
  puts?: number;
  /** Pause between puts, so the run spans the failover. @defaultValue 5 */
  paceMs?: number;
  /** Acknowledged puts before the kill. @defaultValue 150 */
  killAfterPuts?: number;
}

/** The figures of one run. */
export interface FailoverReport {
  label: string;
  killedPort: number;
  killedAt: number;
  promotion: Promotion;
  /** Puts acknowledged to the producer (the joiner's blocker included). */
  acked: { key: string; at: number }[];
  /** Items a consumer worked on (each time: duplicates stay in), whether or not its done() succeeded. */
  processed: string[];
  lost: { key: string; at: number }[];
  duplicated: Map<string, number>;
  /** Items whose put failed (not acknowledged: may or may not be in the queue). */
  putFailed: string[];
  errors: { role: string; event: string; code: unknown; asyncq: boolean; message: string }[];
  producerFinished: boolean;
  consumerExited: boolean;
  join: { outcome: 'joined' | 'join-error' | 'hung'; at?: number; code?: unknown; message?: string };
  /** Longest time without an acknowledged put / a finished task, from 1 s before the kill on. */
  producerLongestPauseMs: number;
  consumerLongestPauseMs: number;
  /** From the promotion to the first put acknowledged / task finished after it (-1: none). */
  producerResumeMs: number;
  consumerResumeMs: number;
  finalCounts?: Record<string, number>;
}

const BLOCKER = { p: 'blocker', i: 0 };
const RUN_DEADLINE_MS = 60_000;

/** Whether `event` came within `ms` (a hang is a figure of the report, not a crash of the test). */
async function within(child: TestChild, event: string, ms: number): Promise<boolean> {
  return child.next(event, ms).then(
    () => true,
    () => false,
  );
}

function longestPause(times: number[], from: number, to: number): number {
  const ts = [from, ...times.filter((t) => t >= from && t <= to).sort((a, b) => a - b), to];
  let longest = 0;
  for (let i = 1; i < ts.length; i++) longest = Math.max(longest, ts[i]! - ts[i - 1]!);
  return longest;
}

/** Runs the scenario and returns its figures (it also prints them). */
export async function runFailover(s: FailoverScenario): Promise<FailoverReport> {
  const opts = s.queueOptions;
  const consumer = clusterChild('consume', [s.name], [2, 2], opts, s.connection);
  await consumer.next('ready', 30_000);
  const producer = clusterChild('produce', [s.name], ['a', s.puts ?? 400, s.paceMs ?? 5], opts, s.connection);
  const killAfter = s.killAfterPuts ?? 150;
  await whileRunning(
    [producer, consumer],
    (async () => {
      for (let i = 0; i < 3000 && producer.all('put').length < killAfter; i++) await new Promise((r) => setTimeout(r, 10));
    })(),
  );
  expect(producer.all('put').length, 'puts acknowledged before the kill').toBeGreaterThanOrEqual(killAfter);

  // The joiner must still be waiting when the master dies: a delayed task keeps the queue unfinished.
  await s.queue.put(BLOCKER, { delay: 3000 });
  const blockerAckedAt = Date.now();
  const joiner = clusterChild('join', [s.name], [], opts, s.connection);
  await joiner.next('joining', 30_000);

  const { killedAt, port } = await s.kill();
  const promotion = await s.promoted();
  const promotedAt = killedAt + promotion.ms;
  const deadline = killedAt + RUN_DEADLINE_MS;
  const producerFinished = await within(producer, 'produced', deadline - Date.now());
  const joined = await within(joiner, 'joins-done', Math.max(1000, deadline - Date.now()));
  // join resolves whenever nothing is unfinished, which can happen between two puts once the
  // blocker is done; the consumer is stopped only when what the producer put last has run too.
  for (let i = 0; i < 150 && ((await s.queue.counts().catch(() => undefined))?.unfinished ?? 0) > 0; i++) await new Promise((r) => setTimeout(r, 100));
  consumer.send('stop');
  const consumerExited = await within(consumer, 'exit', 20_000);

  const acked = [{ key: itemKey(BLOCKER), at: blockerAckedAt }, ...producer.all('put').map((e) => ({ key: itemKey(e), at: e.at }))];
  const processed = consumer.all('finishing').map((e) => itemKey(e.data));
  const processedSet = new Set(processed);
  const errors = (
    [
      ['producer', producer],
      ['consumer', consumer],
      ['joiner', joiner],
    ] as const
  ).flatMap(([role, c]) =>
    c.events
      .filter((e) => e.event.endsWith('-error'))
      .map((e) => ({ role, event: e.event, code: e.code, asyncq: e.asyncq === true, message: String(e.message) })),
  );
  const joinEvent = joiner.events.find((e) => e.event === 'joined' || e.event === 'join-error');
  const ackTimes = producer.all('put').map((e) => e.at);
  const doneTimes = consumer.all('done').map((e) => e.at);
  const end = Math.max(killedAt, ...ackTimes, ...doneTimes);
  const firstAfter = (times: number[]): number => {
    const t = times.filter((x) => x >= promotedAt).sort((a, b) => a - b)[0];
    return t === undefined ? -1 : t - promotedAt;
  };
  const report: FailoverReport = {
    label: s.label,
    killedPort: port,
    killedAt,
    promotion,
    acked,
    processed,
    lost: acked.filter((a) => !processedSet.has(a.key)),
    duplicated: duplicates(processed),
    putFailed: producer.all('put-error').map(itemKey),
    errors,
    producerFinished,
    consumerExited,
    join: !joined || !joinEvent ? { outcome: 'hung' } : { outcome: joinEvent.event as 'joined' | 'join-error', at: joinEvent.at, code: joinEvent.code, message: joinEvent.message as string | undefined },
    producerLongestPauseMs: longestPause(ackTimes, killedAt - 1000, end),
    consumerLongestPauseMs: longestPause(doneTimes, killedAt - 1000, end),
    producerResumeMs: firstAfter(ackTimes),
    consumerResumeMs: firstAfter(doneTimes),
  };
  report.finalCounts = (await s.queue.counts().catch(() => undefined)) as Record<string, number> | undefined;
  printReport(report);
  return report;
}

export function printReport(r: FailoverReport): void {
  const dup = [...r.duplicated.values()].reduce((n, k) => n + k - 1, 0);
  const byError = new Map<string, number>();
  for (const e of r.errors) byError.set(`${e.role} ${e.event} ${String(e.code)}: ${e.message}`, (byError.get(`${e.role} ${e.event} ${String(e.code)}: ${e.message}`) ?? 0) + 1);
  console.log(
    [
      `failover [${r.label}]: master ${r.killedPort} SIGKILLed; replica ${r.promotion.newMasterPort} serving after ${r.promotion.ms} ms`,
      `  acknowledged ${r.acked.length}, processed ${r.processed.length}, lost ${r.lost.length}${r.lost.length ? ` (${r.lost.map((l) => `${l.key} acked ${l.at - r.killedAt} ms from the kill`).join(', ')})` : ''}, duplicated ${dup}, puts failed ${r.putFailed.length}`,
      `  producer: longest pause ${r.producerLongestPauseMs} ms, first put ${r.producerResumeMs} ms after the promotion, finished: ${r.producerFinished}`,
      `  consumer: longest pause ${r.consumerLongestPauseMs} ms, first done ${r.consumerResumeMs} ms after the promotion, exited: ${r.consumerExited}`,
      `  joiner: ${r.join.outcome}${r.join.at ? ` ${r.join.at - r.killedAt} ms after the kill` : ''}${r.join.message ? ` (${String(r.join.code)}: ${r.join.message})` : ''}`,
      `  errors seen by the application: ${r.errors.length}${[...byError].map(([k, n]) => `\n    ${n} × ${k}`).join('')}`,
      `  final counts: ${JSON.stringify(r.finalCounts)}`,
    ].join('\n'),
  );
}

/**
 * What asyncq guarantees across a failover: every process resumes on its own
 * within seconds and the run finishes; what reaches the application is an
 * asyncq error; nothing is processed that was never put; a task acknowledged
 * is lost only to asynchronous replication (acknowledged in the moments
 * before the promotion), and then the joiner is told with an error instead
 * of being released; with nothing lost, join resolves and nothing is left
 * unfinished.
 */
export function expectFailoverGuarantees(r: FailoverReport): void {
  expect(r.producerFinished, 'the producer finished its puts').toBe(true);
  expect(r.consumerExited, 'the consumer stopped when told').toBe(true);
  expect(r.join.outcome, 'the joiner did not hang').not.toBe('hung');
  expect(r.producerResumeMs, 'the producer resumed after the promotion').toBeGreaterThanOrEqual(0);
  expect(r.producerResumeMs).toBeLessThan(15_000);
  expect(r.consumerResumeMs, 'the consumer resumed after the promotion').toBeGreaterThanOrEqual(0);
  expect(r.consumerResumeMs).toBeLessThan(15_000);
  expect(r.errors.filter((e) => !e.asyncq), 'errors reaching the application are asyncq errors with a code').toEqual([]);
  const attempted = new Set([...r.acked.map((a) => a.key), ...r.putFailed]);
  expect(r.processed.filter((k) => !attempted.has(k)), 'processed items that were never put').toEqual([]);
  // Asynchronous replication can only lose what was written just before the old master died.
  const window = { from: r.killedAt - 1000, to: r.killedAt + r.promotion.ms };
  expect(r.lost.filter((l) => l.at < window.from || l.at > window.to), 'lost outside the replication window').toEqual([]);
  if (r.lost.length === 0) {
    expect(r.join).toMatchObject({ outcome: 'joined' });
    expect(r.finalCounts).toMatchObject({ waiting: 0, delayed: 0, active: 0, unfinished: 0 });
  } else {
    expect(r.join.outcome, 'a joiner is told about lost tasks, not silently released').toBe('join-error');
  }
}
