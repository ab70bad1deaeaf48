/*
 * The cc128 bounds decode with plain numbers, for the simulator's hot path: no BigInt, no
 * allocation.  Same algorithm as cc128ComputeBaseTop (cc128.ts), done on u32 words.
 *
 * What the doubles it writes guarantee:
 *   - base and top are exact whenever they are below 2^53 (all user addresses: VA_BITS = 48),
 *     and top = 2^64 (the almighty capability) is exact too;
 *   - otherwise base is rounded down and top rounded up to the next double, so the double
 *     interval always contains the true [base, top);
 *   - hence for every integer x below 2^53, `x >= base` and `x <= top` give the same answer
 *     with the doubles as with the exact values: bounds checks on user addresses are exact.
 *
 * Allocation: V8 boxes a number outside the small-integer range (a u32 ≥ 2^31) when it is
 * passed to, or returned from, a call that is not inlined.  So the helpers below take only
 * small integers and exchange words through typed arrays, and cc128DecodeMemInto reads the
 * words itself; cc128DecodeInto's own arguments may be boxed by its caller unless they are
 * int32 (e.g. read from an Int32Array view).
 */
import { CC128_MEM_XOR_MASK_HI, CC128_MEM_XOR_MASK_LO } from './cc128.js';

export const CC128_FAST_BASE = 0;
export const CC128_FAST_TOP = 1;
export const CC128_FAST_PERMS = 2; /* GCPERM, as cc128GetPerms */
export const CC128_FAST_OTYPE = 3;
export const CC128_FAST_EXP = 4; /* the encoded exponent */
export const CC128_FAST_SLOTS = 5;

const TWO_32 = 2 ** 32;
const TWO_64 = 2 ** 64;
const SAFE_HI = 2 ** 21; /* a u64 whose high word is below this is below 2^53 */

/* The cursor being decoded (lo, hi). */
const cursor = new Uint32Array(2);
/* A 65-bit result: bit 64, bits 63:32, bits 31:0. */
const BIT64 = 0;
const HI = 1;
const LO = 2;
const bound = new Uint32Array(3);
/* cc128DecodeInto's arguments, so that it can share cc128DecodeMemInto's code. */
const argWords = new Uint32Array(4);

/*
 * bound = ((cursor >> k) + correction) << k | mantissa << e, modulo 2^65, with k = e + 14:
 * ccc's `((a_top + correction) << MW | B) << E`, truncated to the 65-bit length width.
 */
function boundFromCursor(e: number, correction: number, mantissa: number): void {
  const k = e + 14;
  let b64 = 0;
  let hi = 0;
  let lo = 0;
  /* The cursor with its low k bits cleared; nothing is left of it once k reaches 64. */
  if (k < 32) {
    hi = cursor[1];
    lo = (cursor[0] & (0xffffffff << k)) >>> 0;
  } else if (k < 64) {
    hi = (cursor[1] & (0xffffffff << (k - 32))) >>> 0;
  }
  /* Plus correction * 2^k (correction is -1, 0 or 1), modulo 2^65. */
  if (correction !== 0 && k <= 64) {
    if (k < 32) lo += correction * 2 ** k;
    else if (k < 64) hi += correction * 2 ** (k - 32);
    else b64 += correction;
    if (lo < 0) {
      lo += TWO_32;
      hi -= 1;
    } else if (lo >= TWO_32) {
      lo -= TWO_32;
      hi += 1;
    }
    if (hi < 0) {
      hi += TWO_32;
      b64 -= 1;
    } else if (hi >= TWO_32) {
      hi -= TWO_32;
      b64 += 1;
    }
    b64 &= 1;
  }
  /* Or in mantissa << e: it lies below bit k, where the bits above are all zero. */
  if (e < 32) {
    lo = (lo | (mantissa << e)) >>> 0;
    if (e > 18) hi = (hi | (mantissa >>> (32 - e))) >>> 0;
  } else {
    hi = (hi | (mantissa << (e - 32))) >>> 0;
    if (e > 50) b64 |= (mantissa >>> (64 - e)) & 1;
  }
  bound[BIT64] = b64;
  bound[HI] = hi;
  bound[LO] = lo;
}

/* out[slot] = bits 63:0 of bound as a double, rounded down. */
function storeRoundedDown(out: Float64Array, slot: number): void {
  const hi = bound[HI];
  const lo = bound[LO];
  if (hi < SAFE_HI) {
    out[slot] = hi * TWO_32 + lo;
    return;
  }
  /* Keep the 53 bits from the MSB down: the sum of the kept parts is exact. */
  const dropMask = (1 << (11 - Math.clz32(hi))) - 1;
  out[slot] = hi * TWO_32 + (lo - (lo & dropMask));
}

