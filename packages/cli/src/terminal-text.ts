/**
 * Text from Redis (task data, error messages, registry entries) made safe for a terminal: control
 * characters, escape sequences included, become visible escapes instead of moving the cursor or
 * changing colours. A line break becomes `\n` too, so one value stays on one line.
 */
export function printable(text: unknown): string {
  return String(text).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
