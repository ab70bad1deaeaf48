/*
 * A capability's base (lower bound), and nothing else, from its memory words: what the
 * revocation sweep asks of every tagged granule, since CheriBSD keys revocation on the base
 * (R40).  Same result as cc128ComputeBaseTop (cc128.ts) and the base half of cc128_fast.ts,
 * computing only what the base needs: pesbt bits 26:0 (IE, B, E) and the cursor, never the
 * pesbt's high word, T, or top.
 *
 *   - Fast path, E ≤ 18 (every object below 2 GiB) and cursor < 2^53: v9's correction
 *     factors compare 3-bit tops against R3 = B3 - 1, which is the same as comparing the
 *     14-bit fields against R = B - 2^11 rounded down to 2^11.  So base = ((cursor >> E) + d)
 *     << E, d = ((B - R) mod 2^14) - ((cursor's 14 bits above E) - R) mod 2^14): a dozen
 *     int32 operations and two float ones, no data-dependent branch (a mispredicted branch
 *     costs more than the whole path; random addresses make every bit test one).
 *   - Otherwise (huge objects, cursors ≥ 2^53, a base that wraps below 0): ccc's arithmetic
 *     modulo 2^64 on the 32-bit words, base = (((cursor >> k) + corr) << k | B << E) mod 2^64
 *     with k = E + 14; out of line, its arguments and result passed through typed arrays.
 *
 * What it returns: the largest double ≤ base, i.e. exactly base whenever base < 2^53 (every
 * user address: VA_BITS = 48), and base rounded DOWN otherwise, so the value is ≥ 2^53 iff
 * the true base is.  This is bit-for-bit the base cc128DecodeMemInto writes to
 * out[CC128_FAST_BASE] (the tests check both against the BigInt decoder).
 *
 * Allocation: none, on either path.  V8 boxes a double result (and any number outside
 * ±2^30 passed as an argument) only across a call it does not inline; the fast path is small
 * enough for TurboFan to inline into hot loops (the sweep's is), and the slow path exchanges
 * its words and result through typed arrays.
 */
import { CC128_MEM_XOR_MASK_LO } from './cc128.js';

const TWO_32 = 4294967296;
/*
 * CC128_MEM_XOR_MASK_LO as a literal: an imported binding is read through its module cell
 * (with a TDZ check, and unboxed: it is above 2^31) on every call, even in optimised code.
 */
const XOR_LO = 0xfc018004 | 0;
if (XOR_LO !== (CC128_MEM_XOR_MASK_LO | 0)) throw new Error('cc128_base: XOR mask out of date');
const SAFE_HI = 2 ** 21; /* a u64 whose high word is below this is below 2^53 */
const TWO_53 = 2 ** 53;
const POW2 = new Float64Array(19).map((_, k) => 2 ** k);

/*
 * The base of the capability whose 16 bytes are words[index..index+3] as memory holds them
 * (pesbt ^ CC128_MEM_XOR_MASK lo, hi, cursor lo, hi; little-endian u32 words, e.g. a
 * physical-memory or register-file view).  Reads words[index], [index+2] and [index+3].
 */
export function cc128DecodeBaseMem(words: Uint32Array | Int32Array, index: number): number {
  return cc128BaseFromMemWords(words[index], words[index + 2], words[index + 3]);
}

/*
 * The same from the words themselves: w0 = the pesbt's low memory word, then the cursor's low
 * and high words (u32 or int32 values; each is taken modulo 2^32).  For callers that already
 * hold the words, e.g. after checking them against a granule's witness.
 */
