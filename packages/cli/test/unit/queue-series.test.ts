import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { QueueFamily, registryText } from '../../src/exporter/queue-series.js';

describe('QueueFamily', () => {
  it('prints exactly what prom-client prints for the same samples, and collects once for every metric', async () => {
    // Shared while in flight, as the exporter's collect is: one per scrape if every metric asks at once.
    let collects = 0;
    let inFlight: Promise<void> | undefined;
    const collect = (): Promise<void> => (inFlight ??= (async () => void collects++)().finally(() => (inFlight = undefined)));
    const registry = new Registry();
    const up = new Gauge({ name: 'x_up', help: 'up', registers: [registry], collect });
    up.set(1);
    const tasks = new QueueFamily('x_tasks', 'Tasks by state; a \\ backslash\nand a new line in the help.', 'gauge', ['queue', 'state'], collect).registerWith(registry);
    const done = new QueueFamily('x_done_total', 'Done.', 'counter', ['queue'], collect).registerWith(registry);
    const errors = new Counter({ name: 'x_errors_total', help: 'errors', registers: [registry], collect });
    errors.inc(3);
    for (const name of ['plain', 'with "quotes"', 'back\\slash', 'ünïcode-名前', '.']) {
      tasks.add([name, 'waiting'], 3);
      tasks.add([name, 'delayed'], 0.25);
      done.add([name], 1e21);
    }
    const fast = await registryText(registry);
    expect(collects).toBe(1);
    expect(fast).toBe(await registry.metrics());
    expect(fast).toContain('x_tasks{queue="with \\"quotes\\"",state="waiting"} 3');
    expect(fast).toContain('x_tasks{queue="back\\\\slash",state="delayed"} 0.25');
    tasks.reset();
    expect(await registryText(registry)).toBe(await registry.metrics());
    expect(await registryText(registry)).toContain('# TYPE x_tasks gauge\n\n# HELP x_done_total');
  });
});
