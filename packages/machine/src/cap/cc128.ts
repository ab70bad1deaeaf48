/*
 * The CHERI ISA v9 128-bit capability format ("CHERI Concentrate"), bit-exact with the `128`
 * format of cheri-compressed-cap (ccc: cheri_compressed_cap_common.h, _128.h) and its
 * Sail-derived reference.  Everything here is BigInt: top needs 65 bits.  The hot path uses
 * cc128_fast.ts instead.
 *
 * pesbt is the architectural ("raw") upper word: Permissions, (E)xponent, Sealing type,
 * B(ase), T(op).  Memory holds pesbt ^ CC128_MEM_XOR_MASK, so NULL is all zeros in memory.
 *
 *   bits (of pesbt) 63:60 uperms   59:48 hwperms   47:46 reserved   45 flags
 *                   44:27 otype    26 IE           25:14 T          13:0 B
 * With IE (internal exponent) set, T[2:0] and B[2:0] hold the exponent's high and low halves.
 */
import { CAP_OTYPE_UNSEALED } from './cap_otype.js';
import { CHERI_PERMS_HWALL, CHERI_UPERMS_SHIFT } from './cap_perms.js';

const MASK64 = (1n << 64n) - 1n;
const MASK65 = (1n << 65n) - 1n;

export const CC128_ADDR_WIDTH = 64;
export const CC128_LEN_WIDTH = 65;
export const CC128_MANTISSA_WIDTH = 14;
/* The largest exponent a valid capability needs (not the largest encodable: 63). */
export const CC128_MAX_EXPONENT = 52;
export const CC128_MAX_ADDR = MASK64;
export const CC128_MAX_TOP = 1n << 64n;

/* Field positions in pesbt (bit 0 of pesbt is bit 64 of the capability). */
const UPERMS_SHIFT = 60n;
const HWPERMS_SHIFT = 48n;
const RESERVED_SHIFT = 46n;
const FLAGS_SHIFT = 45n;
const OTYPE_SHIFT = 27n;
const UPERMS_MASK = 0xfn << UPERMS_SHIFT;
const HWPERMS_MASK = 0xfffn << HWPERMS_SHIFT;
const OTYPE_MASK = 0x3ffffn << OTYPE_SHIFT;
const EBT_MASK = 0x7ffffffn; /* IE, T and B: the bounds */

/* The reserved field in place, as the cc128 vectors print it (must be 0 in tagged caps). */
export const CC128_RESERVED_MASK = 3n << RESERVED_SHIFT;

const IE_BIT = 1 << 26;
const RESET_EXP = CC128_MAX_EXPONENT;
/* 2^64 needs E = 52 and T = 1 << 9, which does not fit the 9-bit field: it encodes as 0. */
const RESET_T = 1 << (CC128_ADDR_WIDTH - RESET_EXP - 3);
const RESET_EBT = IE_BIT | ((RESET_T & 0x1ff) << 17) | ((RESET_EXP >> 3) << 14) | (RESET_EXP & 7);

/* NULL: no permissions, unsealed, bounds [0, 2^64).  Reset (almighty): NULL plus all permissions. */
export const CC128_NULL_PESBT = (BigInt(CAP_OTYPE_UNSEALED) << OTYPE_SHIFT) | BigInt(RESET_EBT);
export const CC128_RESET_PESBT = CC128_NULL_PESBT | UPERMS_MASK | HWPERMS_MASK;

/* XOR-ing with the NULL encoding on every load and store keeps NULL all zeros in memory. */
export const CC128_MEM_XOR_MASK = 0x00001ffffc018004n;
/* The mask as two u32 words, for code that handles memory words (little-endian order). */
export const CC128_MEM_XOR_MASK_LO = 0xfc018004;
export const CC128_MEM_XOR_MASK_HI = 0x00001fff;

if (CC128_NULL_PESBT !== CC128_MEM_XOR_MASK) throw new Error('cc128: NULL encoding is not the XOR mask');

/* The bounds fields after decoding: B and T are 14 bits (T's top two bits are inferred). */
export interface Cc128BoundsBits {
  readonly B: number;
  readonly T: number;
  readonly E: number; // as encoded: 0..63, values above 52 are clamped when decoding
  readonly IE: boolean;
}

