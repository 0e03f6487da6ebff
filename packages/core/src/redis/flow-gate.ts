import { abortableWait, type Waiter } from '../abortable-wait.js';
import { ConfigError, QueueClosed, QueueShutDown } from '../errors.js';
import { preparePut, type PreparedPut } from '../put-checks.js';
import { safeJson } from '../options.js';
import { flowRef, taskRef, type FlowOptions, type FlowRef, type FlowStep, type TaskSource } from '../task-ref.js';
import { partitionOfKey, publicId, quota, sharingPartitions } from './partitions.js';
import { toAddItem } from './put-gate.js';
import type { QueueConfig } from './queue-config.js';
import { recheckDelay } from './queue-signals.js';
import type { RedisSession } from './redis-session.js';
import type { FlowItem } from './scripts.js';

/** Most tasks in one flow. */
const MAX_TASKS = 1000;

/**
 * Durable flows (`flow-13.lua`): a chain, whose steps run one after the other, each with the
 * previous one's result as its item; a chord, a group of tasks and then a callback with the group's
 * results in order. The flow lives in Redis, not here: once created, the consume script starts each
 * next step as its predecessor completes, atomically and once, whatever happens to this process.
 * A flow lives in one partition (chosen by `key`, else in turn). On a bounded queue, the tasks
 * ready at once must fit under maxsize: the call waits for room, as a put does.
 */
export class FlowGate {
  private rr = 0;
  private closed = false;

  constructor(
    private readonly config: QueueConfig,
    private readonly session: () => Promise<RedisSession>,
    private readonly source: TaskSource,
  ) {}

  chain(steps: readonly FlowStep[], opts?: FlowOptions): Promise<FlowRef> {
    if (!Array.isArray(steps) || steps.length === 0) throw new ConfigError('a chain needs at least one step: chain([{ name, data }, { name }, ...])');
    if (steps.length > MAX_TASKS) throw new ConfigError(`a chain of ${steps.length} steps is too long; split it into chains of at most ${MAX_TASKS}`);
    const items = steps.map((step, i) => this.prepare(step, i === 0, `step ${i + 1} of the chain`, i > 0 ? `step ${i}'s result` : ''));
    return this.create('chain', items, opts);
  }

  chord(group: readonly FlowStep[], callback: FlowStep, opts?: FlowOptions): Promise<FlowRef> {
    if (!Array.isArray(group) || group.length === 0) throw new ConfigError('a chord needs at least one task in its group: chord([{ name, data }, ...], { name })');
    if (group.length >= MAX_TASKS) throw new ConfigError(`a chord of ${group.length} tasks is too large; keep a group under ${MAX_TASKS}`);
    const items = group.map((step, i) => this.prepare(step, true, `task ${i + 1} of the chord's group`, ''));
    items.push(this.prepare(callback, false, "the chord's callback", "the group's results"));
    return this.create('chord', items, opts);
  }

  close(): void {
    this.closed = true;
  }

  /** One task of a flow, checked as a put is; `fed` names where a task fed by the flow gets its item. */
  private prepare(step: FlowStep, ownData: boolean, what: string, fed: string): { p: PreparedPut; item: FlowItem } {
    if (step === null || typeof step !== 'object') throw new ConfigError(`${what} must be { name, data?, opts? }, got ${safeJson(step)}`);
    if (typeof step.name !== 'string' || step.name.length === 0) {
      throw new ConfigError(`${what} names no task: give it { name: '<handler name>' } (or a task definition)`);
    }
    if (!ownData && step.data !== undefined) throw new ConfigError(`${what} gets ${fed} as its item: give it no data`);
    const o = step.opts ?? {};
    if (o === null || typeof o !== 'object') throw new ConfigError(`the options of ${what} must be an object, got ${safeJson(o)}`);
    for (const bad of ['id', 'key', 'signal', 'timeout', 'name'] as const) {
      if (bad in o) throw new ConfigError(`${what} takes no ${bad} option (a flow's tasks take priority, delay, attempts and backoff)`);
    }
    try {
      const p = preparePut({ order: this.config.order, maxPayloadBytes: this.config.maxPayloadBytes }, ownData ? (step.data ?? null) : null, { ...o, name: step.name });
      const { id: _id, ...item } = toAddItem(p, this.config);
      return { p, item: ownData ? item : { ...item, data: '' } };
    } catch (e) {
      if (e instanceof Error) e.message = `${what}: ${e.message}`;
      throw e;
    }
  }

