import { createServer } from 'node:net';
import { CliError } from '../cli-error.js';
import { quoted } from '../terminal-text.js';

/**
 * Resolves once `host` is an address this machine can listen on (tried on a free port, then
 * closed), else throws one {@link CliError} naming `flag`: for settings handed to child processes,
 * which would otherwise each fail at start and be restarted for ever.
 */
export async function checkListenAddress(host: string, flag: string): Promise<void> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.syscall === 'getaddrinfo' ? 'no such host name' : err.code === 'EADDRNOTAVAIL' || err.code === 'EAFNOSUPPORT' ? 'not an address of this host' : (err.code ?? 'cannot listen there');
    throw new CliError(`${flag} ${quoted(host)}: ${why}; give an address of this host, e.g. 127.0.0.1 or 0.0.0.0`);
  } finally {
    server.close();
  }
}