export interface Cc128Bounds {
  readonly base: bigint; // 64 bits
  readonly top: bigint; // 65 bits: 2^64 for the almighty capability
  readonly exp: number; // the encoded exponent (not clamped)
  readonly boundsValid: boolean; // always true in v9: only the RISC-V standard has malformed bounds
}

/* Every field of a decoded capability except the tag, which is not part of the 128 bits. */
export interface Cc128Decoded extends Cc128Bounds {
  readonly perms: number; // GCPERM: hardware perms in 0-11, user perms in 15-18
  readonly otype: number;
  readonly flags: number;
  readonly reserved: number; // the 2-bit field's value
}

/* Extract B, T, E and IE, and rebuild T's top two bits from B and the implied length MSB. */
export function cc128ExtractBoundsBits(pesbt: bigint): Cc128BoundsBits {
  const ebt = Number(pesbt & EBT_MASK);
  const ie = (ebt & IE_BIT) !== 0;
  let E: number;
  let B: number;
  let T: number;
  if (ie) {
    E = (((ebt >>> 14) & 7) << 3) | (ebt & 7);
    B = ((ebt >>> 3) & 0x7ff) << 3;
    T = ((ebt >>> 17) & 0x1ff) << 3;
  } else {
    E = 0;
    B = ebt & 0x3fff;
    T = (ebt >>> 14) & 0xfff;
  }
  /* T = B + length: its top bits are B's plus the carry out of the low 12 bits plus L_msb. */
  const carry = T < (B & 0xfff) ? 1 : 0;
  T |= (((B >>> 12) + carry + (ie ? 1 : 0)) & 3) << 12;
  return { B, T, E, IE: ie };
}

/*
 * Base and top from the bounds bits and the address, with v9's 3-bit correction factors
 * (ccc compute_base_top; Sail getCapBoundsBits).
 */
export function cc128ComputeBaseTop(bounds: Cc128BoundsBits, cursor: bigint): { base: bigint; top: bigint } {
  const E = Math.min(CC128_MAX_EXPONENT, bounds.E);
  const a3 = Number((cursor >> BigInt(E + CC128_MANTISSA_WIDTH - 3)) & 7n);
  const B3 = bounds.B >>> 11;
  const T3 = bounds.T >>> 11;
  const R3 = (B3 - 1) & 7;
  /* Do address, base and top lie in the R-aligned region above the one containing R? */
  const aHi = a3 < R3 ? 1 : 0;
  const correctionBase = (B3 < R3 ? 1 : 0) - aHi;
  const correctionTop = (T3 < R3 ? 1 : 0) - aHi;
  const aTopShift = E + CC128_MANTISSA_WIDTH;
  const aTop = aTopShift >= CC128_ADDR_WIDTH ? 0n : cursor >> BigInt(aTopShift);
  const e = BigInt(E);
  const base = (((((aTop + BigInt(correctionBase)) & MASK64) << 14n) | BigInt(bounds.B)) << e) & MASK65;
  let top = (((((aTop + BigInt(correctionTop)) & MASK64) << 14n) | BigInt(bounds.T)) << e) & MASK65;
  /*
   * When the representable region wraps the address space, base and top can end up more than
   * 2^64 apart: flip top's bit 64 to undo that.  Base's bit 64 is ignored, as in ccc/Sail.
   */
  const base2 = Number((base >> 63n) & 1n);
  const top2 = Number((top >> 63n) & 3n);
  const diff = top2 - base2;
  if (E < CC128_MAX_EXPONENT - 1 && (diff < 0 || diff > 1)) top ^= 1n << 64n;
  return { base: base & MASK64, top };
}

export function cc128DecompressBounds(pesbt: bigint, cursor: bigint): Cc128Bounds {
  const bits = cc128ExtractBoundsBits(pesbt);
  const { base, top } = cc128ComputeBaseTop(bits, cursor);
  return { base, top, exp: bits.E, boundsValid: true };
}

