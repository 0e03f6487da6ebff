/** What a script's options may hold: scalars only (Redis's cmsgpack decodes them into a Lua table). */
export type ScriptOptions = Record<string, string | number | boolean>;

/**
 * Encodes a flat map of scalar options as MessagePack, the one argument a primitive's Lua script
 * unpacks with the `cmsgpack` Redis has built in: a script can then take a new option without
 * renumbering its ARGV. Numbers must be safe integers (ms, counts); strings are UTF-8.
 */
export function packOptions(options: ScriptOptions): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(options);
  parts.push(entries.length < 16 ? Buffer.from([0x80 | entries.length]) : header(0xde, entries.length, 2));
  for (const [key, value] of entries) {
    parts.push(packString(key));
    if (typeof value === 'string') parts.push(packString(value));
    else if (typeof value === 'boolean') parts.push(Buffer.from([value ? 0xc3 : 0xc2]));
    else parts.push(packInteger(value));
  }
  return Buffer.concat(parts);
}

function header(code: number, n: number, bytes: 1 | 2 | 4): Buffer {
  const b = Buffer.alloc(1 + bytes);
  b[0] = code;
  if (bytes === 1) b.writeUInt8(n, 1);
  else if (bytes === 2) b.writeUInt16BE(n, 1);
  else b.writeUInt32BE(n, 1);
  return b;
}

function packString(s: string): Buffer {
  const body = Buffer.from(s, 'utf8');
  const n = body.length;
  const head = n < 32 ? Buffer.from([0xa0 | n]) : n < 0x100 ? header(0xd9, n, 1) : n < 0x10000 ? header(0xda, n, 2) : header(0xdb, n, 4);
  return Buffer.concat([head, body]);
}

function packInteger(n: number): Buffer {
  if (!Number.isSafeInteger(n)) throw new RangeError(`script option ${n} is not a safe integer`);
  if (n >= 0 && n < 128) return Buffer.from([n]);
  if (n < 0 && n >= -32) return Buffer.from([0xe0 | (n + 32)]);
  // int64 for everything else: cmsgpack reads it back exactly for any safe integer.
  const b = Buffer.alloc(9);
  b[0] = 0xd3;
  b.writeBigInt64BE(BigInt(n), 1);
  return b;
}
