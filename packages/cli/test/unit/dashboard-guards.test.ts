import { describe, expect, it } from 'vitest';
import { localPage } from '../../src/dashboard/board-mount.js';
import { LoginThrottle } from '../../src/dashboard/login-throttle.js';
import { allowedHostsOf, hostAllowList } from '../../src/dashboard/request-guard.js';

describe('LoginThrottle', () => {
  it('lets a few failures pass, then doubles the wait up to the cap; a success or a quiet spell forgets', () => {
    const t = new LoginThrottle({ free: 3, firstWaitMs: 1000, maxWaitMs: 8000, forgetMs: 60_000 });
    const waits = Array.from({ length: 8 }, (_, i) => t.failed('a', i * 10));
    expect(waits).toEqual([0, 0, 0, 1000, 2000, 4000, 8000, 8000]);
    expect(t.waitMs('a', 570)).toBe(7500);
    expect(t.waitMs('b', 570)).toBe(0); // per client
    t.succeeded('a');
    expect(t.waitMs('a', 570)).toBe(0);
    expect([1, 2, 3, 4].map(() => t.failed('c', 0))).toEqual([0, 0, 0, 1000]);
    expect(t.failed('c', 61_000 + 1)).toBe(0); // a minute without failures: a fresh start
  });

  it('remembers at most maxClients clients, forgetting the oldest first', () => {
    const t = new LoginThrottle({ free: 0, firstWaitMs: 1000, maxClients: 3 });
    for (const c of ['a', 'b', 'c', 'd']) t.failed(c, 0);
    expect(['a', 'b', 'c', 'd'].map((c) => t.waitMs(c, 0))).toEqual([0, 1000, 1000, 1000]);
  });
});

describe('hostAllowList', () => {
  it('allows the bound address, loopback names when bound to loopback, any address when bound to every interface, and the names given', () => {
    expect([...hostAllowList('127.0.0.1').names]).toEqual(['127.0.0.1', 'localhost', '[::1]']);
    expect([...hostAllowList('::1').names]).toEqual(['[::1]', 'localhost', '127.0.0.1']);
    expect(hostAllowList('10.0.0.5', ['Dash.Example.com.'])).toMatchObject({ names: new Set(['10.0.0.5', 'dash.example.com']), anyAddress: false, given: new Set(['dash.example.com']) });
    expect(hostAllowList('0.0.0.0').anyAddress).toBe(true);
    expect(hostAllowList('::').anyAddress).toBe(true);
    for (const bad of ['http://x', 'x:80', 'a/b', 'a b', '*']) expect(() => hostAllowList('127.0.0.1', [bad]), bad).toThrow(/--allowed-host takes a host name/);
    expect(allowedHostsOf(['a, b', 'c'], 'ignored')).toEqual(['a', 'b', 'c']);
    expect(allowedHostsOf(undefined, ' x ,y,')).toEqual(['x', 'y']);
    expect(allowedHostsOf('z', undefined)).toEqual(['z']);
  });
});

describe("bull-board's page", () => {
  it("loses its links to other sites, keeps its own, and links asyncq's stylesheet (which hides the refused buttons)", () => {
    const html =
      '<!DOCTYPE html><head><link href="https://fonts.googleapis.com/css2?family=IBM+Plex+Sans" rel="stylesheet">\n' +
      "<link rel=stylesheet href='//cdn.example/x.css'><link href=\"static/css/main.css\" rel=\"stylesheet\"></head>";
    expect(localPage(html)).toBe('<!DOCTYPE html><head><link href="static/css/main.css" rel="stylesheet"><link href="asyncq/board.css" rel="stylesheet"></head>');
  });
});
