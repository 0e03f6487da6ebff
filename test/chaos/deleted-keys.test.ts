import { describe, expect, it } from 'vitest';
import { queueKeys } from '@asyncq/core/internal';
import { clientOutcome } from './harness/client-events.js';
import { report, secs } from './harness/figures.js';
import { ledgerDir, readLedger } from './harness/ledger.js';
import { linesOf, outputProblems } from './harness/output-hygiene.js';
import { RedisServer, sleep } from '@asyncq/test-support';
import { FIXTURES, startCli, startNode } from './harness/processes.js';
import { storedTasks } from './harness/queue-peek.js';

// Scenario 4 (issue 17): a key that holds running tasks is deleted from outside (an operator, a
// script, a partial rollback): the leases ZSET, a lease's held set, or the `active` list, while a
// worker runs 3 tasks of 3 s each. Guarantee: a task held under no live lease is found by the
// stalled check and comes back (it is not stranded), and/or joiners get QueueDataLost with the
// count; `join` never hangs, and never resolves while a task sits in no list.
const TASKS = 3;
/** The joiners must have ended by then: lease (3 s) + stalled interval (1 s) + a re-run of 3 s + slack. */
const END_WITHIN_MS = 30_000;

type Target = 'leases' | 'held sets' | 'active';

async function deleteWhileRunning(target: Target): Promise<void> {
  const redis = await RedisServer.start();
  const name = `deleted-${target.replace(' ', '-')}`;
  const dir = ledgerDir(name);
  const env = { REDIS_URL: redis.url, CHAOS_LEDGER_DIR: dir };
  const worker = startCli(['worker', `${FIXTURES}ledger-handlers.mjs`, '-q', name, '-c', '4', '--lease', '3s', '--stalled-interval', '1s'], { env, label: 'worker' });
  await worker.waitFor(new RegExp(`runs ${name}|started|serves`));
  const keys = Array.from({ length: TASKS }, (_, i) => `d-${i}`);
  const put = startNode('queue-client.mjs', ['put'], { env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, item: { k: 'first', ms: 0 } }) } });
  await put.exitWithin(10_000);
  const admin = redis.client();
  const k = queueKeys('asyncq', name);
  // Three long tasks, then joiners, then the deletion while all three run.
  const pipe = startNode('producer.mjs', [], { env: { CHAOS: JSON.stringify({ url: redis.url, queue: name, name: 'd', count: TASKS, ms: 3000, ackDir: dir }) } });
  await pipe.exitWithin(10_000);
  const joiner = startNode('queue-client.mjs', ['join'], { env: { CHAOS: JSON.stringify({ url: redis.url, queue: name }) }, label: 'joiner' });
  const cliJoiner = startCli(['join', name], { env, label: 'asyncq join' });
  for (let i = 0; i < 100 && keys.some((key) => !readLedger(dir).byKey.has(key)); i++) await sleep(50);
  await sleep(500);
  const doomed = target === 'leases' ? [k.leases] : target === 'active' ? [k.active] : await admin.keys(`${k.base}aq:held:*`);
  const deleted = doomed.length > 0 ? await admin.del(...doomed) : 0;
  const deletedAt = Date.now();

  const [joined, cliJoined] = await Promise.all([joiner.exitWithin(END_WITHIN_MS), cliJoiner.exitWithin(END_WITHIN_MS)]);
  const outcome = clientOutcome(joiner);
  const stored = await storedTasks(admin, name);
  const view = readLedger(dir);
  const finishedIn = (key: string): string => stored.find((t) => t.k === key)?.place ?? 'no list';
  const places = keys.map(finishedIn);
  const runs = keys.map((key) => view.byKey.get(key)?.length ?? 0);
  // When the last finished run of a task ended: a join that resolved before then resolved while a
  // task was still unfinished (running, and listed nowhere). Runs whose handler was aborted (their
  // lease was lost) record no end and do not count.
  const lastEnd = Math.max(0, ...keys.flatMap((key) => (view.byKey.get(key) ?? []).map((e) => e.end ?? 0)));
  const resolvedEarlyBy = outcome?.event === 'joined' ? lastEnd - outcome.at : undefined;

  report(`deleted-${target.replace(' ', '-')}`, {
    keysDeleted: deleted,
    joinerOutcome: outcome ? (outcome.event === 'error' ? outcome.code ?? outcome.name : outcome.event) : joined ? 'exited' : 'still waiting',
    missing: outcome?.missing,
    cliJoinExit: cliJoined ? cliJoined.code : 'still waiting',
    endedAfter: secs(joined ? joined.at - deletedAt : undefined),
    places: places.join(','),
    runs: runs.join(','),
    joinBeforeLastRunEnded: resolvedEarlyBy !== undefined && resolvedEarlyBy > 0 ? secs(resolvedEarlyBy) : 'no',
  });
  expect(deleted, `the ${target} existed and were deleted (the scenario's premise)`).toBeGreaterThan(0);
  expect.soft(joined, `the joiner ends within ${END_WITHIN_MS / 1000} s of the deletion (no hang)`).toBeDefined();
  expect.soft(cliJoined, 'asyncq join ends (no hang)').toBeDefined();
  if (outcome?.event === 'joined') {
    // Resolved: then every task must have finished for real, none left in no list or in active.
    expect.soft(places, 'join resolved: every task is completed (it came back and ran), none in no list').toEqual(keys.map(() => 'completed'));
    expect.soft(resolvedEarlyBy ?? 0, 'join resolved only after every task\'s last run ended (ms it was early)').toBeLessThanOrEqual(0);
    expect.soft(cliJoined?.code, 'asyncq join agrees').toBe(0);
  } else {
    expect.soft(outcome?.code, `the joiner is told of the loss: ${JSON.stringify(outcome)}`).toBe('QUEUE_DATA_LOST');
    expect.soft(outcome?.missing ?? 0, 'QueueDataLost says how many are missing').toBeGreaterThan(0);
    expect.soft(outcome?.partition, 'QueueDataLost names the partition').toBe(0);
    expect.soft(cliJoined?.code, 'asyncq join exits non-zero').not.toBe(0);
    expect.soft(linesOf(cliJoiner.stderr).at(-1) ?? '', 'asyncq join says so in its last line').toMatch(/QUEUE_DATA_LOST|lost/i);
  }
  expect.soft(outputProblems(worker.output), 'worker output').toEqual([]);
}

describe('a key holding running tasks, deleted from outside', () => {
  it('the leases ZSET: the tasks come back through the stalled check or joiners are told', { timeout: 90_000 }, async () => {
    await deleteWhileRunning('leases');
  });

  it('the held sets of the leases: the tasks come back or joiners are told', { timeout: 90_000 }, async () => {
    await deleteWhileRunning('held sets');
  });

  it('the active list: join never resolves with a task in no list', { timeout: 90_000 }, async () => {
    await deleteWhileRunning('active');
  });
});