export function cc128BaseFromMemWords(w0: number, cursorLo: number, cursorHi: number): number {
  const p = w0 ^ XOR_LO; /* pesbt bits 31:0; only 26:0 are used */
  /*
   * No branches on data bits (they are as random as addresses, and a mispredicted branch
   * costs more than this whole function): masks and sign bits instead.  With IE (internal
   * exponent), E's halves live in T[2:0] (pesbt 16:14) and B[2:0] (pesbt 2:0).
   */
  const ie = -((p >>> 26) & 1); /* all ones iff IE */
  const E = (((p >>> 11) & 0x38) | (p & 7)) & ie;
  const cHi = cursorHi >>> 0;
  if (E <= 18 && cHi < SAFE_HI) {
    /*
     * The fast path: every object below 2 GiB (E ≤ 18) at a cursor below 2^53.  v9's
     * correction factors compare 3-bit tops against R3 = B3 - 1, which is the full compare
     * against R = B - 2^11 rounded down to 2^11: the bounds and the cursor lie in the region
     * [R, R + 2^14) << E around the cursor, so base = ((cursor >> E) + d) << E with
     * d = ((B - R) mod 2^14) - ((cursor's 14 bits above E) - R) mod 2^14).
     */
    const B = p & (0x3fff ^ (7 & ie));
    const R = (B - 0x800) & 0x3800;
    const cLo = cursorLo | 0;
    const d = ((B - R) & 0x3fff) - ((((cLo >>> E) & 0x3fff) - R) & 0x3fff);
    const base = cHi * TWO_32 + ((cLo & ~((1 << E) - 1)) >>> 0) + d * POW2[E];
    if (base >= 0 && base < TWO_53) return base; /* else it wrapped below 0, or needs rounding */
  }
  /* Through typed arrays: a non-inlined call would box int32s beyond ±2^30 and the double. */
  slowIn[0] = p;
  slowIn[1] = cursorLo;
  slowIn[2] = cursorHi;
  baseByWords();
  return slowOut[0];
}

const slowIn = new Int32Array(3);
const slowOut = new Float64Array(1);

/*
 * Every case, on 32-bit words (ccc's arithmetic modulo 2^64): slowIn = the raw pesbt's low
 * word and the cursor's words; the base, rounded down, goes to slowOut[0].
 */
function baseByWords(): void {
  const p = slowIn[0];
  const cLo = slowIn[1];
  const cHi = slowIn[2];
  const ie = -((p >>> 26) & 1); /* all ones iff IE */
  let E = (((p >>> 11) & 0x38) | (p & 7)) & ie;
  if (E > 52) E = 52;
  const B = p & (0x3fff ^ (7 & ie));
  /*
   * v9 correction factor: +1 if the base lies in the R-aligned region above the address's
   * (B3 < R3, i.e. B3 == 0), -1 if the address lies above the base's (a3 < R3).
   */
  const B3m1 = (B >>> 11) - 1;
  const R3 = B3m1 & 7;
  const up = B3m1 >>> 31;
  let hi: number;
  let lo: number;
  if (E < 18) {
    /* k = E + 14 < 32: the cursor's kept bits straddle both words; a3 is in the low word. */
    const k = E + 14;
    const q = (cLo >>> k) + up - ((((cLo >>> (E + 11)) & 7) - R3) >>> 31); /* -1 .. 2^(32-k) */
    hi = (cHi + (q >> (32 - k))) >>> 0; /* borrow -1 or carry +1, mod 2^32 */
    lo = ((q << k) | (B << E)) >>> 0; /* q << k wraps mod 2^32; B << E < 2^31 */
  } else if (E < 50) {
    /* 32 ≤ k < 64: only the high word's bits are kept; B << E may straddle the words. */
    const s = E + 11; /* a3 = cursor bits s+2..s, s = 29..60 */
    const a3 = (s < 32 ? (cLo >>> s) | (cHi << (32 - s)) : cHi >>> (s - 32)) & 7;
    const k2 = E - 18;
    hi = ((((cHi >>> k2) + up - ((a3 - R3) >>> 31)) << k2) | (E < 32 ? B >>> (32 - E) : B << (E - 32))) >>> 0;
    lo = E < 32 ? (B << E) >>> 0 : 0;
  } else {
    /* k ≥ 64: nothing of the cursor is left, and the correction << k vanishes modulo 2^64. */
    hi = (B << (E - 32)) >>> 0;
    lo = 0;
  }
  if (hi < SAFE_HI) {
    slowOut[0] = hi * TWO_32 + lo;
    return;
  }
  /* Keep the 53 bits from the MSB down: the sum of the kept parts is exact (rounded down). */
  const dropMask = (1 << (11 - Math.clz32(hi))) - 1;
  slowOut[0] = hi * TWO_32 + (lo - (lo & dropMask));
}
