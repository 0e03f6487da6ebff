import { spawn, type ChildProcess } from 'node:child_process';
import { FLEET_WORKER_ENV, type FleetWorkerSpec } from './worker-spec.js';
import { printable } from '../terminal-text.js';

/** Options of {@link WorkerSlots}. */
export interface WorkerSlotsOptions {
  /** What every worker process runs (each slot adds its metrics port). */
  spec: Omit<FleetWorkerSpec, 'metricsPort'>;
  /** The worker in slot i serves metrics on this port + i. @defaultValue no metrics ports */
  metricsPortBase?: number;
  /** Who the log lines are from: `fleet <id>`. */
  label: string;
  log: (line: string) => void;
  /**
   * Asked when a worker exits 0 by itself (it does so when its queue is shut down and empty):
   * true means its work is over, and the slot is not restarted.
   */
  finished?: () => Promise<boolean>;
  /** Called when the last slot ended because its work was over. */
  onAllFinished?: () => void;
}

/** A numbered place for one worker process: its metrics port and its own crash history. */
interface Slot {
  readonly index: number;
  child?: ChildProcess;
  retiring: boolean;
  /** When this slot's worker crashed, within the last CRASH_WINDOW_MS. */
  crashes: number[];
  restart?: NodeJS.Timeout;
  lastStderr: string;
}

const BIN = new URL('../bin.js', import.meta.url).pathname;
/** Restart delays grow from this, doubling per recent crash of the same slot, up to MAX_BACKOFF_MS. */
const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;
/** This many crashes of one slot within CRASH_WINDOW_MS is a crash loop, reported as such. */
const CRASH_LOOP = 5;
const CRASH_WINDOW_MS = 60_000;

/** The delay before restarting a slot whose worker crashed `crashes` times in the last minute (this one included). */
export function restartDelay(crashes: number): number {
  return Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** Math.max(0, crashes - 1));
}

/**
 * Keeps `target` worker processes alive, each in a numbered slot: a crashed worker is restarted in
 * its own slot after a delay that grows with that slot's crashes only, so one crash-looping
 * handler (or an operator killing workers) does not hold back the healthy slots; a smaller target
 * retires the newest workers gracefully (SIGTERM) and drops pending restarts first.
 */
export class WorkerSlots {
  private readonly slots = new Map<number, Slot>();
  private stopping = false;
  /** Worker processes restarted after a crash, since the slots were made. */
  private restartCount = 0;

  constructor(private readonly opts: WorkerSlotsOptions) {}

  /** Worker processes restarted after a crash (or an exit that did not end its work), since start. */
  get restarts(): number {
    return this.restartCount;
  }

  /** The slots whose worker process runs now (not retiring), by index: where their metrics are. */
  runningSlots(): number[] {
    return [...this.slots.values()].filter((s) => !s.retiring && s.child).map((s) => s.index).sort((a, b) => a - b);
  }

  /** Slots kept: workers running, and crashed ones waiting for their restart. */
  get size(): number {
    return [...this.slots.values()].filter((s) => !s.retiring).length;
  }

  /** Worker processes running now (not retiring). */
  get running(): number {
    return [...this.slots.values()].filter((s) => !s.retiring && s.child).length;
  }

  /** Starts or retires workers until `target` slots are kept. */
  resize(target: number): void {
    if (this.stopping) return;
    const kept = [...this.slots.values()].filter((s) => !s.retiring);
    for (let n = kept.length; n < target; n++) {
      let index = 0;
      while (this.slots.has(index)) index++; // a retiring worker still holds its port until it exits
      const slot: Slot = { index, retiring: false, crashes: [], lastStderr: '' };
      this.slots.set(index, slot);
      this.spawn(slot);
    }
    // Shrink: pending restarts go first, then the newest workers.
    const excess = kept.sort((a, b) => Number(Boolean(a.child)) - Number(Boolean(b.child)) || b.index - a.index).slice(0, Math.max(0, kept.length - target));
    for (const s of excess) void this.retire(s);
  }

