import { describe, expect, it } from 'vitest';
import { usageLine } from '../../src/grammar/usage-errors.js';

describe('usageLine (no Redis)', () => {
  const usages = { put: 'put <queue> [json]', stats: 'stats [queues..]' };

  it("turns yargs' messages into one line naming the mistake and the usage", () => {
    expect(usageLine('Did you mean worker?', ['wrkr'])).toBe('unknown command "wrkr" (did you mean asyncq worker?)');
    expect(usageLine('Unknown argument: xyzzy', ['xyzzy'])).toBe('unknown command "xyzzy" (asyncq --help lists the commands)');
    expect(usageLine('Unknown argument: bogus', ['stats', '--bogus'], usages)).toBe('unknown option --bogus (the usage is asyncq stats [queues..]; asyncq stats --help lists the options)');
    expect(usageLine('Unknown arguments: x, 2', ['put', 'q', '1', '2', '-x'], usages)).toBe('unknown option -x, unexpected argument "2" (the usage is asyncq put <queue> [json]; asyncq put --help lists the options)');
    expect(usageLine('Not enough non-option arguments: got 0, need at least 1', ['put'], usages)).toBe('missing argument: the usage is asyncq put <queue> [json] (asyncq put --help explains each)');
    expect(usageLine('Invalid values:\n  Argument: log-format, Given: "xml", Choices: "json", "pretty"', ['worker'])).toBe('--log-format must be one of json, pretty; got "xml"');
    expect(usageLine('Not enough arguments following: c', ['worker', 'h.js', '-c'])).toBe('-c needs a value (asyncq worker --help shows the usage)');
    expect(usageLine('Missing required argument: queue', ['worker', 'h.js'])).toBe('Missing required argument: queue (asyncq worker --help shows the usage)');
  });

  it('escapes control characters a mistyped argument carries', () => {
    expect(usageLine('Did you mean stats?', ['stat\u001b[2J'])).toBe('unknown command "stat\\\\x1b[2J" (did you mean asyncq stats?)');
  });
});
