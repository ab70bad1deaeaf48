/*
 * Checking our codec against the shared cc128 test vectors (generated from cheri-compressed-cap
 * and its Sail-derived reference; see capability-encoding.md §7).
 *
 * A vector file is JSON Lines (`.jsonl`, or gzip-compressed `.jsonl.gz`), one object a line,
 * or a single JSON object (`.json`, e.g. special.json).  Each row's kind is recognised by its
 * fields:
 *   decode         in_pesbt, in_cursor + the decoded capability fields
 *   setbounds      in, req_len, exact, out
 *   representable  cap, new_addr, representable
 *   crrl_cram      len, crrl, cram
 *   special        null_pesbt_raw, reset_pesbt_raw, null (+ sail_*)
 * Every field is compared.  Setbounds rows are checked in both forms: rounding (CSetBounds:
 * `out` as given) and exact (CSetBoundsExact: same bounds, tag = out.tag ∧ exact), at the
 * codec level and through cap_ops (where the exact form traps with InexactBounds).
 *
 * Malformed input (unreadable file, bad gzip, bad JSON, a row of no known kind, a non-hex
 * value) throws VectorInputError naming the file and line.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { CapabilityFault, CapEx, capExName } from './cap_fault.js';
import { hex64, hex65 } from './cap_format.js';
import { CAP_NULL, capAlmighty, capSetAddr, capSetBounds, capSetBoundsExact } from './cap_ops.js';
import { Capability } from './capability.js';
import {
  CC128_NULL_PESBT,
  CC128_RESERVED_MASK,
  CC128_RESET_PESBT,
  cc128GetAlignmentMask,
  cc128GetRepresentableLength,
  cc128IsRepresentableWithAddr,
  cc128Setbounds,
} from './cc128.js';

export type Cc128VectorKind = 'decode' | 'setbounds' | 'representable' | 'crrl_cram' | 'special';
export const CC128_VECTOR_KINDS: readonly Cc128VectorKind[] = [
  'decode',
  'setbounds',
  'representable',
  'crrl_cram',
  'special',
];

/* The input cannot be checked: it is unreadable or not in the vector schema. */
export class VectorInputError extends Error {
  override name = 'VectorInputError';
  readonly file: string;
  readonly line: number | undefined;

