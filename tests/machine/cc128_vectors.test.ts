/*
 * The codec against the shared cc128 vectors (cheri-compressed-cap + its Sail reference):
 * every row, every field.  Also checks that the checker itself notices wrong rows and
 * reports malformed input, so that "0 mismatches" means something.
 */
import {
  type Cc128VectorKind,
  checkVectorFile,
  checkVectorRow,
  checkVectorRows,
  describeMismatch,
  readVectorRows,
  VectorInputError,
} from '@cherisim/machine';
import test from 'ava';
import { vectorFile } from '../_support/cc128.js';

/* Row counts from capability-encoding.md §7: a truncated file must not pass. */
const FILES: readonly [file: string, kind: Cc128VectorKind, rows: number][] = [
  ['decode.jsonl.gz', 'decode', 6000],
  ['setbounds.jsonl.gz', 'setbounds', 12000],
  ['representable.jsonl.gz', 'representable', 18000],
  ['crrl_cram.jsonl.gz', 'crrl_cram', 3192],
  ['special.json', 'special', 1],
];

for (const [file, kind, rows] of FILES) {
  test(`every row of ${file} matches the codec on every field`, (t) => {
    const report = checkVectorFile(vectorFile(file), { maxMismatches: 20 });
    t.deepEqual(report.firstMismatches.map(describeMismatch), []);
    t.is(report.mismatches, 0);
    t.is(report.rows, rows);
    t.is(report.rowsByKind[kind], rows);
  });
}

function firstRow(file: string): Record<string, unknown> {
  return structuredClone(readVectorRows(vectorFile(file))[0].value) as Record<string, unknown>;
}

const DECODE_FIELDS = [
  'tag',
  'addr',
  'base',
  'top',
  'exp',
  'bounds_valid',
  'perms',
  'otype',
  'flags',
  'reserved',
];

function altered(value: unknown): unknown {
  if (typeof value === 'number') return value === 0 ? 1 : value - 1;
  const s = String(value);
  const last = s.at(-1) === '0' ? '1' : '0';
  return `${s.slice(0, -1)}${last}`;
}

for (const field of DECODE_FIELDS) {
  test(`a decode row with a wrong ${field} is reported as a mismatch of ${field}`, (t) => {
    const row = firstRow('decode.jsonl.gz');
    row[field] = altered(row[field]);
    const { kind, fields } = checkVectorRow(row, 'x.jsonl', 7);
    t.is(kind, 'decode');
    t.deepEqual(
      fields.map((f) => f.field),
      [field],
    );
  });
}

test('a setbounds row with a flipped exact flag fails the rounding form, the exact form and the ops', (t) => {
  const row = firstRow('setbounds.jsonl.gz');
  row.exact = row.exact === 1 ? 0 : 1;
  const names = checkVectorRow(row).fields.map((f) => f.field);
  t.true(names.includes('exact'));
  t.true(names.includes('exact_form.tag'));
  t.true(names.includes('op.setbounds.exact'));
  t.true(names.includes('op.setbounds_exact'));
});

test('a setbounds row with a wrong result top is reported on the codec and on both ops', (t) => {
  const row = firstRow('setbounds.jsonl.gz');
  const out = row.out as Record<string, unknown>;
  out.top = altered(out.top);
  const names = checkVectorRow(row).fields.map((f) => f.field);
  t.true(names.includes('out.top'));
  t.true(names.includes('op.setbounds.top'));
});

test('a representable row with the wrong answer is reported, and so is the setAddr tag', (t) => {
  const row = firstRow('representable.jsonl.gz');
  row.representable = row.representable === 1 ? 0 : 1;
  const names = checkVectorRow(row).fields.map((f) => f.field);
  t.deepEqual(names.slice(0, 2), ['representable', 'op.set_addr.tag']);
});

test('wrong CRRL and CRAM values are reported', (t) => {
  const row = firstRow('crrl_cram.jsonl.gz');
  row.crrl = '0x0000000000000abc';
  row.cram = '0x0000000000000000';
  t.deepEqual(
    checkVectorRow(row).fields.map((f) => f.field),
    ['crrl', 'cram'],
  );
});

test('a special row with the wrong reset encoding is reported', (t) => {
  const row = firstRow('special.json');
  row.reset_pesbt_raw = '0xfffe1ffffc018004';
  t.deepEqual(
    checkVectorRow(row).fields.map((f) => f.field),
    ['reset_pesbt_raw'],
  );
});

test('the report counts mismatching rows and keeps only the first ones', (t) => {
  const good = firstRow('decode.jsonl.gz');
  const bad = { ...good, base: altered(good.base) };
  const rows = [good, bad, bad, bad].map((value, i) => ({ line: i + 1, value }));
  const report = checkVectorRows('x.jsonl', rows, { maxMismatches: 2 });
  t.is(report.rows, 4);
  t.is(report.mismatches, 3);
  t.deepEqual(
    report.firstMismatches.map((m) => m.line),
    [2, 3],
  );
  t.regex(
    describeMismatch(report.firstMismatches[0]),
    /^line 2 \(decode\): base expected 0x[0-9a-f]{16}, got 0x/,
  );
});

test('a row of no known kind is an input error naming the file and line', (t) => {
  const err = t.throws(() => checkVectorRow({ foo: 1 }, 'v.jsonl', 3), { instanceOf: VectorInputError });
  t.is(err?.message, 'v.jsonl:3: row of no known kind (fields: foo)');
});

test('a value that is not hex is an input error naming the field', (t) => {
  const row = firstRow('decode.jsonl.gz');
  row.base = '12zz';
  const err = t.throws(() => checkVectorRow(row, 'v.jsonl', 9), { instanceOf: VectorInputError });
  t.regex(err?.message ?? '', /^v\.jsonl:9: base: expected a hex string/);
});

test('a missing vector file is an input error, not a crash', (t) => {
  const err = t.throws(() => checkVectorFile(vectorFile('no-such-file.jsonl')), {
    instanceOf: VectorInputError,
  });
  t.regex(err?.message ?? '', /no-such-file\.jsonl: cannot read vector file \(no such file\)$/);
});
