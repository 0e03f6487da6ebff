import type { Metric, Registry } from 'prom-client';

/** One sample of a family: its label values, in the family's label order, and its value. */
interface Sample {
  labels: readonly string[];
  value: number;
}

/**
 * A family of per-queue series (say `asyncq_queue_tasks{queue,state}`) that the exporter replaces
 * whole at each collect. It is a metric of the registry like any other (`registry.metrics()`,
 * `Registry.merge` and prom-client's JSON see it), and it also formats itself straight into the
 * text format: at 20,000 queues the exporter has some 300,000 samples, which prom-client's generic
 * label hashing and formatting take seconds to set and print on a busy machine, against a tenth of
 * that here.
 */
export class QueueFamily {
  readonly aggregator = 'sum' as const;
  private samples: Sample[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
    readonly labelNames: readonly string[],
    /** Brings the samples up to date (the exporter's shared collect). */
    readonly collect: () => Promise<void>,
  ) {}

  /** Forgets every sample: a queue gone since the last collect leaves none. */
  reset(): void {
    this.samples = [];
  }

  /** Adds a sample with these label values, in `labelNames` order. */
  add(labels: readonly string[], value: number): void {
    this.samples.push({ labels, value });
  }

  /** The family as prom-client returns a metric (`registry.metrics()` and `getMetricsAsJSON()` use it). */
  async get(): Promise<{ name: string; help: string; type: 'gauge' | 'counter'; aggregator: 'sum'; values: { labels: Record<string, string>; value: number }[] }> {
    await this.collect();
    const values = this.samples.map((s) => ({ labels: Object.fromEntries(this.labelNames.map((n, i) => [n, s.labels[i]!])), value: s.value }));
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Collects, then gives the family in the Prometheus text format (0.0.4), as prom-client prints it. */
  async promText(): Promise<string> {
    await this.collect();
    return this.text();
  }

  private text(): string {
    let out = `# HELP ${this.name} ${escape(this.help)}\n# TYPE ${this.name} ${this.type}`;
    const names = this.labelNames;
    for (const s of this.samples) {
      out += `\n${this.name}{${names[0]}="${labelValue(s.labels[0]!)}"`;
      for (let i = 1; i < names.length; i++) out += `,${names[i]}="${labelValue(s.labels[i]!)}"`;
      out += `} ${valueText(s.value)}`;
    }
    return out;
  }

  /** Registers the family with `registry` (a prom-client metric in all but its class). */
  registerWith(registry: Registry): this {
    registry.registerMetric(this as unknown as Metric);
    return this;
  }
}

/**
 * What `registry.metrics()` gives, faster: every metric in the text format, in the order
 * registered, the queue families formatted by themselves and the others by prom-client. Every
 * metric is asked at once, so all wait for one shared collect, as in `registry.metrics()`.
 */
export async function registryText(registry: Registry): Promise<string> {
  const parts = await Promise.all(
    registry.getMetricsAsArray().map((m: unknown) => (m instanceof QueueFamily ? m.promText() : registry.getSingleMetricAsString((m as { name: string }).name))),
  );
  return `${parts.join('\n\n')}\n`;
}

/** A label value as the text format writes it (backslash, new line and double quote escaped); most need nothing. */
function labelValue(v: string): string {
  return v.includes('\\') || v.includes('\n') || v.includes('"') ? escape(v).replace(/"/g, '\\"') : v;
}

function escape(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function valueText(v: number): string {
  if (Number.isNaN(v)) return 'Nan';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}
