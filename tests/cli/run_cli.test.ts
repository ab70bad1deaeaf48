/*
 * `cherisim run FILE`: the built CLI, spawned from the repository root, on the examples in
 * examples/ and on bad input (one line on stderr, exit 2).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { assertOneLineError, cherisimSync } from '../_support/cli_spawn.js';

const DESIGN = 'examples/design_example.ts';
const OUTCOMES = 'examples/outcomes.ts';

function tempGuest(t: ExecutionContext, name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'cherisim-run-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

interface JsonProcess {
  pid: number;
  ppid: number;
  entry: string;
  exited: boolean;
  exitStatus: number | null;
  termsig: number | null;
  signal: string | null;
  siginfo: { si_code: number; si_code_name: string; si_addr: number } | null;
  reason: string | null;
}

test('run prints each process of the DESIGN example; cheribsd-dev: the tag crosses (R13), exit 1', (t) => {
  const r = cherisimSync('run', DESIGN, '--regime', 'cheribsd-dev');
  t.is(r.stderr, '');
  const lines = r.stdout.trim().split('\n');
  t.is(lines.length, 2, r.stdout);
  t.regex(lines[0], /^pid \d+\s+main\s+exited 1$/);
  t.regex(lines[1], /^pid \d+\s+child\s+exited 1 \(child of \d+\)$/);
  t.is(r.code, 1, 'the first process exited 1');
});

for (const regime of ['pr2225', 'cheribsd-strict']) {
  test(`run the DESIGN example under ${regime}: the child sees no tag, exit 0`, (t) => {
    const r = cherisimSync('run', DESIGN, '--regime', regime);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /child\s+exited 0/);
  });
}

test('run --json gives {"processes":[…]} with pid, ppid, entry and exit status', (t) => {
  const r = cherisimSync('run', DESIGN, '--json', '--regime', 'cheribsd-dev');
  t.is(r.code, 1);
  const { processes } = JSON.parse(r.stdout) as { processes: JsonProcess[] };
  t.is(processes.length, 2);
  const [parent, child] = processes;
  t.is(parent.entry, 'main');
  t.is(child.entry, 'child');
  t.is(child.ppid, parent.pid);
  t.true(child.exited);
  t.is(child.exitStatus, 1);
  t.is(child.termsig, null);
});

test('run shows a store fault as SIGSEGV with SEGV_STORETAG and si_addr, and a throw as SIGABRT with its reason', (t) => {
  const r = cherisimSync('run', OUTCOMES);
  t.is(r.stderr, '');
  t.is(r.code, 1, 'main exits 2: two children died of a signal');
  t.regex(r.stdout, /main\s+exited 2/);
  t.regex(r.stdout, /storeFault\s+killed by SIGSEGV \(SEGV_STORETAG, si_addr 0x[0-9a-f]+\)/);
  t.regex(r.stdout, /boom\s+killed by SIGABRT .*uncaught exception: .*kaboom/);
  const { processes } = JSON.parse(cherisimSync('run', OUTCOMES, '--json').stdout) as {
    processes: JsonProcess[];
  };
  const boom = processes.find((p) => p.entry === 'boom')!;
  t.is(boom.signal, 'SIGABRT');
  t.regex(boom.reason ?? '', /kaboom/);
  const fault = processes.find((p) => p.entry === 'storeFault')!;
  t.is(fault.signal, 'SIGSEGV');
  t.is(fault.siginfo?.si_code_name, 'SEGV_STORETAG');
  t.is((fault.siginfo?.si_addr ?? 0) % 4096, 32);
});

test('run --entry starts at another export; arguments after -- reach the entry as JSON', (t) => {
  const boom = cherisimSync('run', OUTCOMES, '--entry', 'boom');
  t.is(boom.code, 1);
  t.regex(boom.stdout, /^pid \d+\s+boom\s+killed by SIGABRT/);
  const one = cherisimSync('run', OUTCOMES, '--', '1');
  t.is(one.code, 1);
  t.regex(one.stdout, /main\s+exited 1/);
  t.notRegex(one.stdout, /boom/);
  const zero = cherisimSync('run', OUTCOMES, '--', '0');
  t.is(zero.code, 0, 'no child: main exits 0');
});

const badInputs: [string, (t: ExecutionContext) => string[], RegExp][] = [
  [
    'a missing file',
    () => ['run', 'examples/no_such_file.ts'],
    /cannot read examples\/no_such_file\.ts: no such file/,
  ],
  [
    'a syntax error',
    (t) => ['run', tempGuest(t, 'bad.ts', 'export function main(sys: any) {\n  return 1 +;\n}\n')],
    /bad\.ts:2:\d+: syntax error/,
  ],
  [
    'an import of anything but cherisim',
    (t) => [
      'run',
      tempGuest(t, 'imp.ts', "import fs from 'node:fs';\nexport function main() { return 0; }\n"),
    ],
    /imp\.ts:1:\d+: .*node:fs/,
  ],
  [
    'a missing entry',
    () => ['run', DESIGN, '--entry', 'nope'],
    /no exported function 'nope' \(exported functions: child, main\)/,
  ],
  ['a bad regime name', () => ['run', DESIGN, '--regime', 'cheribsd-9'], /cheribsd-9.*invalid.*pr2225/],
  ['both store switches', () => ['run', DESIGN, '--store-fault', '--store-strip'], /cannot be used with/],
  [
    'a file that is not a guest module',
    (t) => ['run', tempGuest(t, 'x.txt', 'hello')],
    /\.ts, \.mts, \.js or \.mjs/,
  ],
];

for (const [what, args, pattern] of badInputs) {
  test(`run: ${what} is one line on stderr and exit 2`, (t) => {
    const r = cherisimSync(...args(t));
    t.is(r.code, 2, r.stderr);
    t.is(r.stdout, '');
    assertOneLineError(t, r.stderr, pattern);
  });
}

test('run --trace FILE writes NDJSON events; --log-level sends kernel logs to stderr', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cherisim-trace-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trace.ndjson');
  const r = cherisimSync('run', DESIGN, '--regime', 'cheribsd-dev', '--trace', file, '--log-level', 'debug');
  t.is(r.code, 1);
  const events = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { ev: string; name?: string });
  t.true(events.some((e) => e.ev === 'syscall' && e.name === 'fork'));
  t.true(events.some((e) => e.ev === 'cap-store-shared'));
  t.regex(r.stderr, /"msg":"exit"/, 'debug logs from the kernel');
});

test('run with a bad --log-level is one line and exit 2', (t) => {
  const r = cherisimSync('run', DESIGN, '--log-level', 'loud');
  t.is(r.code, 2);
  assertOneLineError(t, r.stderr, /log-level/);
});
