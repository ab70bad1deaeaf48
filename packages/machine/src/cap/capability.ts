/*
 * An immutable CHERI-128 capability value: tag, architectural pesbt and cursor.  Decoded
 * fields are computed once, on first use.  BigInt throughout: this is the slow, exact side;
 * the register file and checked accesses use cc128_fast.ts.
 */
import { CAP_OTYPE_SENTRY, CAP_OTYPE_UNSEALED } from './cap_otype.js';
import {
  CC128_MAX_ADDR,
  CC128_MEM_XOR_MASK,
  type Cc128Bounds,
  cc128DecompressBounds,
  cc128GetFlags,
  cc128GetOtype,
  cc128GetPerms,
  cc128GetReserved,
} from './cc128.js';

const TWO_32 = 1n << 32n;

function checkU64(value: bigint, what: string): bigint {
  if (typeof value !== 'bigint') throw new TypeError(`${what} must be a bigint, got ${typeof value}`);
  if (value < 0n || value > CC128_MAX_ADDR)
    throw new RangeError(`${what} 0x${value.toString(16)} is not a u64`);
  return value;
}

function checkU32(value: number, what: string): number {
  if (!(value >>> 0 === value)) throw new RangeError(`${what} ${value} is not a u32`);
  return value;
}

export class Capability {
  readonly tag: boolean;
  readonly pesbt: bigint; /* architectural (raw) form: memory holds pesbt ^ CC128_MEM_XOR_MASK */
  readonly cursor: bigint; /* the address, 64 bits */
  #bounds: Cc128Bounds | undefined;
  #perms = -1;

  /* As ccc decompress_raw(pesbt, cursor, tag). */
  constructor(pesbt: bigint, cursor: bigint, tag: boolean) {
    this.pesbt = checkU64(pesbt, 'pesbt');
    this.cursor = checkU64(cursor, 'cursor');
    this.tag = tag === true;
    Object.freeze(this);
  }

  static decompressRaw(pesbt: bigint, cursor: bigint, tag: boolean): Capability {
    return new Capability(pesbt, cursor, tag);
  }

  static decompressMem(pesbtMem: bigint, cursor: bigint, tag: boolean): Capability {
    return new Capability(checkU64(pesbtMem, 'pesbt') ^ CC128_MEM_XOR_MASK, cursor, tag);
  }

  /* From the 16 bytes as four little-endian u32 words: pesbt (memory form) lo, hi, cursor lo, hi. */
  static fromMemWords(w0: number, w1: number, w2: number, w3: number, tag: boolean): Capability {
    const pesbtMem = (BigInt(checkU32(w1, 'w1')) << 32n) | BigInt(checkU32(w0, 'w0'));
    const cursor = (BigInt(checkU32(w3, 'w3')) << 32n) | BigInt(checkU32(w2, 'w2'));
    return new Capability(pesbtMem ^ CC128_MEM_XOR_MASK, cursor, tag);
  }

  /* The architectural pesbt (ccc compress_raw). */
  compressRaw(): bigint {
    return this.pesbt;
  }

  /* The pesbt word as memory holds it (ccc compress_mem). */
  compressMem(): bigint {
    return this.pesbt ^ CC128_MEM_XOR_MASK;
  }

  /* The 16 bytes as four u32 words, little-endian order: pesbt (memory form) lo, hi, cursor lo, hi. */
  toMemWords(): [number, number, number, number] {
    const mem = this.compressMem();
    return [
      Number(mem % TWO_32),
      Number(mem / TWO_32),
      Number(this.cursor % TWO_32),
      Number(this.cursor / TWO_32),
    ];
  }

  get #decodedBounds(): Cc128Bounds {
    this.#bounds ??= cc128DecompressBounds(this.pesbt, this.cursor);
    return this.#bounds;
  }

  get base(): bigint {
    return this.#decodedBounds.base;
  }

  /* 65 bits: 2^64 for a capability that reaches the end of the address space. */
  get top(): bigint {
    return this.#decodedBounds.top;
  }

  /* top - base; negative only for the malformed bounds of some untagged bit patterns. */
  get length(): bigint {
    return this.top - this.base;
  }

  /* cursor - base, modulo 2^64 as CGetOffset reports it. */
  get offset(): bigint {
    return (this.cursor - this.base) & CC128_MAX_ADDR;
  }

  get exp(): number {
    return this.#decodedBounds.exp;
  }

  get boundsValid(): boolean {
    return this.#decodedBounds.boundsValid;
  }

  /* GCPERM: hardware permissions in bits 0-11, user permissions in 15-18. */
  get perms(): number {
    if (this.#perms < 0) this.#perms = cc128GetPerms(this.pesbt);
    return this.#perms;
  }

  get otype(): number {
    return cc128GetOtype(this.pesbt);
  }

  get flags(): number {
    return cc128GetFlags(this.pesbt);
  }

  /* The 2-bit reserved field (must be 0 in a tagged capability). */
  get reserved(): number {
    return cc128GetReserved(this.pesbt);
  }

  get isSealed(): boolean {
    return this.otype !== CAP_OTYPE_UNSEALED;
  }

  get isSentry(): boolean {
    return this.otype === CAP_OTYPE_SENTRY;
  }

  /* The cursor as a number; throws when it is above 2^53 - 1 and so would not be exact. */
  get address(): number {
    if (this.cursor > BigInt(Number.MAX_SAFE_INTEGER))
      throw new RangeError(`address 0x${this.cursor.toString(16)} is not exact as a number`);
    return Number(this.cursor);
  }

  /* Same tag and same 128 bits (ccc exactly_equal; CSEQX). */
  equals(other: Capability): boolean {
    return this.tag === other.tag && this.pesbt === other.pesbt && this.cursor === other.cursor;
  }

  toString(): string {
    const tag = this.tag ? 1 : 0;
    return `Capability(tag=${tag}, pesbt=0x${this.pesbt.toString(16)}, cursor=0x${this.cursor.toString(16)})`;
  }
}
