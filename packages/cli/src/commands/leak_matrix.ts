/*
 * `cherisim leak-matrix`: the headline experiment.  For each channel × regime × direction, run
 * the channel's guest programs in a fresh System and report whether a tagged capability crossed
 * address spaces, and if not, what stopped it (leak/channels.ts, leak/run_matrix.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { REGIMES, type Regime } from '@cherisim/kernel';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CHANNELS, selectChannels } from '../leak/channels.js';
import { runMatrix } from '../leak/run_matrix.js';
import { CliError, EXIT_FAILED, setExitCode } from '../program.js';
import { htmlReport, markdownReport, terminalTable } from '../report/leak_report.js';
import { simulator } from '../simulate.js';
import { addSystemFlags, type SystemFlags, systemOptionsFrom } from '../system_flags.js';

interface LeakMatrixOptions extends SystemFlags {
  regime?: Regime;
  allRegimes?: boolean;
  channel?: string;
  jobs: number;
  json?: boolean;
  report?: string;
  physMib: number;
  receiverNoCap?: boolean;
}

function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function register(program: Command): void {
  const cmd = program
    .command('leak-matrix')
    .description('run every capability-sharing channel under each regime and report where tags cross')
    .addOption(new Option('--regime <name>', 'only this regime').choices(REGIMES).conflicts('allRegimes'))
    .option('--all-regimes', 'every regime (the default)')
    .option('--channel <glob>', `only channels whose id matches (* and ?), e.g. 'shm-*'`)
    .addOption(
      new Option('--jobs <n>', 'cells run at once')
        .argParser(parsePositive)
        .default(availableParallelism(), 'the number of cores'),
    )
    .option('--json', 'print {"rows":[…]} instead of the table')
    .option('--report <dir>', 'also write leak-matrix.html and leak-matrix.md into DIR')
    .option(
      '--receiver-no-cap',
      'receivers map PROT_READ without PROT_CAP (catalogue test #8) instead of asking for caps',
    )
    .option('--phys-mib <n>', 'physical memory of each cell’s system, MiB', parsePositive, 8)
    .addHelpText('after', `\nChannels: ${CHANNELS.map((c) => c.id).join(', ')}`);
  addSystemFlags(cmd, { storeSwitch: true }).action(async (opts: LeakMatrixOptions, cmd: Command) => {
    const channels = selectChannels(opts.channel);
    if (channels.length === 0)
      throw new CliError(
        `--channel ${opts.channel}: no channel matches (channels: ${CHANNELS.map((c) => c.id).join(', ')})`,
      );
    const regimes = opts.regime ? [opts.regime] : REGIMES;
    const sim = simulator(opts.jobs, (opts.logLevel ?? 'silent') !== 'silent');
    const rows = await runMatrix({
      simulate: sim.simulate,
      channels,
      regimes,
      jobs: opts.jobs,
      physBytes: opts.physMib * 1024 * 1024,
      receiverCap: opts.receiverNoCap !== true,
      systemOptions: (tag) => systemOptionsFrom(opts, tag),
    });
    await sim.close();
    if (opts.report !== undefined) {
      try {
        mkdirSync(opts.report, { recursive: true });
        writeFileSync(join(opts.report, 'leak-matrix.html'), htmlReport(rows, new Date().toISOString()));
        writeFileSync(join(opts.report, 'leak-matrix.md'), markdownReport(rows));
      } catch (err) {
        throw new CliError(`--report ${opts.report}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (opts.json) process.stdout.write(`${JSON.stringify({ rows }, null, 2)}\n`);
    else {
      const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
      process.stdout.write(`${terminalTable(rows, color)}\n`);
      if (opts.report !== undefined) process.stdout.write(`report written to ${opts.report}\n`);
    }
    /* a cell whose programs did not run as designed is a failure of the experiment */
    if (rows.some((r) => r.stoppedBy === 'setup-failed')) setExitCode(cmd, EXIT_FAILED);
  });
}
