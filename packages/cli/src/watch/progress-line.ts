import logUpdate from 'log-update';
import type { CliContext } from '../cli-context.js';

/** A progress bar redrawn in place on a terminal; elsewhere silent (the command prints a summary). */
export class ProgressLine {
  private readonly t0 = performance.now();

  constructor(
    private readonly ctx: CliContext,
    private readonly label: string,
  ) {}

  update(n: number, total: number, extra = ''): void {
    if (!this.ctx.tty) return;
    const width = 30;
    const filled = total > 0 ? Math.round((n / total) * width) : 0;
    const rate = n / Math.max((performance.now() - this.t0) / 1000, 0.001);
    logUpdate(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${n}/${total} ${this.label} ${Math.round(rate)}/s${extra}`);
  }

  /** Shows `text` in place of the bar (terminal only). */
  show(text: string): void {
    if (this.ctx.tty) logUpdate(text);
  }

  done(): void {
    if (this.ctx.tty) logUpdate.clear();
  }
}