  /** Stops every worker gracefully (they finish or hand back their tasks) and cancels pending restarts. */
  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all([...this.slots.values()].map((s) => this.retire(s)));
  }

  private spawn(slot: Slot): void {
    const { spec, metricsPortBase } = this.opts;
    const full: FleetWorkerSpec = { ...spec, fleetPid: process.pid, ...(metricsPortBase === undefined ? {} : { metricsPort: metricsPortBase + slot.index }) };
    // The fleet's own ASYNCQ_* settings are not the worker's (the CLI refuses options it does not
    // know); its settings, the Redis password among them, go in one variable, not on argv.
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ASYNCQ_')));
    env[FLEET_WORKER_ENV] = JSON.stringify(full);
    const child = spawn(process.execPath, [BIN, 'fleet-worker', spec.queue], { stdio: ['ignore', 'ignore', 'pipe'], env });
    slot.child = child;
    child.stderr!.on('data', (d: Buffer) => {
      const lines = d.toString().trim().split('\n');
      slot.lastStderr = lines.at(-1) ?? slot.lastStderr;
      for (const l of lines) this.opts.log(`worker ${child.pid}: ${printable(l)}`);
    });
    child.on('exit', (code, signal) => {
      if (slot.child === child) slot.child = undefined;
      if (slot.retiring || this.stopping) {
        if (this.slots.get(slot.index) === slot) this.slots.delete(slot.index);
        return;
      }
      if (code === 0 && !signal && this.opts.finished) {
        void this.opts.finished().then(
          (over) => (over ? this.ended(slot) : this.crashed(slot, code, signal)),
          () => this.crashed(slot, code, signal),
        );
        return;
      }
      this.crashed(slot, code, signal);
    });
  }

  /** A worker whose work is over (its queue shut down and empty): its slot is not restarted. */
  private ended(slot: Slot): void {
    if (this.slots.get(slot.index) === slot) this.slots.delete(slot.index);
    this.opts.log(`${this.opts.label}: the worker in slot ${slot.index} stopped: its queue is shut down and empty`);
    if (this.slots.size === 0) this.opts.onAllFinished?.();
  }

  private crashed(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    const now = Date.now();
    slot.crashes = [...slot.crashes.filter((t) => t > now - CRASH_WINDOW_MS), now];
    const delay = restartDelay(slot.crashes.length);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const { label, log } = this.opts;
    if (slot.crashes.length >= CRASH_LOOP) {
      const last = slot.lastStderr ? `: ${printable(slot.lastStderr)}` : '';
      log(`${label}: the worker in slot ${slot.index} keeps crashing (${slot.crashes.length} in ${CRASH_WINDOW_MS / 1000} s; the last ${how}${last}); restarting it in ${delay / 1000} s`);
    } else {
      log(`${label}: the worker in slot ${slot.index} ${how}; restarting it in ${delay / 1000} s`);
    }
    slot.restart = setTimeout(() => {
      slot.restart = undefined;
      if (!this.stopping && !slot.retiring && this.slots.get(slot.index) === slot) {
        this.restartCount++;
        this.spawn(slot);
      }
    }, delay);
    slot.restart.unref();
  }

  private retire(slot: Slot): Promise<void> {
    slot.retiring = true;
    clearTimeout(slot.restart);
    const { child } = slot;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      if (this.slots.get(slot.index) === slot) this.slots.delete(slot.index);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      // A worker that does not stop within its grace and a margin is stopped hard.
      // A worker stops within its grace, plus 2 s for handlers to settle after their abort and 5 s
      // to hand back and leave through a slow Redis (the worker's defaults); past that, it is stuck.
      setTimeout(() => child.kill('SIGKILL'), (this.opts.spec.graceMs ?? 10_000) + 2000 + 5000 + 1000).unref();
    });
  }
}
