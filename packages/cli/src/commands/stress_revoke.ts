/*
 * `cherisim stress-revoke`: P processes × T threads of malloc/free churn with malloc's own
 * revocations, capability stores into private and MAP_SHARED memory, forks during open
 * epochs, in store-side and/or load-side mode, with the independent revocation checker after
 * every closed epoch (stress/run_stress.ts, stress/guest_program.ts).
 *
 * Exit 1 on any checker violation or guest failure (an invariant a thread checks, or a process
 * ending other than expected), 2 on bad input, 0 otherwise.
 */
import { REGIMES, type Regime } from '@cherisim/kernel';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CliError, EXIT_FAILED, setExitCode } from '../program.js';
import { progressSink } from '../stress/progress.js';
import {
  type PauseSummary,
  runStress,
  type StressMode,
  type StressRunResult,
  summarisePauses,
} from '../stress/run_stress.js';
import { addSystemFlags, type SystemFlags, systemOptionsFrom } from '../system_flags.js';

interface StressRevokeOptions extends SystemFlags {
  mode: StressMode | 'both';
  processes: number;
  threads: number;
  seed: number;
  duration?: number;
  ops?: number;
  regime: Regime;
  json?: boolean;
  minRevokeHeap: number;
  forkEvery: number;
  physMib: number;
}

const DEFAULT_DURATION_S = 3;

function parseInteger(min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return n;
  };
}

function parseSeconds(text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError('expected a number of seconds > 0 and ≤ 3600');
  return n;
}

export interface StressRevokeReport {
  mode: StressMode | 'both';
  seed: number;
  processes: number;
  threads: number;
  regime: Regime;
  ok: boolean;
  epochs: number;
  capsRevoked: number;
  violations: number;
  pauseMs: PauseSummary;
  capsRevokedPerPauseSec: number;
  ops: number;
  failures: string[];
  runs: StressRunResult[];
}

export function register(program: Command): void {
  addSystemFlags(program.command('stress-revoke'), { storeSwitch: true })
    .description(
      'P processes × T threads of malloc/free churn with revocation, shared-memory capability stores and forks, checked after every epoch',
    )
    .addOption(
      new Option('--mode <side>', 'revocation side: store, load, or both (one run each)')
        .choices(['store', 'load', 'both'])
        .default('both'),
    )
    .option('--processes <n>', 'processes (main forks n-1)', parseInteger(1, 16), 4)
    .option('--threads <n>', 'threads per process', parseInteger(1, 8), 2)
    .option('--seed <n>', 'seed of the guests’ pseudo-random loops', parseInteger(0, 2 ** 32 - 1), 1)
    .option(
      '--duration <s>',
      `stop after this many seconds per mode (default ${DEFAULT_DURATION_S} unless --ops)`,
      parseSeconds,
    )
    .option(
      '--ops <n>',
      'stop after this many operations per mode, shared out over the threads',
      parseInteger(1, 1e9),
    )
    .addOption(new Option('--regime <name>', 'policy regime').choices(REGIMES).default('pr2225'))
    .option('--json', 'print one JSON object instead of the table')
    .option(
      '--min-revoke-heap <bytes>',
      'malloc revokes once quarantine ≥ heap/4 and heap ≥ this (mrs: 8 MiB)',
      parseInteger(0, 2 ** 40),
      16 * 1024,
    )
    .option(
      '--fork-every <n>',
      'each thread forks a short-lived child every n ops (0: never)',
      parseInteger(0, 1e9),
      400,
    )
    .option('--phys-mib <n>', 'physical memory of the system, MiB', parseInteger(8, 4096), 128)
    .action(async (opts: StressRevokeOptions, cmd: Command) => {
      const durationS = opts.duration ?? (opts.ops === undefined ? DEFAULT_DURATION_S : undefined);
      const modes: StressMode[] = opts.mode === 'both' ? ['store', 'load'] : [opts.mode];
      const sink = progressSink(process.stderr);
      const runs: StressRunResult[] = [];
      try {
        for (const mode of modes)
          runs.push(
            await runStress({
              mode,
              processes: opts.processes,
              threads: opts.threads,
              seed: opts.seed,
              ops: opts.ops,
              durationS,
              regime: opts.regime,
              physBytes: opts.physMib * 1024 * 1024,
              systemOptions: (tag: string) => systemOptionsFrom(opts, tag),
              minRevokeHeapBytes: opts.minRevokeHeap,
              forkEvery: opts.forkEvery,
              onProgress: (p) => sink.update(p),
            }),
          );
      } catch (err) {
        throw new CliError(`stress-revoke: ${err instanceof Error ? err.message : String(err)}`, EXIT_FAILED);
      } finally {
        sink.done();
      }
      const report = combine(opts, runs);
      if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else process.stdout.write(`${table(report)}\n`);
      if (!report.ok) setExitCode(cmd, EXIT_FAILED);
    });
}

