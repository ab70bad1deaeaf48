/*
 * `cherisim suite`: the acceptance catalogue (cheribsd-semantics.md §7) as guest programs.
 * The whole suite is run ONCE (one CLI process, --all-regimes --json) and shared by the tests
 * below; the others run small filtered subsets.  What is asserted is the reference's truth, not
 * whatever the simulator happens to do: a FAIL here is a disagreement to look into.
 */
import test from 'ava';
import { assertOneLineError, type CliResult, cherisimAsync, cherisimSync } from '../_support/cli_spawn.js';

const REGIMES = ['pr2225', 'cheribsd-strict', 'cheribsd-dev'];

/* Every modelled test of the catalogue: 7.1, 7.3, 7.4 and the derived 7.5 scenarios. */
const MODELLED = [
  'vm_tag_mmap_anon',
  'vm_tag_mmap_anon_cap',
  'vm_notag_mmap_no_cap',
  'vm_notag_mprotect_no_cap',
  'vm_mmap_diallowed_prot',
  'vm_tag_shm_open_anon_shared',
  'vm_tag_shm_open_anon_private',
  'vm_shm_open_anon_unix_surprise',
  'shm_open_read_nocaps',
  'shm_open_write_nocaps',
  'vm_tag_dev_zero_shared',
  'vm_tag_dev_zero_private',
  'vm_notag_tmpfile_shared',
  'vm_tag_tmpfile_private',
  'vm_tag_tmpfile_private_prefault',
  'vm_cow_read',
  'vm_shm_largepage_basic',
  'vm_capdirty',
  'test_ipc_pipe_capsize_tagstripped',
  'test_ipc_pipe_8k_tagstripped',
  'test_ipc_socket_local_stream_capsize_tagstripped',
  'test_ipc_socket_local_stream_8k_tagstripped',
  'vm_swap',
  'minherit_bounds',
  'vm_tag_shm_open_named_shared_no_implied_cap',
  'vm_tag_shm_open_anon_shared_no_implied_cap',
  'vm_tag_anon_shared_no_implied_cap',
  'vm_tag_memfd_create_shared',
  'vm_tag_shm_open_anon_shared.port',
  'vm_shm_open_named_unix_surprise',
  'shm_open_named_read_nocaps',
  'shm_open_anon_shm',
  'memfd_create_anon_write_nocaps',
  'pr2225_d1_owner_prot_cap',
  'pr2225_d2_owner_no_prot_cap',
  'pr2225_d3_second_process_prot_cap',
  'pr2225_d4_second_process_read',
  'pr2225_d5_sharecap_fork',
  'pr2225_d7_owner_exit',
  'cheri_revoke_lightly',
  'cheri_revoke_loadside',
  'cheri_revoke_async',
  'cheri_revoke_async_fork',
  'cheri_revoke_lib',
  'cheri_revoke_lib_fork',
  'cheri_revoke_shm_anon_hoard_unmapped',
  'pr2225_d6_revoke_local_shm',
];

/* The catalogue's expected failures: #8 and #54 (tags survive shm aliasing, R13), #40, and D4, the
   PR2225 property "a PROT_READ second process loads untagged", which DEV breaks the same way. */
const XFAIL = [
  'vm_shm_open_anon_unix_surprise/cheribsd-dev',
  'vm_shm_open_named_unix_surprise/cheribsd-dev',
  'vm_shm_open_named_unix_surprise/cheribsd-strict',
  'pr2225_d4_second_process_read/cheribsd-dev',
  /* #40: "unmapped part of shm objects aren't revoked" without PR #2225's mapping-in (R49) */
  'cheri_revoke_shm_anon_hoard_unmapped/cheribsd-dev',
  'cheri_revoke_shm_anon_hoard_unmapped/cheribsd-strict',
];

interface Result {
  test: string;
  regime: string;
  outcome: string;
  detail: string;
}
interface NotRun {
  test: string;
  catalogue: string;
  status: string;
  reason: string;
}
interface SuiteJson {
  results: Result[];
  passed: number;
  failed: number;
  notRun: NotRun[];
}

let full: Promise<{ result: CliResult; json: SuiteJson }> | undefined;
function runOnce() {
  full ??= cherisimAsync('suite', '--all-regimes', '--json').then((result) => ({
    result,
    json: JSON.parse(result.stdout) as SuiteJson,
  }));
  return full;
}
const cell = (json: SuiteJson, t: string, regime: string) =>
  json.results.find((r) => r.test === t && r.regime === regime);

test('suite --all-regimes --json: one result per modelled test × regime, and nothing else', async (t) => {
  const { result, json } = await runOnce();
  t.is(result.stderr, '');
  t.deepEqual(Object.keys(json), ['results', 'passed', 'failed', 'notRun']);
  t.is(json.results.length, MODELLED.length * REGIMES.length);
  for (const id of MODELLED) for (const g of REGIMES) t.truthy(cell(json, id, g), `${id} × ${g}`);
  for (const r of json.results) {
    t.deepEqual(Object.keys(r), ['test', 'regime', 'outcome', 'detail']);
    t.true(['PASS', 'XFAIL', 'FAIL', 'XPASS'].includes(r.outcome));
  }
});

test('suite --all-regimes: no FAIL or XPASS, exit 0, the counts add up', async (t) => {
  const { result, json } = await runOnce();
  const bad = json.results.filter((r) => r.outcome === 'FAIL' || r.outcome === 'XPASS');
  t.deepEqual(
    bad.map((r) => `${r.outcome} ${r.test}/${r.regime}: ${r.detail}`),
    [],
  );
  t.is(json.failed, bad.length);
  t.is(json.passed, json.results.length - bad.length);
  t.is(result.code, bad.length === 0 ? 0 : 1);
});

