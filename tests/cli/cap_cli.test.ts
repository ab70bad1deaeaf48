/*
 * The built `cherisim` CLI, run as a child process from the repository root: output, exit
 * codes (0 ok, 1 mismatches, 2 usage or input error) and one-line errors without stacks.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import test from 'ava';
import { REPO_ROOT, vectorFile } from '../_support/cc128.js';

const MAIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'main.js');

function cherisim(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function decodeRows(): string[] {
  return gunzipSync(readFileSync(vectorFile('decode.jsonl.gz')))
    .toString('utf8')
    .trim()
    .split('\n');
}

function withTempFile(t: import('ava').ExecutionContext, name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cherisim-cli-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/* An error is exactly one line on stderr, in the cherisim style, with no stack trace. */
function assertOneLineError(t: import('ava').ExecutionContext, stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.is(lines.length, 1, `stderr was: ${stderr}`);
  t.regex(lines[0], /^cherisim: /);
  t.regex(lines[0], pattern);
  t.notRegex(stderr, /\n\s+at /);
}

test('decode prints the almighty capability as %#p with its fields', (t) => {
  const r = cherisim('cap', 'decode', '0xffff1ffffc018004', '0', '--tag');
  t.is(r.code, 0);
  const lines = r.stdout.split('\n');
  t.is(lines[0], '0x0 [rwxRW,0x0-0xffffffffffffffff]');
  t.regex(r.stdout, /^\s+top\s+0x10000000000000000 /m);
  t.regex(r.stdout, /^\s+perms\s+0x78fff GLOBAL EXECUTE LOAD STORE /m);
  t.regex(r.stdout, /^\s+otype\s+0x3ffff \(unsealed\)$/m);
  t.regex(r.stdout, /^\s+exponent\s+52 /m);
});

test('decode --memory reads the in-memory form: zero is NULL', (t) => {
  const r = cherisim('cap', 'decode', '0', '0x1234', '--memory');
  t.is(r.code, 0);
  t.is(r.stdout.split('\n')[0], '0x1234');
  t.regex(r.stdout, /pesbt\s+0x00001ffffc018004 raw/);
});

test('decode --json gives the fields of a decode vector row', (t) => {
  const row = JSON.parse(decodeRows()[1]) as Record<string, unknown>;
  const r = cherisim('cap', 'decode', row.in_pesbt as string, row.in_cursor as string, '--json');
  t.is(r.code, 0);
  const json = JSON.parse(r.stdout) as Record<string, unknown>;
  for (const key of [
    'tag',
    'pesbt',
    'addr',
    'base',
    'top',
    'exp',
    'bounds_valid',
    'perms',
    'otype',
    'flags',
    'reserved',
  ])
    t.deepEqual(json[key], row[key], key);
  t.is(typeof json.formatted, 'string');
});

test('check-vectors on a real vector file exits 0 with 0 mismatches', (t) => {
  const r = cherisim('cap', 'check-vectors', 'vectors/cc128/decode.jsonl.gz');
  t.is(r.code, 0);
  t.is(r.stdout.trim(), 'vectors/cc128/decode.jsonl.gz: 6000 rows, 0 mismatches');
  t.is(r.stderr, '');
});

test('check-vectors exits 1 and names the mismatch in a corrupted row', (t) => {
  const rows = decodeRows().slice(0, 3);
  const row = JSON.parse(rows[1]) as Record<string, unknown>;
  const base = row.base as string;
  row.base = `${base.slice(0, -1)}${base.endsWith('0') ? '1' : '0'}`;
  rows[1] = JSON.stringify(row);
  const file = withTempFile(t, 'corrupt.jsonl', `${rows.join('\n')}\n`);
  const r = cherisim('cap', 'check-vectors', file);
  t.is(r.code, 1);
  t.regex(r.stdout, /: 3 rows, 1 mismatch\n/);
  t.regex(r.stdout, new RegExp(`line 2 \\(decode\\): base expected ${row.base}, got ${base}`));
});

test('check-vectors on malformed JSON exits 2 with one line naming the file and line', (t) => {
  const file = withTempFile(t, 'bad.jsonl', `${decodeRows()[0]}\n{"in_pesbt": \n`);
  const r = cherisim('cap', 'check-vectors', file);
  t.is(r.code, 2);
  assertOneLineError(t, r.stderr, /bad\.jsonl:2: bad JSON/);
});

test('check-vectors on a row of no known kind exits 2 with one line', (t) => {
  const file = withTempFile(t, 'odd.jsonl', '{"hello": "world"}\n');
  const r = cherisim('cap', 'check-vectors', file);
  t.is(r.code, 2);
  assertOneLineError(t, r.stderr, /odd\.jsonl:1: row of no known kind/);
});

test('check-vectors on a missing file exits 2 with one line', (t) => {
  const r = cherisim('cap', 'check-vectors', 'vectors/cc128/missing.jsonl.gz');
  t.is(r.code, 2);
  assertOneLineError(t, r.stderr, /missing\.jsonl\.gz: cannot read vector file \(no such file\)/);
});

test('decode with a bad hex argument exits 2 with one line', (t) => {
  const r = cherisim('cap', 'decode', '0xfoo', '0');
  t.is(r.code, 2);
  assertOneLineError(t, r.stderr, /PESBT: expected a 64-bit value/);
  t.is(r.stdout, '');
});

test('decode with a value above 64 bits exits 2 with one line', (t) => {
  const r = cherisim('cap', 'decode', '0', '0x10000000000000000');
  t.is(r.code, 2);
  assertOneLineError(t, r.stderr, /CURSOR: .* does not fit in 64 bits/);
});

test('an unknown verb exits 2 with one line', (t) => {
  for (const args of [['frobnicate'], ['cap', 'frobnicate']]) {
    const r = cherisim(...args);
    t.is(r.code, 2);
    assertOneLineError(t, r.stderr, /unknown command 'frobnicate'/);
  }
});

test('an unknown flag exits 2 with one line', (t) => {
  const r = cherisim('cap', 'decode', '--frobnicate', '1', '2');
  t.is(r.code, 2);
  assertOneLineError(t, r.stderr, /unknown option '--frobnicate'/);
});

test('--help and --version exit 0', (t) => {
  const help = cherisim('--help');
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit codes:/);
  const version = cherisim('--version');
  t.is(version.code, 0);
  t.regex(version.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('the demo derives capabilities and shows the tag cleared and the sentry', (t) => {
  const r = cherisim('cap', 'demo');
  t.is(r.code, 0);
  t.regex(r.stdout, /0x0 \[rwxRW,0x0-0xffffffffffffffff\]/);
  t.regex(r.stdout, /unrepresentable, the tag is cleared\n {2}0x10000000 \[rwxRW,[^\]]*\] \(invalid\)\n/);
  t.regex(r.stdout, /InexactBounds → SIGPROT PROT_CHERI_IMPRECISE/);
  t.regex(r.stdout, /\(sentry\)/);
});
