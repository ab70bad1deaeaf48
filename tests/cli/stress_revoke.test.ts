/*
 * `cherisim stress-revoke`: the built CLI, spawned from the repository root.  A short run in
 * both modes passes with no checker violation, at least one epoch and revoked capabilities;
 * bad input is one line on stderr and exit 2.
 */
import test from 'ava';
import { assertOneLineError, cherisimAsync, cherisimSync } from '../_support/cli_spawn.js';

interface Run {
  mode: string;
  epochs: number;
  capsRevoked: number;
  violations: number;
  ok: boolean;
  failures: string[];
  pauseMs: { p50: number; p99: number; max: number };
  guest: { mallocs: number; frees: number; sharedStores: number; reusedChunks: number; forks: number };
}

interface Report extends Omit<Run, 'guest'> {
  runs: Run[];
}

test('a short run in both modes: 0 violations, epochs, capabilities revoked, memory reused, forks', async (t) => {
  const r = await cherisimAsync(
    'stress-revoke',
    '--ops',
    '1600',
    '--processes',
    '2',
    '--threads',
    '2',
    '--fork-every',
    '150',
    '--seed',
    '7',
    '--json',
  );
  t.is(r.code, 0, r.stdout + r.stderr);
  const rep = JSON.parse(r.stdout) as Report;
  t.is(rep.mode, 'both');
  t.is(rep.violations, 0);
  t.true(rep.ok);
  t.deepEqual(rep.failures, []);
  for (const k of ['p50', 'p99', 'max'] as const) t.is(typeof rep.pauseMs[k], 'number');
  t.deepEqual(
    rep.runs.map((x) => x.mode),
    ['store', 'load'],
  );
  for (const run of rep.runs) {
    t.is(run.violations, 0, run.mode);
    t.true(run.epochs >= 1, `${run.mode}: ${run.epochs} epochs`);
    t.true(run.capsRevoked > 0, `${run.mode}: ${run.capsRevoked} capabilities revoked`);
    t.true(run.guest.sharedStores > 0, run.mode);
    t.true(run.guest.reusedChunks > 0, `${run.mode}: freed memory is reused after revocation`);
    t.true(run.guest.forks > 0, run.mode);
  }
  t.is(
    rep.epochs,
    rep.runs.reduce((a, x) => a + x.epochs, 0),
  );
});

test('the table lists the mode run and ends with PASS', async (t) => {
  const r = await cherisimAsync(
    'stress-revoke',
    '--ops',
    '200',
    '--processes',
    '1',
    '--threads',
    '2',
    '--mode',
    'store',
  );
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^store\s+\d+\s+\d+/m);
  t.regex(r.stdout, /PASS$/m);
  t.notRegex(r.stdout, /^load/m);
});

for (const [args, pattern] of [
  [['--processes', '0'], /--processes.*expected a whole number/],
  [['--mode', 'sideways'], /--mode.*sideways/],
  [['--duration', '-1'], /--duration.*seconds/],
  [['--ops', '1.5'], /--ops.*whole number/],
  [['--regime', 'nope'], /--regime/],
] as const) {
  test(`bad input ${args.join(' ')}: one line, exit 2`, (t) => {
    const r = cherisimSync('stress-revoke', ...args);
    t.is(r.code, 2);
    t.is(r.stdout, '');
    assertOneLineError(t, r.stderr, pattern);
  });
}
