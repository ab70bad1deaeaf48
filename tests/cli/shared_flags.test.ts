/*
 * The flags shared by the verbs that boot systems: --store-fault/--store-strip (R5's switch),
 * --trace FILE (events of every system, tagged) and --log-level.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { assertOneLineError, cherisimAsync } from '../_support/cli_spawn.js';

interface Row {
  channel: string;
  regime: string;
  direction: string;
  tagCrossed: boolean;
  stoppedBy: string;
}

const cell = async (...extra: string[]) => {
  const r = await cherisimAsync(
    'leak-matrix',
    '--channel',
    'shm-anon-fork',
    '--regime',
    'pr2225',
    '--json',
    ...extra,
  );
  return { r, rows: r.code === 0 ? ((JSON.parse(r.stdout) as { rows: Row[] }).rows as Row[]) : [] };
};

test('leak-matrix --store-strip: the store that faults under the default switch is stored untagged instead (R5)', async (t) => {
  const fault = await cell();
  const strip = await cell('--store-strip');
  const c2p = (rows: Row[]) => rows.find((r) => r.direction === 'child-to-parent');
  t.is(c2p(fault.rows)?.stoppedBy, 'store-fault');
  t.not(c2p(strip.rows)?.stoppedBy, 'store-fault');
  t.false(c2p(strip.rows)?.tagCrossed);
});

test('leak-matrix --trace FILE: every cell’s system appends its events, tagged with the cell', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cherisim-flags-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trace.ndjson');
  const { r } = await cell('--trace', file);
  t.is(r.code, 0);
  const tags = new Set(
    readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { sys: string }).sys),
  );
  t.deepEqual([...tags].sort(), [
    'shm-anon-fork/pr2225/child-to-parent',
    'shm-anon-fork/pr2225/parent-to-child',
  ]);
});

test('a bad --log-level and the store switch on suite (whose expectations assume the fault switch) are one-line errors', async (t) => {
  const a = await cherisimAsync('leak-matrix', '--log-level', 'loud');
  t.is(a.code, 2);
  assertOneLineError(t, a.stderr, /log-level/);
  const b = await cherisimAsync('suite', '--store-strip');
  t.is(b.code, 2);
  assertOneLineError(t, b.stderr, /store-strip/);
});
