import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { redisUrl, track } from '../../test/helpers.js';

const run = promisify(execFile);
const here = (p: string): string => new URL(p, import.meta.url).pathname;

describe('README and examples', () => {
  it("the README's quick start is examples/src/quick-start.ts, which CI compiles", () => {
    const readme = readFileSync(here('../../README.md'), 'utf8');
    const block = /<!-- quick-start -->\s*```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'README.md needs a ```ts block after <!-- quick-start -->').toBeDefined();
    expect(block).toBe(readFileSync(here('../src/quick-start.ts'), 'utf8'));
  });

  it('the quick start runs against Redis', async () => {
    track({ close: async () => {} }, 'thumbnails');
    const { stdout } = await run('node', [here('../dist/quick-start.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 20_000 });
    expect(stdout).toContain('resizing https://example.com/cat.png');
  });

  it('the core demo runs two consumer processes and a producer to its summary', async () => {
    const { stdout } = await run('node', [here('../dist/core-demo.js')], { env: { ...process.env, REDIS_URL: redisUrl() }, timeout: 60_000 });
    expect(stdout).toMatch(/consumer A did \d+ tasks/);
    expect(stdout).toMatch(/consumer B did \d+ tasks/);
    const summary = /2 consumers did (\d+) tasks .* never held more than (\d+) ready tasks \(maxsize 20\)/.exec(stdout);
    expect(summary, stdout).not.toBeNull();
    expect(Number(summary![1])).toBe(200);
    expect(Number(summary![2])).toBeLessThanOrEqual(20);
  });
});
