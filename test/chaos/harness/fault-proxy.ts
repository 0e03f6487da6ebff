import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterAll } from 'vitest';
import { LuaScripts } from './lua-scripts.js';
import { CommandReader, replyEnd, type RespCommand } from './resp.js';

/**
 * A TCP proxy on 127.0.0.1 in front of one Redis server, that injects the network faults `tc netem`
 * cannot give us here: delay, stall (stop forwarding in one or both directions), cut connections,
 * refuse new ones, and, above all, cut a connection right after Redis has received a given command
 * but before its reply reaches the client (ioredis then reconnects and sends the command again).
 *
 * It reads the RESP stream both ways: each client command (name, arguments, and for EVAL/EVALSHA
 * which of asyncq's Lua scripts it runs) is paired with its reply, in order, so a rule can match a
 * command and act on its reply alone. Connections in pub/sub mode are passed through unpaired.
 *
 * @example
 * ```ts
 * const proxy = await FaultProxy.start(redis.port);
 * const cut = proxy.cutReplyTo({ script: 'add', args: (a) => a.some((x) => x.includes('"k":"p-1500"')) });
 * // ... a client connected to proxy.url runs putMany ...
 * await cut.fired;        // Redis ran that add; the client never saw its reply
 * proxy.stall({ ms: 9000, direction: 'both', connection: (c) => c.id === 3 });
 * await proxy.close();
 * ```
 */
export class FaultProxy {
  readonly connections = new Set<ProxyConnection>();
  /** Every connection ever accepted, live or not. */
  readonly history: ProxyConnection[] = [];
  private readonly rules: CutRule[] = [];
  private readonly stalls: StallRule[] = [];
  private delayMs = 0;
  private refusing = false;
  private nextId = 1;
  private readonly scripts = new LuaScripts();

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly target: { host: string; port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** A proxy on a free loopback port in front of `targetPort` on 127.0.0.1. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<FaultProxy> {
    const server = createServer({ noDelay: true } as never);
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const a = server.address();
        if (typeof a === 'object' && a) resolve(a.port);
        else reject(new Error('fault proxy: no port'));
      });
    });
    const proxy = new FaultProxy(server, port, { host: targetHost, port: targetPort });
    proxies.add(proxy);
    return proxy;
  }

  /** `redis://127.0.0.1:<proxy port>`, with a password when given. */
  url(password?: string): string {
    return `redis://${password ? `:${encodeURIComponent(password)}@` : ''}127.0.0.1:${this.port}`;
  }

  /** Commands seen from clients so far, all connections together (by name, e.g. `EVALSHA`, or `script:consume`). */
  commandCounts(filter: (c: ProxyConnection) => boolean = () => true): Map<string, number> {
    const out = new Map<string, number>();
    for (const c of this.history) {
      if (!filter(c)) continue;
      for (const [k, n] of c.counts) out.set(k, (out.get(k) ?? 0) + n);
    }
    return out;
  }

  /** Total commands seen from clients (over connections `filter` accepts). */
  totalCommands(filter: (c: ProxyConnection) => boolean = () => true): number {
    return this.history.filter(filter).reduce((n, c) => n + c.commands, 0);
  }

  /**
   * Arms a trap: the next reply (or `times` replies) to a command matching `match` never reaches
   * its client: the proxy lets the command through to Redis, forwards every reply before it, then
   * destroys both sides of the connection when the matching reply's first byte arrives (or, with
   * `match.reply`, once the whole reply has arrived and the predicate accepted it).
   */
  cutReplyTo(match: CommandMatch, opts: { times?: number } = {}): ReplyCut {
    const rule = new CutRule(match, opts.times ?? 1);
    this.rules.push(rule);
    return rule;
  }

  /**
   * Stops forwarding, in `direction` (`up`: client to Redis, `down`: Redis to client, or `both`),
   * on the connections `connection` accepts (all by default, new ones included), for `ms`
   * (forever when omitted, until {@link resume}). Data is held, not dropped: it flows again after.
   */
  stall(opts: { ms?: number; direction?: Direction; connection?: (c: ProxyConnection) => boolean } = {}): void {
    const rule: StallRule = { direction: opts.direction ?? 'both', connection: opts.connection ?? (() => true) };
    this.stalls.push(rule);
    for (const c of this.connections) c.applyStalls();
    if (opts.ms !== undefined) {
      setTimeout(() => this.unstall(rule), opts.ms).unref();
    }
  }

  /** Ends every stall. */
  resume(): void {
    for (const r of [...this.stalls]) this.unstall(r);
  }

  private unstall(rule: StallRule): void {
    const i = this.stalls.indexOf(rule);
    if (i >= 0) this.stalls.splice(i, 1);
    for (const c of this.connections) c.applyStalls();
  }

  /** True when `c` must not forward in `dir` now. */
  stalled(c: ProxyConnection, dir: 'up' | 'down'): boolean {
    return this.stalls.some((s) => (s.direction === 'both' || s.direction === dir) && s.connection(c));
  }

  /** Delays every chunk, both ways, by `ms` (0 to stop). Order is kept. */
  delay(ms: number): void {
    this.delayMs = ms;
  }

  get delayOf(): number {
    return this.delayMs;
  }

  /** Destroys the connections `filter` accepts (all by default); clients see a reset. */
  cut(filter: (c: ProxyConnection) => boolean = () => true): number {
    let n = 0;
    for (const c of [...this.connections]) {
      if (filter(c)) {
        c.destroy('cut');
        n++;
      }
    }
    return n;
  }

  /** While on, new connections are accepted and closed at once (a server that is down). */
  refuse(on: boolean): void {
    this.refusing = on;
  }

  /** Closes the proxy and every connection through it. */
  async close(): Promise<void> {
    proxies.delete(this);
    for (const c of [...this.connections]) c.destroy('proxy closed');
    await new Promise((r) => this.server.close(r));
  }

  private accept(client: Socket): void {
    if (this.refusing) {
      client.destroy();
      return;
    }
    const c = new ProxyConnection(this.nextId++, this, client, connect(this.target.port, this.target.host), this.scripts);
    this.connections.add(c);
    this.history.push(c);
  }

  /** Called by a connection for each command it reads: the rules that want its reply. */
  ruleFor(c: ProxyConnection, cmd: RespCommand, script: string | undefined): CutRule | undefined {
    return this.rules.find((r) => r.remaining > 0 && r.matches(c, cmd, script));
  }

  /** Called by a connection when it closes. */
  forget(c: ProxyConnection): void {
    this.connections.delete(c);
  }
}

