/*
 * `cherisim leak-matrix`: the whole matrix is run ONCE (one CLI process, --json --report) and
 * shared by the tests below.  Assertions are the reference's (cheribsd-semantics.md), only
 * where it is unambiguous.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { assertOneLineError, type CliResult, cherisimAsync, cherisimSync } from '../_support/cli_spawn.js';

const CHANNEL_IDS = [
  'anon-shared-fork',
  'shm-anon-fork',
  'shm-anon-scm-rights',
  'shm-named-open',
  'shm-sharecap',
  'memfd-scm-rights',
  'sysv-shmat',
  'file-shared',
  'file-private-cow',
  'shm-private-cow',
  'pipe',
  'unix-stream',
  'shm-read-write',
];
const REGIMES = ['pr2225', 'cheribsd-strict', 'cheribsd-dev'];
const STOPPED_BY = [
  'none',
  'store-fault',
  'stripped-on-load',
  'mmap-refused',
  'copied-bytes',
  'private-copy',
];

interface Row {
  channel: string;
  regime: string;
  direction: string;
  tagCrossed: boolean;
  stoppedBy: string;
  detail: string;
}

const reportDir = mkdtempSync(join(tmpdir(), 'cherisim-leak-matrix-'));
test.after.always(() => rmSync(reportDir, { recursive: true, force: true }));

let matrix: Promise<{ result: CliResult; rows: Row[] }> | undefined;
function runOnce() {
  matrix ??= cherisimAsync('leak-matrix', '--json', '--report', reportDir, '--phys-mib', '8').then(
    (result) => ({
      result,
      rows: (JSON.parse(result.stdout) as { rows: Row[] }).rows,
    }),
  );
  return matrix;
}

const cell = (rows: Row[], channel: string, regime: string, direction = 'parent-to-child') =>
  rows.find((r) => r.channel === channel && r.regime === regime && r.direction === direction);

test('the JSON rows cover every channel × regime × direction exactly once, every cell ran as designed', async (t) => {
  const { result, rows } = await runOnce();
  t.is(result.code, 0, result.stderr);
  t.is(result.stderr, '');
  const keys = rows.map((r) => `${r.channel}/${r.regime}/${r.direction}`);
  t.is(new Set(keys).size, keys.length, 'no cell twice');
  for (const channel of CHANNEL_IDS)
    for (const regime of REGIMES) t.truthy(cell(rows, channel, regime), `${channel} under ${regime}`);
  t.deepEqual([...new Set(rows.map((r) => r.channel))].sort(), [...CHANNEL_IDS].sort());
  for (const r of rows) {
    t.true(['parent-to-child', 'child-to-parent'].includes(r.direction));
    t.true(
      STOPPED_BY.includes(r.stoppedBy),
      `${r.channel}/${r.regime}/${r.direction}: ${r.stoppedBy} ${r.detail}`,
    );
    t.is(r.tagCrossed, r.stoppedBy === 'none', `${r.channel}/${r.regime}: tagCrossed iff stoppedBy none`);
  }
});

test('R13: shm-anon-scm-rights (catalogue #8) crosses under cheribsd-dev, and pr2225 closes it', async (t) => {
  const { rows } = await runOnce();
  for (const direction of ['parent-to-child', 'child-to-parent']) {
    t.true(cell(rows, 'shm-anon-scm-rights', 'cheribsd-dev', direction)?.tagCrossed, direction);
    t.false(cell(rows, 'shm-anon-scm-rights', 'pr2225', direction)?.tagCrossed, direction);
  }
  /* R22: the receiver is not the owner, its PROT_CAP mapping is refused */
  t.is(cell(rows, 'shm-anon-scm-rights', 'pr2225')?.stoppedBy, 'mmap-refused');
  /* the other shm channels of R13 as well */
  for (const channel of ['shm-anon-fork', 'shm-named-open', 'memfd-scm-rights']) {
    t.true(cell(rows, channel, 'cheribsd-dev')?.tagCrossed, channel);
    t.false(cell(rows, channel, 'pr2225')?.tagCrossed, channel);
  }
});

