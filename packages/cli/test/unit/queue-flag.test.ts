import { describe, expect, it } from 'vitest';
import { queueFlagToArgument } from '../../src/grammar/queue-flag.js';

describe('-q/--queue as the queue argument (no Redis)', () => {
  it('moves -q, --queue, -q= and --queue= to the first argument of a queue command, wherever they stand', () => {
    expect(queueFlagToArgument(['join', '-q', 'emails', '--timeout', '5s'])).toEqual(['join', 'emails', '--timeout', '5s']);
    expect(queueFlagToArgument(['put', '--name', 'send', '--queue', 'emails', '{}'])).toEqual(['put', 'emails', '--name', 'send', '{}']);
    expect(queueFlagToArgument(['--prefix', 'p', 'inspect', '--queue=emails'])).toEqual(['--prefix', 'p', 'inspect', 'emails']);
    expect(queueFlagToArgument(['-q=a', 'stats', '-q', 'b'])).toEqual(['stats', 'a', 'b']);
    expect(queueFlagToArgument(['logs', 'emails', '7'])).toEqual(['logs', 'emails', '7']);
  });

  it('leaves commands whose -q is an option of their own alone, and what follows --', () => {
    expect(queueFlagToArgument(['worker', 'h.js', '-q', 'emails'])).toEqual(['worker', 'h.js', '-q', 'emails']);
    expect(queueFlagToArgument(['metrics', '-q', 'a', '-q', 'b'])).toEqual(['metrics', '-q', 'a', '-q', 'b']);
    expect(queueFlagToArgument(['put', 'q', '--', '-q'])).toEqual(['put', 'q', '--', '-q']);
    expect(queueFlagToArgument(['--redis-url', 'put', 'stats'])).toEqual(['--redis-url', 'put', 'stats']);
  });

  it('says what is wrong with a -q without a name, or several for a one-queue command', () => {
    expect(() => queueFlagToArgument(['join', '-q'])).toThrow('-q needs a queue name, e.g. asyncq join -q emails');
    expect(() => queueFlagToArgument(['join', '--queue', '--timeout', '1s'])).toThrow('--queue needs a queue name, e.g. asyncq join --queue emails');
    expect(() => queueFlagToArgument(['join', '--queue='])).toThrow('--queue= needs a queue name, e.g. asyncq join --queue=emails');
    expect(() => queueFlagToArgument(['join', '-q', 'a', '-q', 'b'])).toThrow('asyncq join takes one queue; -q/--queue was given 2 times (a, b)');
  });
});
