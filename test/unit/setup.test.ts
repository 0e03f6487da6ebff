import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without type declarations
import { missingTools } from '../../scripts/setup.mjs';

const SETUP = new URL('../../scripts/setup.mjs', import.meta.url).pathname;
type Tool = { name: string };
const names = (tools: Tool[]): string[] => tools.map((t) => t.name);

describe('set-up: what each purpose installs', () => {
  const nothing = (): boolean => false;
  const everything = (): boolean => true;

  it('the demo needs only redis-server, and not even that with REDIS_URL', () => {
    expect(names(missingTools('demo', { probe: nothing, env: {} }))).toEqual(['redis-server']);
    expect(names(missingTools('demo', { probe: nothing, env: { REDIS_URL: 'redis://127.0.0.1:6379' } }))).toEqual([]);
    expect(names(missingTools('demo', { probe: everything, env: {} }))).toEqual([]);
  });

  it('the tests need redis-server, tmux, prometheus (with promtool), a Chromium, faketime and podman', () => {
    expect(names(missingTools('test', { probe: nothing, env: {} }))).toEqual(['redis-server', 'tmux', 'prometheus', 'chromium', 'faketime', 'podman']);
    expect(names(missingTools('test', { probe: (cmd: string) => cmd !== 'promtool', env: {} }))).toEqual(['prometheus']);
    expect(names(missingTools('test', { probe: (cmd: string) => cmd === 'google-chrome' || cmd !== 'chromium', env: {} }))).toEqual([]);
    // podman alone is not enough on Linux: compose services need the CNI dnsname plugin to find each other.
    const noDnsname = (cmd: string): boolean => cmd !== '/usr/lib/cni/dnsname';
    expect(names(missingTools('test', { probe: noDnsname, env: {} }))).toEqual(process.platform === 'linux' ? ['podman'] : []);
  });
});

describe('set-up run on a machine with only Node (PATH restricted, apt-get a stub that records its arguments)', () => {
  const bin = mkdtempSync(join(tmpdir(), 'asyncq-setup-'));
  const log = join(bin, 'calls.log');
  afterAll(() => rmSync(bin, { recursive: true, force: true }));
  symlinkSync(process.execPath, join(bin, 'node'));
  // Each stub answers --version (so the tool counts as present) and records every other call.
  const stub = (name: string, body = ''): void => {
    writeFileSync(join(bin, name), `#!/bin/sh\n[ "$1" = --version ] && exit 0\necho "${name} $*" >> "${log}"\n${body}\nexit 0\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('pnpm'); // the build is not what is tested here
  stub('apt-get');
  writeFileSync(join(bin, 'sudo'), '#!/bin/sh\n[ "$1" = -n ] && shift\n"$@"\n'); // when the tests do not run as root
  chmodSync(join(bin, 'sudo'), 0o755);

  const setup = (purpose: string, env: Record<string, string> = {}): { status: number | null; out: string; calls: string[] } => {
    rmSync(log, { force: true });
    const r = spawnSync(process.execPath, [SETUP, '--quiet', '--for', purpose], { env: { PATH: bin, HOME: bin, ...env }, encoding: 'utf8', timeout: 20_000 });
    let calls: string[] = [];
    try {
      calls = readFileSync(log, 'utf8').trim().split('\n');
    } catch {}
    return { status: r.status, out: r.stdout + r.stderr, calls };
  };

  it('`npm run demo` installs redis-server and nothing else', () => {
    const { status, out, calls } = setup('demo');
    expect(status, out).toBe(0);
    expect(calls.filter((c) => c.startsWith('apt-get'))).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends redis-server']);
    expect(out).toContain('installing redis-server with apt-get');
  });

  it('`npm run demo` with REDIS_URL set installs nothing', () => {
    const { status, out, calls } = setup('demo', { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(status, out).toBe(0);
    expect(calls.filter((c) => c.startsWith('apt-get'))).toEqual([]);
    expect(out).toBe('');
  });

  it('`npm test` installs the test tools as well', () => {
    const { status, out, calls } = setup('test');
    expect(status, out).toBe(0);
    expect(calls.filter((c) => c.startsWith('apt-get'))).toEqual([
      'apt-get update -qq',
      'apt-get install -y -qq --no-install-recommends redis-server tmux prometheus chromium faketime ' +
        'podman runc catatonit golang-github-containernetworking-plugin-dnsname iptables podman-compose debootstrap',
    ]);
  });

  it('an unknown purpose is one line and a non-zero exit', () => {
    const { status, out } = setup('everything');
    expect(status).toBe(1);
    expect(out.trim()).toBe('setup: --for takes one of demo, test, not everything');
  });
});
