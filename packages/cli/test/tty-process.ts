import { spawn } from 'node:child_process';
import { redisUrl } from '@asyncq/test-support';
import { BIN, type CliResult } from './cli-process.js';

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * Runs `asyncq args...` with a terminal on stdin (through `script`, which gives the command a
 * pseudo-terminal and forwards `input` to it): for confirmations. stdout and stderr arrive
 * together, as on a terminal, with carriage returns and terminal escapes taken out.
 */
export function runCliInTty(args: string[], input: string, env: Record<string, string> = {}, timeout = 30_000): Promise<CliResult> {
  const t0 = Date.now();
  const command = [process.execPath, BIN, ...args].map(quote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...process.env, REDIS_URL: redisUrl(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // eslint-disable-next-line no-control-regex
      const text = out.replace(/\r/g, '').replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
      resolve({ code: code ?? 1, stdout: text, stderr: '', ms: Date.now() - t0 });
    });
    child.stdin.end(input);
  });
}
