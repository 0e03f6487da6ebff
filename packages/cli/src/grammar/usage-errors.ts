import { printable } from '../terminal-text.js';
import { commandOf } from './queue-flag.js';

/**
 * One line for a usage mistake yargs (or a check) reported: yargs' several-line messages joined,
 * its "did you mean" turned into a sentence about the command, choices listed after the value
 * given, and a pointer to the `--help` that shows the usage.
 */
export function usageLine(message: string, args: readonly string[], usages: Record<string, string> = {}): string {
  const command = commandOf(args);
  const lines = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const first = lines[0] ?? 'the command line is not valid';
  const help = command ? `asyncq ${printable(command.name)} --help` : 'asyncq --help';

  const mistyped = /^Did you mean (\S+)\?$/.exec(first);
  if (mistyped && command) return `unknown command ${JSON.stringify(printable(command.name))} (did you mean asyncq ${mistyped[1]}?)`;
  const unknown = /^Unknown arguments?: (.*)$/.exec(first);
  if (unknown && command && unknown[1]!.split(', ').includes(command.name)) {
    return `unknown command ${JSON.stringify(printable(command.name))} (asyncq --help lists the commands)`;
  }
  if (unknown && command) {
    const names = unknown[1]!.split(', ');
    const said = names.map((n) => (args.includes(n) ? `unexpected argument ${JSON.stringify(n)}` : `unknown option ${n.length === 1 ? '-' : '--'}${n}`));
    const usage = usages[command.name];
    return printable(`${said.join(', ')} (${usage ? `the usage is asyncq ${usage}; ` : ''}${help} lists the options)`);
  }
  if (first === 'Invalid values:') {
    // yargs: "Argument: state, Given: "bogus", Choices: "waiting", "delayed""
    const parts = lines.slice(1).map((l) => /^Argument: (\S+), Given: (.*), Choices: (.*)$/.exec(l));
    const said = parts.map((m, i) => (m ? `--${m[1]} must be one of ${m[3]!.replace(/"/g, '')}; got ${m[2]}` : lines[i + 1]!));
    return printable(said.join('; '));
  }
  const valueless = /^Not enough arguments following: (\S+)$/.exec(first);
  if (valueless) return `${valueless[1]!.length === 1 ? '-' : '--'}${printable(valueless[1])} needs a value (${help} shows the usage)`;
  const usage = command ? usages[command.name] : undefined;
  if (usage && /^Not enough non-option arguments/.test(first)) return `missing argument: the usage is asyncq ${usage} (${help} explains each)`;
  if (usage && /^Too many non-option arguments/.test(first)) return `too many arguments: the usage is asyncq ${usage} (${help} explains each)`;
  const line = printable(lines.join(' '));
  return line.includes('--help') ? line : `${line} (${help} shows the usage)`;
}
