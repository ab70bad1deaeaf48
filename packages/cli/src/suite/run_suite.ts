/*
 * Run the acceptance suite: one fresh System per test × regime running the test's guest
 * program (scenarios.ts), then compare what happened with the expectation (expectations.ts):
 *
 *   PASS   expected success, expected fault or expected errno happened
 *   XFAIL  an expected failure (ct_xfail_reason) happened
 *   FAIL   anything else; the detail says expected vs got
 *   XPASS  an expected failure did not happen: the test passed
 *
 * Names (signals, si_codes, trap numbers, errnos) are compared through the kernel's exported
 * ABI constants; nothing here consults the kernel's policy.
 */
import * as kernel from '@cherisim/kernel';
import { errnoName, type Regime } from '@cherisim/kernel';
import type { ProcessOutcome, SystemOptions } from '@cherisim/workers';
import { describeOutcome, siCodeName, signalName } from '../report/outcome.js';
import { type Simulate, simulateInThread } from '../simulate.js';
import type { Cell, Expected, SuiteTest } from './expectations.js';
import {
  FAILURE_TEXT,
  FAILURES,
  REFUSED,
  SI_ADDR_MATCH,
  SI_ADDR_MISMATCH,
  SI_ADDR_NO_SIGNAL,
  testSource,
} from './scenarios.js';

export type Verdict = 'PASS' | 'XFAIL' | 'FAIL' | 'XPASS';
export const VERDICTS: readonly Verdict[] = ['PASS', 'XFAIL', 'FAIL', 'XPASS'];

export interface SuiteResult {
  test: string;
  regime: Regime;
  outcome: Verdict;
  detail: string;
}

export interface SuiteOptions {
  readonly tests: readonly SuiteTest[];
  readonly regimes: readonly Regime[];
  readonly jobs?: number;
  readonly physBytes?: number;
  readonly watchdogMs?: number;
  /** Extra System options for a test (logger, trace), given its tag. */
  readonly systemOptions?: (tag: string) => Partial<SystemOptions>;
  /** How each test's simulation runs (default: in this thread). */
  readonly simulate?: Simulate;
}

/** A small async limiter: run every task, at most `jobs` at a time; results in task order. */
export async function limit<T>(tasks: readonly (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, tasks.length)) }, lane));
  return out;
}

export async function runSuite(opts: SuiteOptions): Promise<SuiteResult[]> {
  const tasks: (() => Promise<SuiteResult>)[] = [];
  for (const test of opts.tests)
    for (const regime of opts.regimes) tasks.push(() => runCell(test, regime, opts));
  return limit(tasks, opts.jobs ?? 1);
}

/* What one cell's run gave: the body's outcome and, with the harness, the si_addr verdict. */
export interface CellRun {
  body: ProcessOutcome | undefined;
  siAddr: number | null /* the harness's exit status, or null without the harness */;
}

