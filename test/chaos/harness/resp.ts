/**
 * Just enough RESP (Redis's wire protocol) for the fault proxy: where a client's commands begin and
 * end, with their arguments, and where each reply of the server ends. RESP2 and RESP3 replies.
 */

/** One command a client sent: its name (upper case) and its arguments, as UTF-8 text. */
export interface RespCommand {
  name: string;
  args: string[];
}

/**
 * Reads commands from a client's byte stream, as they arrive in chunks: multi-bulk arrays
 * (`*N\r\n$len\r\n...`, what every client library sends) and inline commands (`PING\r\n`).
 */
export class CommandReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Appends `chunk` and returns the commands it completed. */
  push(chunk: Buffer): RespCommand[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: RespCommand[] = [];
    for (;;) {
      const r = parseCommand(this.buf, 0);
      if (!r) break;
      out.push(r.command);
      this.buf = this.buf.subarray(r.end);
    }
    return out;
  }
}

function lineEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf('\r\n', from);
  return i;
}

function parseCommand(buf: Buffer, at: number): { command: RespCommand; end: number } | undefined {
  if (at >= buf.length) return undefined;
  if (buf[at] !== 0x2a /* '*' */) {
    const eol = lineEnd(buf, at);
    if (eol < 0) return undefined;
    const words = buf.subarray(at, eol).toString('utf8').trim().split(/\s+/).filter((w) => w !== '');
    return { command: { name: (words[0] ?? '').toUpperCase(), args: words.slice(1) }, end: eol + 2 };
  }
  const eol = lineEnd(buf, at);
  if (eol < 0) return undefined;
  const n = Number(buf.subarray(at + 1, eol).toString('latin1'));
  let p = eol + 2;
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    if (p >= buf.length) return undefined;
    const e = lineEnd(buf, p);
    if (e < 0) return undefined;
    const len = Number(buf.subarray(p + 1, e).toString('latin1'));
    const start = e + 2;
    if (start + len + 2 > buf.length) return undefined;
    parts.push(buf.subarray(start, start + len).toString('utf8'));
    p = start + len + 2;
  }
  return { command: { name: (parts[0] ?? '').toUpperCase(), args: parts.slice(1) }, end: p };
}

/**
 * The offset just past the complete reply that starts at `at` in `buf`, or -1 when `buf` does not
 * hold all of it yet.
 */
export function replyEnd(buf: Buffer, at: number): number {
  if (at >= buf.length) return -1;
  const type = String.fromCharCode(buf[at]!);
  const eol = lineEnd(buf, at);
  if (eol < 0) return -1;
  const head = buf.subarray(at + 1, eol).toString('latin1');
  const next = eol + 2;
  switch (type) {
    case '+': // simple string
    case '-': // error
    case ':': // integer
    case '_': // RESP3 null
    case ',': // RESP3 double
    case '#': // RESP3 boolean
    case '(': // RESP3 big number
      return next;
    case '$': // bulk string
    case '!': // RESP3 bulk error
    case '=': {
      // RESP3 verbatim string
      const len = Number(head);
      if (len < 0) return next;
      return next + len + 2 <= buf.length ? next + len + 2 : -1;
    }
    case '*': // array
    case '~': // RESP3 set
    case '>': // RESP3 push
    case '%': // RESP3 map
    case '|': {
      // RESP3 attribute (then the reply it annotates)
      const n = Number(head);
      if (n < 0) return next;
      const items = type === '%' || type === '|' ? 2 * n : n;
      let p = next;
      for (let i = 0; i < items; i++) {
        p = replyEnd(buf, p);
        if (p < 0) return -1;
      }
      return type === '|' ? replyEnd(buf, p) : p;
    }
    default:
      throw new Error(`fault proxy: cannot read a reply starting with ${JSON.stringify(type)}`);
  }
}