/** Which way data flows: `up` from the client to Redis, `down` from Redis to the client. */
export type Direction = 'up' | 'down' | 'both';

/** What a {@link FaultProxy.cutReplyTo} trap matches. Every given condition must hold. */
export interface CommandMatch {
  /** The command's name, e.g. `EVALSHA`, `SET` (case-insensitive), or a pattern for the upper-case name. */
  command?: string | RegExp;
  /** One of asyncq's Lua scripts by file stem (`add`, `consume`, `fail`, ...), run by EVAL or EVALSHA. */
  script?: string;
  /** A condition on the arguments (UTF-8 text; for EVALSHA the SHA is the first). */
  args?: (args: string[]) => boolean;
  /** A condition on the whole raw reply; without it the cut comes with the reply's first byte. */
  reply?: (raw: string) => boolean;
  /** Only on the connections this accepts. */
  connection?: (c: ProxyConnection) => boolean;
}

/** One firing of a trap: which command's reply was cut, on which connection, when. */
export interface CutRecord {
  connection: number;
  command: string;
  script: string | undefined;
  at: number;
  /** The raw reply that was withheld, when the trap waited for all of it. */
  reply?: string;
}

/** An armed trap of {@link FaultProxy.cutReplyTo}. */
export interface ReplyCut {
  /** Every firing so far. */
  readonly records: CutRecord[];
  /** Resolves with the first firing. */
  readonly fired: Promise<CutRecord>;
  /** Fires no more. */
  disarm(): void;
}

class CutRule implements ReplyCut {
  readonly records: CutRecord[] = [];
  readonly fired: Promise<CutRecord>;
  private resolve!: (r: CutRecord) => void;

  constructor(
    readonly match: CommandMatch,
    public remaining: number,
  ) {
    this.fired = new Promise((r) => (this.resolve = r));
  }

  matches(c: ProxyConnection, cmd: RespCommand, script: string | undefined): boolean {
    const m = this.match;
    if (typeof m.command === 'string' && m.command.toUpperCase() !== cmd.name) return false;
    if (m.command instanceof RegExp && !m.command.test(cmd.name)) return false;
    if (m.script && m.script !== script) return false;
    if (m.connection && !m.connection(c)) return false;
    if (m.args && !m.args(cmd.args)) return false;
    return true;
  }

  record(r: CutRecord): void {
    this.remaining--;
    this.records.push(r);
    this.resolve(r);
  }

  disarm(): void {
    this.remaining = 0;
  }
}

interface StallRule {
  direction: Direction;
  connection: (c: ProxyConnection) => boolean;
}

interface Pending {
  cmd: RespCommand;
  script: string | undefined;
  rule: CutRule | undefined;
}

/** One client connection through the proxy, and its connection to Redis. */
export class ProxyConnection {
  readonly openedAt = Date.now();
  closedAt: number | undefined;
  /** Why it closed: 'client', 'server', 'cut', 'reply cut', 'proxy closed'. */
  closedBy: string | undefined;
  /** The name the client gave itself with CLIENT SETNAME, if any. */
  name: string | undefined;
  /** Commands it sent, by name (and `script:<stem>` for asyncq's scripts). */
  readonly counts = new Map<string, number>();
  commands = 0;
  /**
   * True once it subscribed, or started replication (PSYNC/SYNC: an RDB payload and a command
   * stream follow, not replies): from then on bytes pass through unpaired.
   */
  pubsub = false;
  private readonly reader = new CommandReader();
  private readonly pending: Pending[] = [];
  /** Reply bytes not yet known to be whole, from a reply boundary on; `sent` of them already forwarded. */
  private acc: Buffer = Buffer.alloc(0);
  private sent = 0;
  private readonly upQueue: Buffer[] = [];
  private readonly downQueue: Buffer[] = [];

