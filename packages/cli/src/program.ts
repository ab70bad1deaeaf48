/*
 * The `cherisim` command line: one commander program, verbs registered from commands/<verb>.ts
 * (each exports `register(program)`), one error style and one set of exit codes.
 *
 * Errors are one line on stderr, `cherisim: <message>`, never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { register as registerBench } from './commands/bench.js';
import { register as registerCap } from './commands/cap.js';
import { register as registerLeakMatrix } from './commands/leak_matrix.js';
import { register as registerRun } from './commands/run.js';
import { register as registerStressRevoke } from './commands/stress_revoke.js';
import { register as registerSuite } from './commands/suite.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1; /* a check ran and found mismatches or failures */
export const EXIT_USAGE = 2; /* bad usage, or input that cannot be read or parsed */
export const EXIT_INTERNAL = 70; /* a bug in cherisim (sysexits EX_SOFTWARE) */

const EXIT_CODES_HELP = `
Exit codes:
  0   success
  1   a check found mismatches or failures
  2   usage error, or input that cannot be read or parsed
  70  internal error (a bug in cherisim)`;

/* A failure the user can act on: printed as one line, exits with exitCode. */
export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number = EXIT_USAGE, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/* Every verb, in the order `cherisim --help` lists them. */
const VERBS: readonly ((program: Command) => void)[] = [
  registerRun,
  registerLeakMatrix,
  registerSuite,
  registerCap,
  registerBench,
  registerStressRevoke,
];

const exitCodes = new WeakMap<Command, number>();

function rootOf(cmd: Command): Command {
  let c = cmd;
  while (c.parent) c = c.parent;
  return c;
}

/* Record the outcome of a verb that ran to completion (the worst code wins). */
export function setExitCode(cmd: Command, code: number): void {
  const root = rootOf(cmd);
  exitCodes.set(root, Math.max(exitCodes.get(root) ?? EXIT_OK, code));
}

export function printError(message: string): void {
  process.stderr.write(`cherisim: ${oneLine(message)}\n`);
}

/* commander's messages start with "error: " and may add a second line ("(Did you mean …?)"). */
function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function createProgram(): Command {
  const program = new Command('cherisim');
  /* Set before the verbs are added: subcommands copy these settings when created. */
  program
    .description('A simulator of CHERI capability memory shared between processes, with CheriBSD semantics')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`cherisim: ${oneLine(str)}\n`) })
    .addHelpText('after', EXIT_CODES_HELP);
  for (const register of VERBS) register(program);
  return program;
}

/* Run cherisim with the arguments after the program name; resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCodes.get(program) ?? EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT_OK;
      return EXIT_USAGE; /* commander has printed its message (or the help, for a missing verb) */
    }
    if (err instanceof CliError) {
      printError(err.message);
      return err.exitCode;
    }
    const detail = err instanceof Error ? err.message : String(err);
    printError(`internal error: ${detail}`);
    if (process.env.CHERISIM_DEBUG) console.error(err);
    return EXIT_INTERNAL;
  }
}