/* Decode a capability from its architectural pesbt (ccc decompress_raw). */
export function cc128DecompressRaw(pesbt: bigint, cursor: bigint): Cc128Decoded {
  return {
    ...cc128DecompressBounds(pesbt, cursor),
    perms: cc128GetPerms(pesbt),
    otype: cc128GetOtype(pesbt),
    flags: cc128GetFlags(pesbt),
    reserved: cc128GetReserved(pesbt),
  };
}

/* Decode a capability from its in-memory pesbt (ccc decompress_mem). */
export function cc128DecompressMem(pesbtMem: bigint, cursor: bigint): Cc128Decoded {
  return cc128DecompressRaw(pesbtMem ^ CC128_MEM_XOR_MASK, cursor);
}

/* The in-memory form of an architectural pesbt (ccc compress_mem); the raw form is pesbt itself. */
export function cc128CompressMem(pesbt: bigint): bigint {
  return pesbt ^ CC128_MEM_XOR_MASK;
}

/* GCPERM: hardware permissions in bits 0-11, user permissions in bits 15-18. */
export function cc128GetPerms(pesbt: bigint): number {
  const hi = Number(pesbt >> 32n);
  return ((hi >>> 16) & CHERI_PERMS_HWALL) | ((hi >>> 28) << CHERI_UPERMS_SHIFT);
}

export function cc128GetOtype(pesbt: bigint): number {
  return Number((pesbt & OTYPE_MASK) >> OTYPE_SHIFT);
}

export function cc128GetFlags(pesbt: bigint): number {
  return Number((pesbt >> FLAGS_SHIFT) & 1n);
}

export function cc128GetReserved(pesbt: bigint): number {
  return Number((pesbt & CC128_RESERVED_MASK) >> RESERVED_SHIFT);
}

export function cc128IsSealed(pesbt: bigint): boolean {
  return cc128GetOtype(pesbt) !== CAP_OTYPE_UNSEALED;
}

/* pesbt with its hardware and user permissions replaced by those of a GCPERM word. */
export function cc128SetPerms(pesbt: bigint, perms: number): bigint {
  const hw = BigInt(perms & CHERI_PERMS_HWALL) << HWPERMS_SHIFT;
  const user = BigInt((perms >>> CHERI_UPERMS_SHIFT) & 0xf) << UPERMS_SHIFT;
  return (pesbt & ~(UPERMS_MASK | HWPERMS_MASK)) | hw | user;
}

export function cc128SetOtype(pesbt: bigint, otype: number): bigint {
  return (pesbt & ~OTYPE_MASK) | ((BigInt(otype) << OTYPE_SHIFT) & OTYPE_MASK);
}

/* The exponent for a length: the smallest that leaves the length's MSB at mantissa bit 12. */
function cc128GetExponent(length: bigint): number {
  if (length > CC128_MAX_ADDR) return CC128_LEN_WIDTH - (CC128_MANTISSA_WIDTH - 1);
  if (length < 1n << BigInt(CC128_MANTISSA_WIDTH - 1)) return 0;
  return length.toString(2).length - 1 - (CC128_MANTISSA_WIDTH - 2);
}

export interface Cc128Ebt {
  readonly ebt: bigint; // the bounds bits (pesbt 26:0)
  readonly exact: boolean; // the encoding gives exactly [reqBase, reqTop)
  readonly alignmentMask: bigint; // CRAM: the mask base must satisfy for the bounds to be exact
}

/*
 * Encode bounds [reqBase, reqTop), rounding outwards when they are not representable:
 * the setCapBounds of Sail and ccc compute_ebt.  reqTop may be up to 65 bits.
 */