  private async create(kind: 'chain' | 'chord', tasks: { p: PreparedPut; item: FlowItem }[], opts: FlowOptions | undefined): Promise<FlowRef> {
    if (this.closed) throw new QueueClosed(this.config.name);
    const k = this.config.partitions.length;
    if (opts?.key !== undefined && (typeof opts.key !== 'string' || opts.key.length === 0)) throw new ConfigError(`a flow's key must be a non-empty string, got ${safeJson(opts.key)}`);
    // Below the partition count, maxsize gives a share only to the first partitions: the rest admit nothing.
    const open = sharingPartitions(this.config.maxsize, k);
    const partition = opts?.key !== undefined ? partitionOfKey(opts.key, k) : this.rr++ % open;
    if (partition >= open) {
      throw new ConfigError(`a flow's key ${JSON.stringify(opts?.key)} maps to partition ${partition}, which has no share of maxsize ${this.config.maxsize} (only the first ${open} of ${k} partitions admit tasks): raise maxsize to at least ${k}, or drop the key`);
    }
    const readyNow = kind === 'chain' ? 1 : tasks.length - 1;
    const room = quota(this.config.maxsize, partition, k);
    if (room > 0 && readyNow > room) {
      throw new ConfigError(`a chord of ${readyNow} tasks cannot fit under this queue's maxsize (${room}${k > 1 ? ' in its partition' : ''}); split the group, or raise maxsize`);
    }
    const s = await this.session();
    const ids = await abortableWait<string[]>(kind, opts, (waiter) => {
      const stop = new AbortController();
      void this.tryCreate(s, kind, partition, tasks, waiter, stop.signal);
      return () => {
        stop.abort(); // wakes a wait for room; a call in flight settles the waiter by its answer
        return false;
      };
    });
    const refs = ids.map((jobId, i) => taskRef(this.source, publicId(partition, jobId, k), tasks[i]!.item.name));
    return flowRef(refs.at(-1)!, refs);
  }

  /** Tries until the tasks ready at once fit (woken by `room`, with the slow re-check); gives up on an abort. */
  private async tryCreate(
    s: RedisSession,
    kind: 'chain' | 'chord',
    p: number,
    tasks: { item: FlowItem }[],
    waiter: Waiter<string[]>,
    stop: AbortSignal,
  ): Promise<void> {
    const c = this.config;
    try {
      for (let round = 0; ; round++) {
        const r = await s.request(p, 'w', (req) =>
          s.scripts.flow(c.partitions[p]!, req, {
            kind,
            maxsize: quota(c.maxsize, p, c.partitions.length),
            epoch: s.nextEpoch(),
            lifo: c.order === 'lifo',
            roomWaitMs: 3 * c.stalledInterval,
            items: tasks.map((t) => t.item),
          }),
        );
        if (r.status === 'created') {
          s.noteTotals(p, r.added, r.lostTotal);
          return waiter.resolve(r.ids);
        }
        if (r.status === 'shut down') return waiter.reject(new QueueShutDown(c.name));
        if (waiter.pendingAbort) return waiter.reject(waiter.pendingAbort);
        if (this.closed) return waiter.reject(new QueueClosed(c.name));
        const signals = await s.signals();
        await signals.next(['room', 'shutdown'], recheckDelay(round, c.stalledInterval), stop);
        if (waiter.pendingAbort) return waiter.reject(waiter.pendingAbort);
      }
    } catch (e) {
      waiter.reject(e);
    }
  }
}