test('the XFAIL cells are the catalogue’s', async (t) => {
  const { json } = await runOnce();
  const xfail = json.results.filter((r) => r.outcome === 'XFAIL').map((r) => `${r.test}/${r.regime}`);
  t.deepEqual(xfail.sort(), [...XFAIL].sort());
  t.regex(
    cell(json, 'vm_shm_open_anon_unix_surprise', 'cheribsd-dev')?.detail ?? '',
    /Tags currently survive/,
  );
});

test('faults are checked as CT_FLAG_SIGNAL / SI_CODE / SI_TRAPNO / SI_ADDR do', async (t) => {
  const { json } = await runOnce();
  for (const id of ['vm_notag_mmap_no_cap', 'vm_notag_mprotect_no_cap', 'vm_notag_tmpfile_shared'])
    for (const g of REGIMES) {
      const r = cell(json, id, g);
      t.is(r?.outcome, 'PASS', `${id}/${g}`);
      t.regex(r?.detail ?? '', /^SIGSEGV\/SEGV_STORETAG\/TRAPNO_STORE_CAP_PF at the mapping base$/);
    }
  /* #6: DEV implies caps for shared shm, STRICT and PR2225 do not (M7) */
  t.is(cell(json, 'vm_tag_shm_open_anon_shared', 'cheribsd-dev')?.detail, 'success');
  t.regex(cell(json, 'vm_tag_shm_open_anon_shared', 'cheribsd-strict')?.detail ?? '', /SEGV_STORETAG/);
  t.regex(cell(json, 'vm_tag_shm_open_anon_shared', 'pr2225')?.detail ?? '', /SEGV_STORETAG/);
  /* #5: every bad combination ENOTSUP (R3) */
  for (const g of REGIMES) t.is(cell(json, 'vm_mmap_diallowed_prot', g)?.detail, 'refused with ENOTSUP');
  /* D3 / D7: refused under PR2225 only (R22) */
  t.regex(cell(json, 'pr2225_d3_second_process_prot_cap', 'pr2225')?.detail ?? '', /^refused with E/);
  t.is(cell(json, 'pr2225_d3_second_process_prot_cap', 'cheribsd-dev')?.detail, 'success');
  t.regex(cell(json, 'pr2225_d7_owner_exit', 'pr2225')?.detail ?? '', /^refused with E/);
  /* D5: O_SHARECAP exists only under PR2225 */
  t.is(cell(json, 'pr2225_d5_sharecap_fork', 'pr2225')?.detail, 'success');
  t.is(cell(json, 'pr2225_d5_sharecap_fork', 'cheribsd-dev')?.detail, 'refused with EINVAL');
});

test('the unmodelled part of the catalogue is listed, never counted as passed', async (t) => {
  const { json } = await runOnce();
  const status = new Map(json.notRun.map((n) => [n.test, n.status]));
  t.is(status.get('vm_cap_share_fd_kqueue'), 'not modelled');
  t.is(status.get('vm_cap_share_sigaction'), 'not modelled');
  t.is(status.get('cheri_revoke_lib_child_fork_exec_once'), 'not modelled');
  t.is(status.get('revoke_merge_quarantined'), 'not modelled');
  t.is(status.get('test_ipc_socket_tcp_stream_8k_tagstripped'), 'not applicable');
  t.is(json.notRun.filter((n) => n.catalogue.startsWith('7.2 ')).length, 12);
  for (const n of json.notRun)
    t.false(
      json.results.some((r) => r.test === n.test),
      `${n.test} has no result`,
    );
});

test('--filter selects tests; the table ends with "N passed, N failed"', async (t) => {
  const r = await cherisimAsync('suite', '--filter', 'vm_tag_*_private*', '--regime', 'cheribsd-dev');
  t.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  t.is(lines.at(-1), '4 passed, 0 failed');
  t.regex(lines[0], /^test\s+catalogue\s+cheribsd-dev$/);
  const rows = lines.slice(1).filter((l) => /^vm_/.test(l));
  t.deepEqual(
    rows.map((l) => l.split(/\s+/)),
    [
      ['vm_tag_shm_open_anon_private', '7.1', '#7', 'PASS'],
      ['vm_tag_dev_zero_private', '7.1', '#14', 'PASS'],
      ['vm_tag_tmpfile_private', '7.1', '#16', 'PASS'],
      ['vm_tag_tmpfile_private_prefault', '7.1', '#17', 'PASS'],
    ],
  );
  t.false(r.stdout.includes('\u001b['), 'no colour when not a TTY');
});

test('--filter with --json: only the selected cells', async (t) => {
  const r = await cherisimAsync('suite', '--filter', 'test_ipc_pipe_*', '--json', '--jobs', '2');
  t.is(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as SuiteJson;
  t.is(json.results.length, 2 * REGIMES.length);
  t.true(json.results.every((x) => x.test.startsWith('test_ipc_pipe_') && x.outcome === 'PASS'));
  t.is(json.passed, 6);
  t.is(json.failed, 0);
});

test('bad input exits 2 with one line', (t) => {
  for (const args of [
    ['--regime', 'freebsd'],
    ['--filter', 'no_such_test*'],
    ['--jobs', '0'],
    ['--regime', 'pr2225', '--all-regimes'],
  ]) {
    const r = cherisimSync('suite', ...args);
    t.is(r.code, 2, args.join(' '));
    t.is(r.stdout, '');
    assertOneLineError(t, r.stderr, /./);
  }
  assertOneLineError(t, cherisimSync('suite', '--filter', 'nope').stderr, /--filter nope: no test matches/);
});