export function cc128ComputeEbt(reqBase: bigint, reqTop: bigint): Cc128Ebt {
  if (reqBase > reqTop) throw new RangeError('cc128ComputeEbt: base above top');
  const length = reqTop - reqBase;
  let E = cc128GetExponent(length);
  /* Without an internal exponent, E is 0 and length < 2^12 (bit 12 is the implied L_msb). */
  if (E === 0 && ((length >> 12n) & 1n) === 0n) {
    const ebt = (Number(reqTop & 0xfffn) << 14) | Number(reqBase & 0x3fffn);
    return { ebt: BigInt(ebt), exact: true, alignmentMask: CC128_MAX_ADDR };
  }
  let shift = BigInt(E + 3);
  let bottom = Number((reqBase >> shift) & 0x7ffn);
  let topBits = Number((reqTop >> shift) & 0x7ffn);
  let alignmentMask = (CC128_MAX_ADDR << shift) & MASK64;
  const lostMask = (1n << shift) - 1n;
  let lostBase = (reqBase & lostMask) !== 0n;
  let lostTop = (reqTop & lostMask) !== 0n;
  /* Round T up so that top stays above the requested top despite the lost bits. */
  if (lostTop) topBits = (topBits + 1) & 0x7ff;
  /* Rounding may have grown the length past the mantissa: use the next exponent. */
  if (((topBits - bottom) & 0x7ff) >>> 10 !== 0) {
    E += 1;
    lostBase ||= (bottom & 1) !== 0;
    lostTop ||= (topBits & 1) !== 0;
    shift += 1n;
    bottom = Number((reqBase >> shift) & 0x7ffn);
    topBits = Number((reqTop >> shift) & 0x7ffn);
    alignmentMask = (CC128_MAX_ADDR << shift) & MASK64;
    if (lostTop) topBits = (topBits + 1) & 0x7ff;
  }
  const te = (topBits << 3) | ((E >>> 3) & 7);
  const be = (bottom << 3) | (E & 7);
  const ebt = IE_BIT | ((te & 0xfff) << 14) | (be & 0x3fff);
  return { ebt: BigInt(ebt), exact: !lostBase && !lostTop, alignmentMask };
}

export interface Cc128SetboundsResult {
  readonly pesbt: bigint;
  readonly cursor: bigint;
  readonly tag: boolean;
  readonly exact: boolean;
}

/*
 * CSetBounds as ccc's setbounds computes it: new base = cursor, new top = cursor + reqLength,
 * rounded outwards to representable bounds; `exact` says whether rounding was needed.  The
 * tag is cleared when the input is sealed or the request leaves the old bounds (the ISA
 * traps in those cases; see cap_ops.ts).  The exact variant (CSetBoundsExact) has the same
 * bounds and additionally fails when !exact.
 */
export function cc128Setbounds(
  pesbt: bigint,
  cursor: bigint,
  tag: boolean,
  reqLength: bigint,
): Cc128SetboundsResult {
  const reqBase = cursor;
  const reqTop = cursor + reqLength;
  let newTag = tag;
  if (tag) {
    const old = cc128DecompressBounds(pesbt, cursor);
    if (cc128IsSealed(pesbt) || reqBase < old.base || reqTop > old.top) newTag = false;
  }
  const { ebt, exact } = cc128ComputeEbt(reqBase, reqTop);
  return { pesbt: (pesbt & ~EBT_MASK) | ebt, cursor: reqBase, tag: newTag, exact };
}

/*
 * Whether moving the cursor to newAddr keeps the decoded bounds (the precise check: decode
 * with the new address and compare; Sail setCapAddr).  Not representable ⇒ the ISA clears
 * the tag and the bounds are whatever the bits decode to at newAddr.
 */
export function cc128IsRepresentableWithAddr(pesbt: bigint, cursor: bigint, newAddr: bigint): boolean {
  const bits = cc128ExtractBoundsBits(pesbt);
  const before = cc128ComputeBaseTop(bits, cursor);
  const after = cc128ComputeBaseTop(bits, newAddr);
  return before.base === after.base && before.top === after.top;
}

/* CRAM: round a base down with this mask to make bounds of CRRL(length) exact. */
export function cc128GetAlignmentMask(reqLength: bigint): bigint {
  if (reqLength === 0n) return CC128_MAX_ADDR;
  return cc128ComputeEbt(0n, reqLength).alignmentMask;
}

/* CRRL: the smallest length ≥ reqLength that is exact on a CRAM-aligned base (mod 2^64). */
export function cc128GetRepresentableLength(reqLength: bigint): bigint {
  const mask = cc128GetAlignmentMask(reqLength);
  return (reqLength + (~mask & MASK64)) & mask;
}

/* The power of two a base must be a multiple of for CRRL(reqLength) to be exact. */
export function cc128GetRequiredAlignment(reqLength: bigint): bigint {
  return (~cc128GetAlignmentMask(reqLength) + 1n) & MASK64;
}