  constructor(file: string, line: number | undefined, detail: string, options?: ErrorOptions) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${detail}`, options);
    this.file = file;
    this.line = line;
  }
}

export interface VectorRow {
  readonly line: number;
  readonly value: unknown;
}

export interface FieldMismatch {
  readonly field: string; // e.g. "out.top", "exact", "op.setbounds_exact"
  readonly expected: string;
  readonly actual: string;
}

/* One row that disagrees with the codec, with every field that differs. */
export interface VectorMismatch {
  readonly file: string;
  readonly line: number;
  readonly kind: Cc128VectorKind;
  readonly fields: readonly FieldMismatch[];
}

export interface VectorFileReport {
  readonly file: string;
  readonly rows: number;
  readonly rowsByKind: Readonly<Record<Cc128VectorKind, number>>;
  readonly mismatches: number; // rows with at least one differing field
  readonly firstMismatches: readonly VectorMismatch[];
}

export interface VectorCheckOptions {
  /* How many mismatching rows to keep in firstMismatches (default 10). */
  readonly maxMismatches?: number;
}

/* "line 12 (decode): base expected 0x…, got 0x…; top expected …" */
export function describeMismatch(m: VectorMismatch): string {
  const fields = m.fields.map((f) => `${f.field} expected ${f.expected}, got ${f.actual}`).join('; ');
  return `line ${m.line} (${m.kind}): ${fields}`;
}

/* The rows of a vector file, gunzipped if it is gzip data, parsed but not yet checked. */
export function readVectorRows(file: string): VectorRow[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (code ?? 'unreadable');
    throw new VectorInputError(file, undefined, `cannot read vector file (${reason})`, { cause: err });
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (err) {
      throw new VectorInputError(file, undefined, 'corrupt gzip data', { cause: err });
    }
  }
  const text = bytes.toString('utf8');
  if (/\.json$/i.test(file.replace(/\.gz$/i, ''))) {
    return [{ line: 1, value: parseJson(text, file, 1) }];
  }
  const rows: VectorRow[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    rows.push({ line: i + 1, value: parseJson(line, file, i + 1) });
  }
  return rows;
}

function parseJson(text: string, file: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new VectorInputError(file, line, `bad JSON (${(err as Error).message})`, { cause: err });
  }
}

/* Which kind a parsed row is, or undefined when its fields match none. */
export function vectorRowKind(value: unknown): Cc128VectorKind | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const has = (...keys: string[]) => keys.every((k) => k in value);
  if (has('null_pesbt_raw', 'reset_pesbt_raw')) return 'special';
  if (has('in_pesbt', 'in_cursor')) return 'decode';
  if (has('in', 'req_len', 'exact', 'out')) return 'setbounds';
  if (has('cap', 'new_addr', 'representable')) return 'representable';
  if (has('len', 'crrl', 'cram')) return 'crrl_cram';
  return undefined;
}

export function checkVectorFile(file: string, options: VectorCheckOptions = {}): VectorFileReport {
  return checkVectorRows(file, readVectorRows(file), options);
}

export function checkVectorRows(
  file: string,
  rows: readonly VectorRow[],
  options: VectorCheckOptions = {},
): VectorFileReport {
  const maxMismatches = options.maxMismatches ?? 10;
  const rowsByKind: Record<Cc128VectorKind, number> = {
    decode: 0,
    setbounds: 0,
    representable: 0,
    crrl_cram: 0,
    special: 0,
  };
  const firstMismatches: VectorMismatch[] = [];
  let mismatches = 0;
  for (const row of rows) {
    const { kind, fields } = checkVectorRow(row.value, file, row.line);
    rowsByKind[kind]++;
    if (fields.length === 0) continue;
    mismatches++;
    if (firstMismatches.length < maxMismatches) firstMismatches.push({ file, line: row.line, kind, fields });
  }
  return { file, rows: rows.length, rowsByKind, mismatches, firstMismatches };
}

/* Check one parsed row; returns its kind and the fields that differ (none: it matches). */
export function checkVectorRow(
  value: unknown,
  file = '<row>',
  line = 1,
): { kind: Cc128VectorKind; fields: FieldMismatch[] } {
  const kind = vectorRowKind(value);
  const reader = new RowReader(file, line);
  if (kind === undefined) {
    const keys = typeof value === 'object' && value !== null ? Object.keys(value).join(', ') : typeof value;
    throw new VectorInputError(file, line, `row of no known kind (fields: ${keys || 'none'})`);
  }
  const row = value as Record<string, unknown>;
  const diff = new FieldDiff();
  switch (kind) {
    case 'decode':
      checkDecode(reader, row, diff);
      break;
    case 'setbounds':
      checkSetbounds(reader, row, diff);
      break;
    case 'representable':
      checkRepresentable(reader, row, diff);
      break;
    case 'crrl_cram':
      checkCrrlCram(reader, row, diff);
      break;
    case 'special':
      checkSpecial(reader, row, diff);
      break;
  }
  return { kind, fields: diff.fields };
}

/* ---- field parsing (errors name file, line and field) ---- */

interface VectorCap {
  tag: boolean;
  pesbt: bigint;
  addr: bigint;
  base: bigint;
  top: bigint;
  exp: number;
  boundsValid: boolean;
  perms: bigint;
  otype: number;
  flags: number;
  reserved: bigint;
}

class RowReader {
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number) {
    this.file = file;
    this.line = line;
  }

  fail(field: string, detail: string): never {
    throw new VectorInputError(this.file, this.line, `${field}: ${detail}`);
  }

  hex(obj: Record<string, unknown>, key: string, path: string, maxBits = 64): bigint {
    const v = obj[key];
    if (typeof v !== 'string' || !/^0x[0-9a-f]+$/i.test(v))
      this.fail(path, `expected a hex string like "0x1f", got ${show(v)}`);
    const n = BigInt(v);
    if (n >> BigInt(maxBits) !== 0n) this.fail(path, `${v} does not fit ${maxBits} bits`);
    return n;
  }

  int(obj: Record<string, unknown>, key: string, path: string, max: number): number {
    const v = obj[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max)
      this.fail(path, `expected an integer 0..${max}, got ${show(v)}`);
    return v;
  }

  bit(obj: Record<string, unknown>, key: string, path: string): boolean {
    const v = obj[key];
    if (v === 0 || v === false) return false;
    if (v === 1 || v === true) return true;
    return this.fail(path, `expected 0 or 1, got ${show(v)}`);
  }

  object(obj: Record<string, unknown>, key: string, path: string): Record<string, unknown> {
    const v = obj[key];
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      this.fail(path, `expected an object, got ${show(v)}`);
    return v as Record<string, unknown>;
  }

  cap(obj: Record<string, unknown>, prefix: string): VectorCap {
    const p = (k: string) => `${prefix}${k}`;
    return {
      tag: this.bit(obj, 'tag', p('tag')),
      pesbt: this.hex(obj, 'pesbt', p('pesbt')),
      addr: this.hex(obj, 'addr', p('addr')),
      base: this.hex(obj, 'base', p('base')),
      top: this.hex(obj, 'top', p('top'), 65),
      exp: this.int(obj, 'exp', p('exp'), 63),
      boundsValid: this.bit(obj, 'bounds_valid', p('bounds_valid')),
      perms: this.hex(obj, 'perms', p('perms')),
      otype: this.int(obj, 'otype', p('otype'), 0x3ffff),
      flags: this.int(obj, 'flags', p('flags'), 1),
      reserved: this.hex(obj, 'reserved', p('reserved')),
    };
  }
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/* ---- comparisons ---- */

class FieldDiff {
  readonly fields: FieldMismatch[] = [];

  same(field: string, expected: string, actual: string): void {
    if (expected !== actual) this.fields.push({ field, expected, actual });
  }

  hex(field: string, expected: bigint, actual: bigint): void {
    if (expected !== actual) this.fields.push({ field, expected: hex64(expected), actual: hex64(actual) });
  }

  top(field: string, expected: bigint, actual: bigint): void {
    if (expected !== actual) this.fields.push({ field, expected: hex65(expected), actual: hex65(actual) });
  }

  num(field: string, expected: number, actual: number): void {
    if (expected !== actual) this.fields.push({ field, expected: String(expected), actual: String(actual) });
  }

  bit(field: string, expected: boolean, actual: boolean): void {
    if (expected !== actual)
      this.fields.push({ field, expected: expected ? '1' : '0', actual: actual ? '1' : '0' });
  }

  /* Every field of a capability in the vector schema against our decoding of `actual`. */
  cap(prefix: string, expected: VectorCap, actual: Capability): void {
    this.bit(`${prefix}tag`, expected.tag, actual.tag);
    this.hex(`${prefix}pesbt`, expected.pesbt, actual.pesbt);
    this.hex(`${prefix}addr`, expected.addr, actual.cursor);
    this.hex(`${prefix}base`, expected.base, actual.base);
    this.top(`${prefix}top`, expected.top, actual.top);
    this.num(`${prefix}exp`, expected.exp, actual.exp);
    this.bit(`${prefix}bounds_valid`, expected.boundsValid, actual.boundsValid);
    this.hex(`${prefix}perms`, expected.perms, BigInt(actual.perms));
    this.num(`${prefix}otype`, expected.otype, actual.otype);
    this.num(`${prefix}flags`, expected.flags, actual.flags);
    this.hex(`${prefix}reserved`, expected.reserved, actual.pesbt & CC128_RESERVED_MASK);
  }
}

function capOf(v: VectorCap): Capability {
  return new Capability(v.pesbt, v.addr, v.tag);
}

/* An op's result, or the CapEx it trapped with. */
type Attempt<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly trap: CapEx };

function attempt<T>(run: () => T): Attempt<T> {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    if (err instanceof CapabilityFault) return { ok: false, trap: err.exccode };
    throw err;
  }
}

function trapName(trap: CapEx | undefined): string {
  return trap === undefined ? 'no trap' : capExName(trap);
}

function outcome(a: Attempt<unknown>): string {
  return trapName(a.ok ? undefined : a.trap);
}

function checkDecode(r: RowReader, row: Record<string, unknown>, diff: FieldDiff): void {
  const pesbt = r.hex(row, 'in_pesbt', 'in_pesbt');
  const cursor = r.hex(row, 'in_cursor', 'in_cursor');
  const expected = r.cap(row, '');
  diff.cap('', expected, new Capability(pesbt, cursor, false));
}

function checkSetbounds(r: RowReader, row: Record<string, unknown>, diff: FieldDiff): void {
  const input = r.cap(r.object(row, 'in', 'in'), 'in.');
  const reqLen = r.hex(row, 'req_len', 'req_len', 65);
  const exact = r.bit(row, 'exact', 'exact');
  const out = r.cap(r.object(row, 'out', 'out'), 'out.');
  const cap = capOf(input);
  diff.cap('in.', input, cap);

  /* Rounding form, codec level (ccc setbounds). */
  const rounded = cc128Setbounds(cap.pesbt, cap.cursor, cap.tag, reqLen);
  diff.bit('exact', exact, rounded.exact);
  diff.cap('out.', out, new Capability(rounded.pesbt, rounded.cursor, rounded.tag));
  /* Exact form: same bounds, tag only when exact. */
  diff.bit('exact_form.tag', out.tag && exact, rounded.tag && rounded.exact);

  /* The same through cap_ops, where the ISA traps instead of clearing the tag. */
  let trap: CapEx | undefined;
  if (!cap.tag) trap = CapEx.TagViolation;
  else if (cap.isSealed) trap = CapEx.SealViolation;
  else if (cap.cursor < cap.base || cap.cursor + reqLen > cap.top) trap = CapEx.LengthViolation;
  const viaOp = attempt(() => capSetBounds(cap, reqLen));
  diff.same('op.setbounds', trapName(trap), outcome(viaOp));
  if (trap === undefined && viaOp.ok) {
    diff.cap('op.setbounds.', out, viaOp.value.cap);
    diff.bit('op.setbounds.exact', exact, viaOp.value.exact);
  }
  const exactTrap = trap ?? (exact ? undefined : CapEx.InexactBounds);
  const viaExactOp = attempt(() => capSetBoundsExact(cap, reqLen));
  diff.same('op.setbounds_exact', trapName(exactTrap), outcome(viaExactOp));
  if (exactTrap === undefined && viaExactOp.ok) diff.cap('op.setbounds_exact.', out, viaExactOp.value);
}

function checkRepresentable(r: RowReader, row: Record<string, unknown>, diff: FieldDiff): void {
  const vcap = r.cap(r.object(row, 'cap', 'cap'), 'cap.');
  const newAddr = r.hex(row, 'new_addr', 'new_addr');
  const representable = r.bit(row, 'representable', 'representable');
  const cap = capOf(vcap);
  diff.cap('cap.', vcap, cap);
  diff.bit('representable', representable, cc128IsRepresentableWithAddr(cap.pesbt, cap.cursor, newAddr));

  /* CSetAddr: traps on tagged sealed caps, else the tag survives iff representable. */
  const trap = cap.tag && cap.isSealed ? CapEx.SealViolation : undefined;
  const moved = attempt(() => capSetAddr(cap, newAddr));
  diff.same('op.set_addr', trapName(trap), outcome(moved));
  if (trap === undefined && moved.ok) {
    diff.bit('op.set_addr.tag', cap.tag && representable, moved.value.tag);
    diff.hex('op.set_addr.addr', newAddr, moved.value.cursor);
    if (representable) {
      diff.hex('op.set_addr.base', cap.base, moved.value.base);
      diff.top('op.set_addr.top', cap.top, moved.value.top);
    }
  }
}

function checkCrrlCram(r: RowReader, row: Record<string, unknown>, diff: FieldDiff): void {
  const len = r.hex(row, 'len', 'len');
  const crrl = r.hex(row, 'crrl', 'crrl');
  const cram = r.hex(row, 'cram', 'cram');
  diff.hex('crrl', crrl, cc128GetRepresentableLength(len));
  diff.hex('cram', cram, cc128GetAlignmentMask(len));
}

function checkSpecial(r: RowReader, row: Record<string, unknown>, diff: FieldDiff): void {
  diff.hex('null_pesbt_raw', r.hex(row, 'null_pesbt_raw', 'null_pesbt_raw'), CC128_NULL_PESBT);
  diff.hex('reset_pesbt_raw', r.hex(row, 'reset_pesbt_raw', 'reset_pesbt_raw'), CC128_RESET_PESBT);
  diff.cap('null.', r.cap(r.object(row, 'null', 'null'), 'null.'), CAP_NULL);
  if ('sail_null_pesbt' in row)
    diff.hex('sail_null_pesbt', r.hex(row, 'sail_null_pesbt', 'sail_null_pesbt'), CC128_NULL_PESBT);
  if ('sail_reset_pesbt' in row)
    diff.hex('sail_reset_pesbt', r.hex(row, 'sail_reset_pesbt', 'sail_reset_pesbt'), CC128_RESET_PESBT);
  if ('sail_reset' in row)
    diff.cap('sail_reset.', r.cap(r.object(row, 'sail_reset', 'sail_reset'), 'sail_reset.'), capAlmighty());
}
