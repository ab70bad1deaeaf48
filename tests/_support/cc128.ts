/*
 * Support for the cc128 codec tests: where the shared vectors are (found from this compiled
 * file's location, not the cwd), and exact double rounding to judge the fast decoder.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Capability,
  CC128_FAST_BASE,
  CC128_FAST_EXP,
  CC128_FAST_OTYPE,
  CC128_FAST_PERMS,
  CC128_FAST_SLOTS,
  CC128_FAST_TOP,
  cc128DecodeInto,
  cc128DecodeMemInto,
} from '@cherisim/machine';

/* tests/dist/_support/cc128.js → the repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CC128_VECTOR_DIR = join(REPO_ROOT, 'vectors', 'cc128');

export function vectorFile(name: string): string {
  return join(CC128_VECTOR_DIR, name);
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/* The largest double ≤ v (v ≥ 0). */
export function doubleFloor(v: bigint): number {
  const d = Number(v);
  if (BigInt(d) <= v) return d;
  f64[0] = d;
  u64[0] -= 1n;
  return f64[0];
}

/* The smallest double ≥ v (v ≥ 0). */
export function doubleCeil(v: bigint): number {
  const d = Number(v);
  if (BigInt(d) >= v) return d;
  f64[0] = d;
  u64[0] += 1n;
  return f64[0];
}

export interface FastDecoded {
  base: number;
  top: number;
  perms: number;
  otype: number;
  exp: number;
}

const out = new Float64Array(CC128_FAST_SLOTS);
const MASK32 = 0xffffffffn;

/* cc128DecodeInto on a raw pesbt and a cursor given as bigints. */
export function fastDecode(pesbt: bigint, cursor: bigint): FastDecoded {
  cc128DecodeInto(
    Number(pesbt & MASK32),
    Number(pesbt >> 32n),
    Number(cursor & MASK32),
    Number(cursor >> 32n),
    out,
  );
  return {
    base: out[CC128_FAST_BASE],
    top: out[CC128_FAST_TOP],
    perms: out[CC128_FAST_PERMS],
    otype: out[CC128_FAST_OTYPE],
    exp: out[CC128_FAST_EXP],
  };
}

/* What the fast decoder must produce for this capability, from the exact BigInt decoding. */
export function expectedFast(cap: Capability): FastDecoded {
  return {
    base: doubleFloor(cap.base),
    top: doubleCeil(cap.top),
    perms: cap.perms,
    otype: cap.otype,
    exp: cap.exp,
  };
}

const memWords = new Uint32Array(8);
const memWordsSigned = new Int32Array(memWords.buffer);

/*
 * cc128DecodeMemInto on the capability's memory words, read through a Uint32Array and through
 * an Int32Array view (at an offset, as in a register file); throws if the two disagree.
 */
export function fastDecodeMem(cap: Capability): FastDecoded {
  memWords.set(cap.toMemWords(), 4);
  cc128DecodeMemInto(memWordsSigned, 4, out);
  const signed = [...out];
  cc128DecodeMemInto(memWords, 4, out);
  if (signed.some((v, i) => v !== out[i]))
    throw new Error(`Int32Array and Uint32Array decodes differ for ${cap}`);
  return {
    base: out[CC128_FAST_BASE],
    top: out[CC128_FAST_TOP],
    perms: out[CC128_FAST_PERMS],
    otype: out[CC128_FAST_OTYPE],
    exp: out[CC128_FAST_EXP],
  };
}
