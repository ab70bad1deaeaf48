/*
 * `cherisim run FILE`: run a guest program (a TS/JS module with named entry functions) as the
 * first process of a fresh System and print how each process ended.
 *
 * A user's mistake (unreadable file, syntax error, forbidden import, no such entry, a module
 * top level that throws, bad flags) is one line on stderr and exit 2.  Otherwise the exit code
 * is 0 if the first process exited 0, else 1.
 */
import { readFileSync } from 'node:fs';
import { REGIMES, type Regime } from '@cherisim/kernel';
import {
  compileGuest,
  createSandbox,
  GUEST_CONSTANTS,
  GuestError,
  type PlainData,
  type ProcessOutcome,
  System,
} from '@cherisim/workers';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { CliError, EXIT_FAILED, setExitCode } from '../program.js';
import { describeOutcome, outcomeJson } from '../report/outcome.js';

interface RunOptions {
  entry: string;
  regime: Regime;
  storeFault?: boolean;
  storeStrip?: boolean;
  json?: boolean;
  physMib: number;
  watchdogMs: number;
  trace?: string;
  logLevel: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

/* An argument after `--`: JSON if it parses as JSON (42, true, {"a":1}), else the string itself. */
export function parseGuestArg(text: string): PlainData {
  try {
    return JSON.parse(text) as PlainData;
  } catch {
    return text;
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .description('run a guest program in a fresh simulated system and print how each process ended')
    .argument('<file>', 'the guest program: a .ts/.mts/.js/.mjs module with named entry functions')
    .argument('[args...]', "arguments for the entry, after '--' (each JSON if it parses, else a string)")
    .option('--entry <name>', 'the exported function the first process runs', 'main')
    .addOption(new Option('--regime <name>', 'policy regime').choices(REGIMES).default('pr2225'))
    .addOption(
      new Option(
        '--store-fault',
        'a capability store to a page without cap-store faults (default; Morello, v9)',
      ).conflicts('storeStrip'),
    )
    .addOption(
      new Option('--store-strip', 'such a store silently clears the tag instead (ratified RISC-V CHERI)'),
    )
    .option('--json', 'print {"processes":[…]}')
    .option('--phys-mib <n>', 'physical memory, MiB', parsePositive, 64)
    .option('--watchdog-ms <n>', 'kill a thread that makes no progress for this long', parsePositive, 10_000)
    .option(
      '--trace <file>',
      'write NDJSON events (syscalls, traps, forks, exits, capability stores into shared mappings)',
    )
    .addOption(
      new Option('--log-level <level>', 'kernel and thread logs on stderr (pino)')
        .choices(LOG_LEVELS)
        .default('silent'),
    )
    .action(async (file: string, args: string[], opts: RunOptions, cmd: Command) => {
      const outcomes = await runGuest(file, args.map(parseGuestArg), opts);
      if (opts.json)
        process.stdout.write(`${JSON.stringify({ processes: outcomes.map(outcomeJson) }, null, 2)}\n`);
      else for (const line of formatOutcomes(outcomes)) process.stdout.write(`${line}\n`);
      const first = outcomes[0];
      if (first === undefined || first.exitStatus !== 0) setExitCode(cmd, EXIT_FAILED);
    });
}

async function runGuest(file: string, args: PlainData[], opts: RunOptions): Promise<ProcessOutcome[]> {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`);
  }
  /* Compile and check the entry here, so that a mistake is one line and exit 2, not a SIGABRT. */
  try {
    const compiled = compileGuest(file, source);
    const entries = createSandbox({ compiled, api: {}, constants: GUEST_CONSTANTS, timeout: 5000 }).entries;
    if (!entries.includes(opts.entry))
      throw new CliError(
        `${file}: no exported function '${opts.entry}' (exported functions: ${entries.join(', ') || 'none'})`,
      );
  } catch (err) {
    if (err instanceof GuestError) throw new CliError(err.message, undefined, { cause: err });
    throw err;
  }
  const system = new System({
    policy: { regime: opts.regime, storeCapFault: opts.storeStrip ? 'strip' : 'fault' },
    physBytes: opts.physMib * 1024 * 1024,
    watchdogMs: opts.watchdogMs,
    trace: opts.trace,
    logger:
      opts.logLevel === 'silent'
        ? undefined
        : pino({ level: opts.logLevel }, pino.destination({ dest: 2, sync: true })),
  });
  try {
    return await system.run({ filename: file, source }, opts.entry, args);
  } catch (err) {
    if (err instanceof GuestError) throw new CliError(err.message, undefined, { cause: err });
    throw err;
  } finally {
    await system.shutdown();
  }
}

/* One line per process: "pid 2  main   exited 0", "pid 3  child  killed by SIGSEGV (…)". */
export function formatOutcomes(outcomes: readonly ProcessOutcome[]): string[] {
  const entryWidth = Math.max(5, ...outcomes.map((o) => o.entry.length));
  const pidWidth = Math.max(...outcomes.map((o) => String(o.pid).length), 1);
  return outcomes.map((o) => {
    const parent = o.ppid > 1 && outcomes.some((p) => p.pid === o.ppid) ? ` (child of ${o.ppid})` : '';
    return `pid ${String(o.pid).padEnd(pidWidth)}  ${o.entry.padEnd(entryWidth)}  ${describeOutcome(o)}${parent}`;
  });
}