test('R9, R10: pipe, unix-stream and shm-read-write never carry a tag: copied-bytes', async (t) => {
  const { rows } = await runOnce();
  for (const r of rows.filter((r) => ['pipe', 'unix-stream', 'shm-read-write'].includes(r.channel))) {
    t.false(r.tagCrossed, `${r.channel}/${r.regime}/${r.direction}`);
    t.is(r.stoppedBy, 'copied-bytes');
  }
});

test('M5: file-shared never lets a tag cross, under any regime', async (t) => {
  const { rows } = await runOnce();
  const fileRows = rows.filter((r) => r.channel === 'file-shared');
  t.is(fileRows.length, REGIMES.length * 2);
  for (const r of fileRows) t.false(r.tagCrossed, `${r.regime}/${r.direction}`);
});

test('R24, R26: pr2225 lets O_SHARECAP shm and SysV segments share capabilities; M13: SysV stores fault elsewhere', async (t) => {
  const { rows } = await runOnce();
  t.true(cell(rows, 'shm-sharecap', 'pr2225')?.tagCrossed);
  t.true(cell(rows, 'sysv-shmat', 'pr2225')?.tagCrossed);
  t.is(cell(rows, 'sysv-shmat', 'cheribsd-dev')?.stoppedBy, 'store-fault');
  /* R23: a fork child's inherited shm mapping has no capability permissions under pr2225 */
  t.is(cell(rows, 'shm-anon-fork', 'pr2225')?.stoppedBy, 'stripped-on-load');
  t.is(cell(rows, 'shm-anon-fork', 'pr2225', 'child-to-parent')?.stoppedBy, 'store-fault');
});

test('--report writes leak-matrix.html (a self-contained table) and leak-matrix.md', async (t) => {
  await runOnce();
  const html = readFileSync(join(reportDir, 'leak-matrix.html'), 'utf8');
  t.regex(html, /<table id="leak-matrix"/);
  t.regex(html, /<td [^>]*>CROSSED<\/td>/);
  for (const id of CHANNEL_IDS) t.true(html.includes(`<code>${id}</code>`), id);
  t.notRegex(html, /<(link|script)\b|src=|url\(/, 'no external assets');
  t.true(existsSync(join(reportDir, 'leak-matrix.md')));
  const md = readFileSync(join(reportDir, 'leak-matrix.md'), 'utf8');
  t.regex(md, /^\| channel \| pr2225 p→c \|/m);
  t.regex(md, /^\| `shm-anon-scm-rights` \|/m);
});

test('leak-matrix: a table on stdout; --channel and --regime select cells; bad input is one line, exit 2', async (t) => {
  const r = await cherisimAsync(
    'leak-matrix',
    '--channel',
    'pipe',
    '--regime',
    'cheribsd-dev',
    '--jobs',
    '1',
  );
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^channel\s+cheribsd-dev p→c\s+cheribsd-dev c→p$/m);
  t.regex(r.stdout, /^pipe\s+copied-bytes\s+copied-bytes$/m);
  t.false(r.stdout.includes('\u001b['), 'no colour when stdout is not a TTY');
  for (const [args, pattern] of [
    [['--channel', 'nope-*'], /no channel matches/],
    [['--regime', 'dev'], /invalid/],
    [['--jobs', '0'], /--jobs/],
  ] as const) {
    const bad = cherisimSync('leak-matrix', ...args);
    t.is(bad.code, 2);
    assertOneLineError(t, bad.stderr, pattern);
  }
});

test('--receiver-no-cap (catalogue #8 form): the receiver maps PROT_READ only; only cheribsd-dev leaks', async (t) => {
  const r = await cherisimAsync(
    'leak-matrix',
    '--channel',
    'shm-anon-scm-rights',
    '--receiver-no-cap',
    '--json',
  );
  t.is(r.code, 0, r.stderr);
  const { rows } = JSON.parse(r.stdout) as { rows: Row[] };
  t.is(rows.length, 6);
  for (const row of rows) {
    t.is(row.tagCrossed, row.regime === 'cheribsd-dev', `${row.regime}/${row.direction}`);
    if (row.regime !== 'cheribsd-dev') t.is(row.stoppedBy, 'stripped-on-load'); /* R6, R21 */
  }
});