async function runCell(test: SuiteTest, regime: Regime, opts: SuiteOptions): Promise<SuiteResult> {
  const cell = test.regimes[regime];
  const harness = cell.expect.outcome === 'fault' && cell.expect.siAddr !== undefined;
  const physBytes = Math.max(opts.physBytes ?? 8 * 1024 * 1024, (test.physMib ?? 0) * 1024 * 1024);
  let outcomes: ProcessOutcome[];
  try {
    outcomes = await (opts.simulate ?? simulateInThread)(
      { filename: `suite/${test.id}.ts`, source: testSource(test.id) },
      'main',
      [{ harness, variant: cell.variant ?? '' }],
      {
        ...opts.systemOptions?.(`${test.id}/${regime}`),
        policy: { regime },
        physBytes,
        watchdogMs: opts.watchdogMs ?? 10_000,
      },
    );
  } catch (err) {
    return {
      test: test.id,
      regime,
      outcome: 'FAIL',
      detail: `the program did not start: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  const main = outcomes.find((o) => o.entry === 'main');
  const run: CellRun = harness
    ? { body: outcomes.find((o) => o.entry === 'body'), siAddr: main?.exitStatus ?? null }
    : { body: main, siAddr: null };
  return { test: test.id, regime, ...classify(cell, run) };
}

/* ---- classification ------------------------------------------------------------------------ */

const NUMBERS = kernel as unknown as Record<string, unknown>;
function constant(name: string): number | undefined {
  const v = NUMBERS[name];
  return typeof v === 'number' ? v : undefined;
}
function trapnoName(n: number): string {
  for (const [name, v] of Object.entries(NUMBERS)) if (name.startsWith('TRAPNO_') && v === n) return name;
  return String(n);
}

export function describeExpected(e: Expected): string {
  switch (e.outcome) {
    case 'pass':
      return 'success';
    case 'fault':
      return `${[e.signal, e.code, e.trapno].filter(Boolean).join('/')}${e.siAddr ? ' at the mapping base' : ''}`;
    case 'errno':
      return e.errno === null ? 'refused (any errno)' : `refused with ${e.errno}`;
    case 'xfail':
      return `expected failure: ${FAILURE_TEXT[FAILURES[e.failure]]}`;
  }
}

/* What the body did, in words (an errno by the expectation's name when it is the same number, ENOTSUP = EOPNOTSUPP). */
export function describeGot(run: CellRun, e?: Expected): string {
  const b = run.body;
  if (b === undefined) return 'the test process did not run';
  if (b.termsig !== null) {
    const si = b.siginfo;
    const parts = [signalName(b.termsig)];
    if (si) {
      parts.push(siCodeName(b.termsig, si.si_code));
      if (si.si_trapno) parts.push(trapnoName(si.si_trapno));
    }
    let where = '';
    if (run.siAddr === SI_ADDR_MATCH) where = ' at the mapping base';
    else if (run.siAddr === SI_ADDR_MISMATCH)
      where = ` at si_addr 0x${(si?.si_addr ?? 0).toString(16)}, not the mapping base`;
    else if (si?.si_addr) where = ` at si_addr 0x${si.si_addr.toString(16)}`;
    return `${parts.join('/')}${where}${b.reason ? ` (${b.reason})` : ''}`;
  }
  const s = b.exitStatus ?? -1;
  if (s === 0) return 'success';
  if (s >= REFUSED) {
    const n = s - REFUSED;
    const alias = e?.outcome === 'errno' && e.errno !== null && constant(e.errno) === n ? e.errno : null;
    return `refused with ${alias ?? errnoName(n)}`;
  }
  const text = FAILURE_TEXT[s];
  return text ? `failed: ${text} (exit ${s})` : describeOutcome(b);
}

function matches(e: Expected, run: CellRun): boolean {
  const b = run.body;
  if (b === undefined) return false;
  switch (e.outcome) {
    case 'pass':
      return b.termsig === null && b.exitStatus === 0;
    case 'fault': {
      if (b.termsig === null || b.termsig !== constant(e.signal)) return false;
      const si = b.siginfo;
      if (e.code !== undefined && si?.si_code !== constant(e.code)) return false;
      if (e.trapno !== undefined && si?.si_trapno !== constant(e.trapno)) return false;
      if (e.siAddr !== undefined && run.siAddr !== SI_ADDR_MATCH) return false;
      return true;
    }
    case 'errno': {
      const s = b.termsig === null ? (b.exitStatus ?? -1) : -1;
      if (s < REFUSED) return false;
      return e.errno === null || s - REFUSED === constant(e.errno);
    }
    case 'xfail':
      return b.termsig === null && b.exitStatus === FAILURES[e.failure];
  }
}

export function classify(cell: Cell, run: CellRun): { outcome: Verdict; detail: string } {
  const e = cell.expect;
  const got = describeGot(run, e);
  const harnessNote =
    run.siAddr === SI_ADDR_NO_SIGNAL || (run.siAddr !== null && run.siAddr > SI_ADDR_NO_SIGNAL)
      ? ` (harness exit ${run.siAddr})`
      : '';
  if (e.outcome === 'xfail') {
    if (matches(e, run)) return { outcome: 'XFAIL', detail: `${got}; expected failure: ${e.reason}` };
    if (matches({ outcome: 'pass' }, run))
      return { outcome: 'XPASS', detail: `passed, but expected to fail: ${e.reason}` };
    return { outcome: 'FAIL', detail: `expected ${describeExpected(e)}, got ${got}${harnessNote}` };
  }
  if (matches(e, run)) return { outcome: 'PASS', detail: got };
  return { outcome: 'FAIL', detail: `expected ${describeExpected(e)}, got ${got}${harnessNote}` };
}
