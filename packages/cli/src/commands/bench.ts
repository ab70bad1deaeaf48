/*
 * `cherisim bench`: performance against floors measured in the same run.  Prints ratios;
 * the targets are the issues' (checked data ≤ 4× raw, cap ≤ 10× raw, syscall ≤ 1.5× the
 * Atomics ping-pong and ≥ 2× faster than comlink), reported, never asserted.
 */
import { runStwBench, runSyscallBench } from '@cherisim/workers';
import type { Command } from 'commander';
import { runMachineBench } from '../bench/machine_bench.js';
import { formatRevokeBench, runRevokeBench } from '../bench/revoke_bench.js';
import { formatSweepBench, runSweepBench } from '../bench/sweep_bench.js';
import { CliError } from '../program.js';

const SUITES = ['machine', 'syscall', 'stw', 'sweep', 'revoke'] as const;
type Suite = (typeof SUITES)[number];

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark the simulator against raw floors measured in the same run')
    .argument('[suites...]', `which benchmarks to run: ${SUITES.join(', ')} (default: all)`)
    .option('--json', 'print one JSON object instead of tables')
    .option('--quick', 'fewer repetitions (for a smoke run)')
    .action(async (suites: string[], opts: { json?: boolean; quick?: boolean }) => {
      const chosen = (suites.length === 0 ? [...SUITES] : suites) as Suite[];
      for (const s of chosen)
        if (!SUITES.includes(s))
          throw new CliError(`unknown benchmark '${s}' (choose from ${SUITES.join(', ')})`);
      const quick = opts.quick === true;
      const out: Record<string, unknown> = {};
      if (chosen.includes('machine')) {
        const m = runMachineBench(quick ? { ops: 200_000, reps: 3 } : {});
        out.machine = m;
        if (!opts.json) {
          console.log(
            'machine: checked accesses vs raw Uint32Array accesses (same address stream, half loads/half stores)',
          );
          console.log(`  (a) raw 8-byte access       ${mops(m.rawOpsPerSec)}`);
          console.log(`  (a16) raw 16-byte access    ${mops(m.raw16OpsPerSec)}`);
          console.log(
            `  (b) checked 8-byte access   ${mops(m.dataOpsPerSec)}   b/a = ${m.dataRatio.toFixed(2)}×  (target ≤ 4×)`,
          );
          console.log(
            `  (c) capability load/store   ${mops(m.capOpsPerSec)}   c/a = ${m.capRatio.toFixed(2)}×  (target ≤ 10×), c/a16 = ${m.capRatio16.toFixed(2)}×`,
          );
        }
      }
      if (chosen.includes('syscall')) {
        const s = await runSyscallBench(quick ? { rounds: 500, reps: 1 } : {});
        out.syscall = s;
        if (!opts.json) {
          console.log('syscall: round trips between a worker thread and the kernel (main thread)');
          console.log(`  bare Atomics ping-pong   ${s.pingPongUs.toFixed(1)} µs`);
          console.log(
            `  null syscall (mailbox)   ${s.syscallUs.toFixed(1)} µs   ${s.syscallVsPingPong.toFixed(2)}× ping-pong (target ≤ 1.5×)`,
          );
          console.log(
            `  comlink call             ${s.comlinkUs.toFixed(1)} µs   ${s.comlinkVsSyscall.toFixed(2)}× the syscall (target ≥ 2×)`,
          );
        }
      }
      if (chosen.includes('stw')) {
        const rows = await runStwBench(quick ? { threads: [1, 2], cycles: 20 } : {});
        out.stw = rows;
        if (!opts.json) {
          console.log('stop-the-world: thread_single + resume until every thread runs again');
          for (const r of rows)
            console.log(
              `  ${String(r.threads).padStart(2)} threads   p50 ${us(r.p50Us)}   p99 ${us(r.p99Us)}   max ${us(r.maxUs)}`,
            );
        }
      }
      if (chosen.includes('sweep')) {
        const r = runSweepBench(quick ? { sizesMiB: [64], reps: 2 } : {});
        out.sweep = r;
        if (!opts.json) {
          console.log('revocation sweep vs a bare tag-plane scan (target ≤ 1.5×)');
          for (const line of formatSweepBench(r)) console.log(`  ${line}`);
        }
      }
      if (chosen.includes('revoke')) {
        const rows = runRevokeBench(quick ? { sizesMiB: [64], densities: [0.01] } : {});
        out.revoke = rows;
        if (!opts.json) {
          console.log('revocation pause vs heap size (LAST_PASS; 5% of capabilities painted)');
          for (const line of formatRevokeBench(rows)) console.log(`  ${line}`);
        }
      }
      if (opts.json) console.log(JSON.stringify(out));
    });
}

const mops = (opsPerSec: number) => `${(opsPerSec / 1e6).toFixed(1).padStart(7)} M ops/s`;
const us = (v: number) => (v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`).padStart(9);
