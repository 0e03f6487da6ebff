/** One metric family of a Prometheus text: its HELP and TYPE lines and its sample lines. */
interface Family {
  help?: string;
  type?: string;
  samples: string[];
}

/** The scraped text of one worker, by the slot it runs in. */
export interface SlotText {
  slot: number;
  text: string;
}

/**
 * Merges the Prometheus texts (format 0.0.4) of a fleet's workers into one: each family once, with
 * its HELP and TYPE from the first worker that has it, and every sample labelled with its worker's
 * `slot`, so series of two workers never collide and `sum by (queue)` adds the fleet up. Sample
 * order within a family keeps each worker's own (a histogram's buckets stay in order). `extra` is
 * text appended as it is (the fleet's own metrics).
 */
export function mergeSlotTexts(texts: readonly SlotText[], extra = ''): string {
  const families = new Map<string, Family>();
  const familyOf = (name: string): Family => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const { slot, text } of texts) {
    let current: string | undefined;
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
      if (meta) {
        const [, kind, name, rest] = meta;
        current = name!;
        const f = familyOf(current);
        if (kind === 'HELP') f.help ??= rest ?? '';
        else f.type ??= rest ?? 'untyped';
        continue;
      }
      if (line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(.*)$/.exec(line);
      if (!m) continue;
      const [, name, labels, value] = m;
      // A sample belongs to the family above it (a histogram's _bucket, _sum and _count), else its own.
      const family = current !== undefined && name!.startsWith(current) ? current : name!;
      const inner = labels ? labels.slice(1, -1) : '';
      familyOf(family).samples.push(`${name}{slot="${slot}"${inner ? `,${inner}` : ''}} ${value}`);
    }
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    if (f.help !== undefined) out.push(`# HELP ${name} ${f.help}`);
    if (f.type !== undefined) out.push(`# TYPE ${name} ${f.type}`);
    out.push(...f.samples);
  }
  const merged = out.length ? `${out.join('\n')}\n` : '';
  return extra ? `${merged}${merged ? '\n' : ''}${extra.trimEnd()}\n` : merged;
}