function combine(opts: StressRevokeOptions, runs: StressRunResult[]): StressRevokeReport {
  const all = runs.flatMap((r) => r.failures.map((f) => `${r.mode}: ${f}`));
  /* over both runs: the worse run's percentiles (each run's are exact over its own pauses) */
  const pauseMs =
    runs.length === 1
      ? runs[0].pauseMs
      : {
          ...summarisePauses([]),
          p50: Math.max(...runs.map((r) => r.pauseMs.p50)),
          p99: Math.max(...runs.map((r) => r.pauseMs.p99)),
          max: Math.max(...runs.map((r) => r.pauseMs.max)),
          total: runs.reduce((a, r) => a + r.pauseMs.total, 0),
        };
  const capsRevoked = runs.reduce((a, r) => a + r.capsRevoked, 0);
  return {
    mode: opts.mode,
    seed: opts.seed,
    processes: opts.processes,
    threads: opts.threads,
    regime: opts.regime,
    ok: runs.every((r) => r.ok),
    epochs: runs.reduce((a, r) => a + r.epochs, 0),
    capsRevoked,
    violations: runs.reduce((a, r) => a + r.violations, 0),
    pauseMs,
    capsRevokedPerPauseSec: pauseMs.total > 0 ? Math.round(capsRevoked / (pauseMs.total / 1000)) : 0,
    ops: runs.reduce((a, r) => a + r.ops, 0),
    failures: all.slice(0, 20),
    runs,
  };
}

function table(rep: StressRevokeReport): string {
  const head = [
    'mode',
    'ops',
    'epochs',
    'caps revoked',
    'pause p50 ms',
    'p99 ms',
    'max ms',
    'caps/s of pause',
    'swept tags/s',
    'MiB/s',
    'forks (open epoch)',
    'violations',
    'failures',
  ];
  const rows = rep.runs.map((r) => [
    r.mode,
    String(r.ops),
    String(r.epochs),
    String(r.capsRevoked),
    r.pauseMs.p50.toFixed(2),
    r.pauseMs.p99.toFixed(2),
    r.pauseMs.max.toFixed(2),
    String(r.capsRevokedPerPauseSec),
    String(r.sweep.tagsPerSec),
    String(r.sweep.mibPerSec),
    `${r.guest.forks} (${r.guest.forksInOpenEpoch})`,
    String(r.violations),
    String(r.failures.length),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const lines = [
    `stress-revoke: ${rep.processes} processes × ${rep.threads} threads, seed ${rep.seed}, regime ${rep.regime}`,
    fmt(head),
    ...rows.map(fmt),
  ];
  for (const r of rep.runs) {
    const g = r.guest;
    lines.push(
      `${r.mode}: ${g.mallocs} mallocs, ${g.frees} frees, ${g.capStores} cap stores (${g.sharedStores} shared), ` +
        `${g.loadsChecked} checks: ${g.liveOk} live ok, ${g.staleRevoked} stale revoked, ${g.staleQuarantined} stale in quarantine, ` +
        `${g.foreignRevoked} revoked by another process; ${g.reusedChunks} chunks reused, ${g.mallocFlushes} malloc flushes, ` +
        `${g.probes} fault probes; ${r.wallMs} ms`,
    );
    for (const v of r.firstViolations)
      lines.push(`  violation: pid ${v.pid} ${v.kind} at ${v.where}: ${v.cap}`);
  }
  for (const f of rep.failures) lines.push(`  failure: ${f}`);
  lines.push(
    'sweep rate: tagged granules examined and MiB of pages covered per second spent inside cheri_revoke',
  );
  lines.push(rep.ok ? 'PASS' : 'FAIL');
  return lines.join('\n');
}