  constructor(
    readonly id: number,
    private readonly proxy: FaultProxy,
    readonly client: Socket,
    readonly server: Socket,
    private readonly scripts: LuaScripts,
  ) {
    client.setNoDelay(true);
    server.setNoDelay(true);
    client.on('data', (d: Buffer) => this.fromClient(d));
    server.on('data', (d: Buffer) => this.fromServer(d));
    client.on('close', () => this.destroy(this.closedBy ?? 'client'));
    server.on('close', () => this.destroy(this.closedBy ?? 'server'));
    client.on('error', () => {});
    server.on('error', () => {});
    this.applyStalls();
  }

  get alive(): boolean {
    return this.closedAt === undefined;
  }

  /** Pauses or resumes reading on each side according to the proxy's stalls. */
  applyStalls(): void {
    if (!this.alive) return;
    // Reading is paused on the side whose data must not flow, so it piles up in the kernel and the sender.
    if (this.proxy.stalled(this, 'up')) this.client.pause();
    else this.client.resume();
    if (this.proxy.stalled(this, 'down')) this.server.pause();
    else this.server.resume();
  }

  destroy(why: string): void {
    if (this.closedAt !== undefined) return;
    this.closedAt = Date.now();
    this.closedBy = why;
    this.client.destroy();
    this.server.destroy();
    this.proxy.forget(this);
  }

  private send(to: Socket, queue: Buffer[], data: Buffer): void {
    const ms = this.proxy.delayOf;
    if (ms <= 0 && queue.length === 0) {
      to.write(data);
      return;
    }
    // Delayed chunks keep their order: each waits for those before it.
    queue.push(data);
    setTimeout(() => {
      const next = queue.shift();
      if (next && !to.destroyed) to.write(next);
    }, ms);
  }

  private fromClient(d: Buffer): void {
    if (this.pubsub) {
      this.send(this.server, this.upQueue, d);
      return;
    }
    for (const cmd of this.reader.push(d)) {
      this.commands++;
      this.counts.set(cmd.name, (this.counts.get(cmd.name) ?? 0) + 1);
      const script = this.scripts.identify(cmd.name, cmd.args);
      if (script) this.counts.set(`script:${script}`, (this.counts.get(`script:${script}`) ?? 0) + 1);
      if (cmd.name === 'CLIENT' && cmd.args[0]?.toUpperCase() === 'SETNAME') this.name = cmd.args[1];
      if (/^(P|S)?SUBSCRIBE$|^P?SYNC$/.test(cmd.name)) this.pubsub = true;
      this.pending.push({ cmd, script, rule: this.pubsub ? undefined : this.proxy.ruleFor(this, cmd, script) });
    }
    this.send(this.server, this.upQueue, d);
  }

  private fromServer(d: Buffer): void {
    if (this.pubsub) {
      this.send(this.client, this.downQueue, d);
      return;
    }
    this.acc = this.acc.length === 0 ? d : Buffer.concat([this.acc, d]);
    while (this.acc.length > this.sent) {
      const head = this.pending[0];
      let end: number;
      try {
        end = replyEnd(this.acc, 0);
      } catch {
        // Not RESP replies after all (a protocol the proxy does not know): pass everything through.
        this.pubsub = true;
        this.send(this.client, this.downQueue, this.acc.subarray(this.sent));
        this.acc = Buffer.alloc(0);
        this.sent = 0;
        return;
      }
      const rule = head?.rule;
      if (rule && rule.remaining > 0) {
        if (!rule.match.reply) return this.cutHere(rule, head);
        if (end < 0) return; // the whole reply first, then decide
        const raw = this.acc.subarray(0, end).toString('utf8');
        if (rule.match.reply(raw)) return this.cutHere(rule, head, raw);
      }
      if (end < 0) {
        // Part of an ordinary reply: pass it on now, keep it to find where the reply ends.
        this.send(this.client, this.downQueue, this.acc.subarray(this.sent));
        this.sent = this.acc.length;
        return;
      }
      this.send(this.client, this.downQueue, this.acc.subarray(this.sent, end));
      this.acc = this.acc.subarray(end);
      this.sent = 0;
      this.pending.shift();
    }
  }

  private cutHere(rule: CutRule, head: Pending, raw?: string): void {
    rule.record({ connection: this.id, command: head.cmd.name, script: head.script, at: Date.now(), ...(raw === undefined ? {} : { reply: raw }) });
    this.destroy('reply cut');
  }
}

const proxies = new Set<FaultProxy>();

afterAll(async () => {
  await Promise.all([...proxies].map((p) => p.close()));
});