/* out[slot] = the 65-bit bound as a double, rounded up. */
function storeRoundedUp(out: Float64Array, slot: number): void {
  const hi = bound[HI];
  const lo = bound[LO];
  if (bound[BIT64] === 0) {
    if (hi < SAFE_HI) {
      out[slot] = hi * TWO_32 + lo;
      return;
    }
    const dropMask = (1 << (11 - Math.clz32(hi))) - 1;
    const dropped = lo & dropMask;
    const kept = hi * TWO_32 + (lo - dropped);
    out[slot] = dropped === 0 ? kept : kept + (dropMask + 1); /* one add: kept + 1 alone would round back */
    return;
  }
  /* At or above 2^64 a double keeps bits 64..12. */
  const dropped = lo & 0xfff;
  const kept = TWO_64 + hi * TWO_32 + (lo - dropped);
  out[slot] = dropped === 0 ? kept : kept + 0x1000;
}

/* Decode words[i..i+3] (pesbt lo, hi, cursor lo, hi); memForm: the pesbt is XOR-ed with the mask. */
function decodeWords(words: Uint32Array | Int32Array, i: number, memForm: boolean, out: Float64Array): void {
  let pLo = words[i] >>> 0;
  let pHi = words[i + 1] >>> 0;
  if (memForm) {
    pLo = (pLo ^ CC128_MEM_XOR_MASK_LO) >>> 0;
    pHi = (pHi ^ CC128_MEM_XOR_MASK_HI) >>> 0;
  }
  cursor[0] = words[i + 2];
  cursor[1] = words[i + 3];

  const ie = (pLo >>> 26) & 1;
  let E: number;
  let B: number;
  let T: number;
  if (ie !== 0) {
    E = (((pLo >>> 14) & 7) << 3) | (pLo & 7);
    B = ((pLo >>> 3) & 0x7ff) << 3;
    T = ((pLo >>> 17) & 0x1ff) << 3;
  } else {
    E = 0;
    B = pLo & 0x3fff;
    T = (pLo >>> 14) & 0xfff;
  }
  /* T's top two bits: B's, plus the carry out of the low 12 bits, plus L_msb (= IE). */
  T |= (((B >>> 12) + (T < (B & 0xfff) ? 1 : 0) + ie) & 3) << 12;

  const e = Math.min(E, 52);
  /* v9's 3-bit correction factors: is the address in the region above R, and are base and top? */
  const s = e + 11;
  const cLo = cursor[0];
  const cHi = cursor[1];
  const a3 =
    s >= 32 ? (cHi >>> (s - 32)) & 7 : s <= 29 ? (cLo >>> s) & 7 : ((cLo >>> s) | (cHi << (32 - s))) & 7;
  const B3 = B >>> 11;
  const R3 = (B3 - 1) & 7;
  const aHi = a3 < R3 ? 1 : 0;

  boundFromCursor(e, (B3 < R3 ? 1 : 0) - aHi, B);
  const base63 = bound[HI] >>> 31;
  storeRoundedDown(out, CC128_FAST_BASE);

  boundFromCursor(e, (T >>> 11 < R3 ? 1 : 0) - aHi, T);
  /* Base and top more than 2^64 apart: the region wrapped, flip top's bit 64. */
  if (e < 51) {
    const diff = ((bound[BIT64] << 1) | (bound[HI] >>> 31)) - base63;
    if (diff < 0 || diff > 1) bound[BIT64] ^= 1;
  }
  storeRoundedUp(out, CC128_FAST_TOP);

  out[CC128_FAST_PERMS] = ((pHi >>> 16) & 0xfff) | ((pHi >>> 28) << 15);
  out[CC128_FAST_OTYPE] = (pLo >>> 27) | ((pHi & 0x1fff) << 5);
  out[CC128_FAST_EXP] = E;
}

/*
 * Decode base, top, GCPERM, otype and exponent into out[CC128_FAST_*], from the u32 words of
 * the RAW (architectural) pesbt and of the cursor (int32 values are taken modulo 2^32).
 */
export function cc128DecodeInto(
  pesbtLo: number,
  pesbtHi: number,
  cursorLo: number,
  cursorHi: number,
  out: Float64Array,
): void {
  argWords[0] = pesbtLo;
  argWords[1] = pesbtHi;
  argWords[2] = cursorLo;
  argWords[3] = cursorHi;
  decodeWords(argWords, 0, false, out);
}

/*
 * The same from a capability as memory holds it: words[index..index+3] are the 16 bytes as
 * little-endian u32 words (pesbt ^ CC128_MEM_XOR_MASK lo, hi, cursor lo, hi), e.g. a register
 * file or physical memory view.  The allocation-free entry point.
 */
export function cc128DecodeMemInto(words: Uint32Array | Int32Array, index: number, out: Float64Array): void {
  decodeWords(words, index, true, out);
}
