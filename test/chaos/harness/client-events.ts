import type { ChaosProcess } from './processes.js';

/** One JSON line of fixtures/queue-client.mjs. */
export interface ClientEvent {
  event: 'ready' | 'got' | 'put' | 'joined' | 'error';
  at: number;
  code?: string | null;
  name?: string | null;
  message?: string;
  /** QueueDataLost: the partition that lost tasks, and how many. */
  partition?: number;
  missing?: number;
  id?: string;
  data?: unknown;
}

/** The JSON events a queue-client process printed, in order. */
export function clientEvents(p: ChaosProcess): ClientEvent[] {
  const out: ClientEvent[] = [];
  for (const line of p.stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as ClientEvent);
    } catch {
      // a line cut short
    }
  }
  return out;
}

/** Its outcome: the last event that is not `ready`, if any. */
export function clientOutcome(p: ChaosProcess): ClientEvent | undefined {
  return clientEvents(p).filter((e) => e.event !== 'ready').at(-1);
}
