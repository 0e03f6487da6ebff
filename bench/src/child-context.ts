import { readFileSync, writeFileSync } from 'node:fs';
import { GO, type ChildMessage, type ChildSpec } from './protocol.js';

/**
 * A bench child's side of the protocol: says "ready", waits for "go", starts the clock, reports
 * progress, and stops the clock with the peak RSS and the CPU the process used meanwhile.
 */
export class ChildContext {
  /** Tasks finished (or handled) so far, for progress reports. */
  done = 0;
  private t0 = 0;
  private cpu0: NodeJS.CpuUsage = process.cpuUsage();
  private sampledPeak = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly go = new Promise<void>((resolve) => process.on('message', (m) => m === GO && resolve()));

  constructor(readonly spec: ChildSpec) {}

  /** Reports ready (the engine is connected), waits for "go", then starts the clock. */
  async ready(): Promise<void> {
    send({ event: 'ready', rss: process.memoryUsage.rss() });
    await this.go;
    // The kernel's own peak (VmHWM) costs nothing while the run goes; reset it so it covers the run only.
    if (!resetPeakRss()) this.timers.push(setInterval(() => (this.sampledPeak = Math.max(this.sampledPeak, process.memoryUsage.rss())), 50));
    if (this.spec.progressMs > 0) {
      this.timers.push(setInterval(() => send({ event: 'progress', done: this.done, rss: process.memoryUsage.rss() }), this.spec.progressMs));
    }
    this.cpu0 = process.cpuUsage();
    this.t0 = performance.now();
  }

  /** Stops the clock and reports. */
  finish(samples?: number[]): void {
    const ms = performance.now() - this.t0;
    const cpu = process.cpuUsage(this.cpu0);
    for (const t of this.timers) clearInterval(t);
    const peakRss = Math.max(peakRssSinceReset() ?? 0, this.sampledPeak, process.memoryUsage.rss());
    send({ event: 'done', ms, peakRss, cpuUs: cpu.user + cpu.system, ...(samples ? { samples } : {}) });
  }
}

/** Sends a message to the driver. */
export function send(m: ChildMessage): void {
  process.send?.(m);
}

function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return peakRssSinceReset() !== undefined;
  } catch {
    return false;
  }
}

function peakRssSinceReset(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
