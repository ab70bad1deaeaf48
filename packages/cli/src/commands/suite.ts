/*
 * `cherisim suite`: the acceptance suite.  Every test of the catalogue (cheribsd-semantics.md
 * §7) that the simulator models runs as a guest program (suite/scenarios.ts) in a fresh System
 * per regime, and its outcome is compared with the reference's expectation for that regime
 * (suite/expectations.ts, data, never computed from the kernel's policy).  The rest of the
 * catalogue is listed with its status and never counted.
 */
import { availableParallelism } from 'node:os';
import { REGIMES, type Regime } from '@cherisim/kernel';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT_FAILED, setExitCode } from '../program.js';
import { simulator } from '../simulate.js';
import { NOT_RUN, type NotRunTest, SUITE, type SuiteTest } from '../suite/expectations.js';
import { suiteTable, summary } from '../suite/report.js';
import { runSuite } from '../suite/run_suite.js';
import { addSystemFlags, type SystemFlags, systemOptionsFrom } from '../system_flags.js';

interface SuiteOptions extends SystemFlags {
  regime?: Regime;
  allRegimes?: boolean;
  filter?: string;
  jobs: number;
  json?: boolean;
  physMib: number;
}

function parsePositive(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

/** A glob (`*` any run of characters, `?` one character) as an anchored RegExp. */
export function globRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );
}

/** Tests whose id matches the glob: those to run, and those only listed. */
export function selectTests(glob: string | undefined): { run: SuiteTest[]; notRun: NotRunTest[] } {
  if (glob === undefined) return { run: [...SUITE], notRun: [...NOT_RUN] };
  const re = globRegExp(glob);
  return { run: SUITE.filter((t) => re.test(t.id)), notRun: NOT_RUN.filter((t) => re.test(t.id)) };
}

export function register(program: Command): void {
  addSystemFlags(program.command('suite'), { storeSwitch: false })
    .description('run the CheriBSD acceptance catalogue as guest programs and compare with the reference')
    .addOption(new Option('--regime <name>', 'only this regime').choices(REGIMES).conflicts('allRegimes'))
    .option('--all-regimes', 'every regime (the default)')
    .option('--filter <glob>', `only tests whose name matches (* and ?), e.g. 'vm_tag_*'`)
    .addOption(
      new Option('--jobs <n>', 'tests run at once')
        .argParser(parsePositive)
        .default(availableParallelism(), 'the number of cores'),
    )
    .option('--json', 'print {"results":[…],"passed":N,"failed":N} instead of the table')
    .option('--phys-mib <n>', 'physical memory of each test’s system, MiB', parsePositive, 8)
    .addHelpText(
      'after',
      '\nOutcomes: PASS (as expected), XFAIL (an expected failure happened), FAIL (mismatch),\n' +
        'XPASS (an expected failure did not happen).  Exit 1 on any FAIL or XPASS.',
    )
    .action(async (opts: SuiteOptions, cmd: Command) => {
      const { run, notRun } = selectTests(opts.filter);
      if (run.length === 0 && notRun.length === 0)
        throw new CliError(`--filter ${opts.filter}: no test matches`);
      const regimes = opts.regime ? [opts.regime] : REGIMES;
      const sim = simulator(opts.jobs, (opts.logLevel ?? 'silent') !== 'silent');
      const results = await runSuite({
        simulate: sim.simulate,
        tests: run,
        regimes,
        jobs: opts.jobs,
        physBytes: opts.physMib * 1024 * 1024,
        systemOptions: (tag: string) => systemOptionsFrom(opts, tag),
      });
      await sim.close();
      const { passed, failed } = summary(results);
      if (opts.json) {
        const notRunJson = notRun.map((n) => ({
          test: n.id,
          catalogue: n.catalogue,
          status: n.status,
          reason: n.reason,
        }));
        process.stdout.write(`${JSON.stringify({ results, passed, failed, notRun: notRunJson }, null, 2)}\n`);
      } else {
        const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
        process.stdout.write(`${suiteTable(run, regimes, results, notRun, color)}\n`);
      }
      if (failed > 0) setExitCode(cmd, EXIT_FAILED);
    });
}
