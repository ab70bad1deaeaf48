/*
 * A thread's capability register file, in shared memory so that the revoker (another
 * thread) can read and rewrite it while the owner is parked.  Guest code never sees these
 * words: it holds register numbers (handles).
 *
 * One register = 16 Int32 words (a 64-byte line):
 *   REG_TAG                tag bit (0/1)
 *   REG_W0..REG_W3         the capability's 16 bytes in memory form (pesbt ^ mask lo, hi, cursor lo, hi)
 *   REG_VERSION            bumped by every write of W0..W3/TAG (loads, the kernel, the revoker)
 *   REG_DECODED_VERSION    the REG_VERSION that the cached fields below were decoded from
 *   REG_PERMS, REG_OTYPE   cached GCPERM and otype
 *   f64 REG_F64_BASE/TOP   cached bounds as doubles (exact below 2^53; user VAs are below 2^48)
 * The cache is valid iff REG_DECODED_VERSION === REG_VERSION; the owner re-decodes on use.
 * Hart's access windows are keyed by REG_VERSION too, so a rewrite kills them at once.
 *
 * The file holds NREGS_GPR general registers, then PCC and DDC, as CHERI-RISC-V does.
 */
import { Capability } from '../cap/capability.js';
import {
  CC128_FAST_BASE,
  CC128_FAST_OTYPE,
  CC128_FAST_PERMS,
  CC128_FAST_TOP,
  cc128DecodeMemInto,
} from '../cap/cc128_fast.js';

export const REG_WORDS = 16;
export const REG_TAG = 0;
export const REG_W0 = 1;
export const REG_W1 = 2;
export const REG_W2 = 3;
export const REG_W3 = 4;
export const REG_VERSION = 5;
export const REG_PERMS = 6;
export const REG_OTYPE = 7;
export const REG_F64_BASE = 4; /* index into the Float64Array view, relative to reg * 8 */
export const REG_F64_TOP = 5;
export const REG_DECODED_VERSION = 12;

export const NREGS_GPR = 32;
export const DEFAULT_NREGS = NREGS_GPR + 2;

export class CapRegFile {
  readonly nregs: number;
  readonly pccIdx: number;
  readonly ddcIdx: number;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly f64: Float64Array;
  readonly #scratch = new Float64Array(8);

  constructor(shared: SharedArrayBuffer) {
    this.i32 = new Int32Array(shared);
    if (this.i32.length % REG_WORDS !== 0)
      throw new RangeError('register file buffer has a partial register');
    this.u32 = new Uint32Array(shared);
    this.f64 = new Float64Array(shared);
    this.nregs = this.i32.length / REG_WORDS;
    this.pccIdx = this.nregs - 2;
    this.ddcIdx = this.nregs - 1;
  }

  /** A file of `ngpr` general registers plus PCC and DDC, all NULL. */
  static create(ngpr: number = NREGS_GPR): CapRegFile {
    if (!Number.isInteger(ngpr) || ngpr < 1 || ngpr > 1 << 16)
      throw new RangeError(`register count ${ngpr} out of range`);
    const file = new CapRegFile(new SharedArrayBuffer((ngpr + 2) * REG_WORDS * 4));
    for (let i = 0; i < file.nregs; i++) file.i32[i * REG_WORDS + REG_DECODED_VERSION] = -1;
    return file;
  }

  get shared(): SharedArrayBuffer {
    return this.i32.buffer as SharedArrayBuffer;
  }

  checkReg(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.nregs)
      throw new RangeError(`capability register ${i} does not exist (0..${this.nregs - 1})`);
  }

  /** The register's value as an immutable Capability (BigInt: off the hot path). */
  get(i: number): Capability {
    this.checkReg(i);
    const r = i * REG_WORDS;
    const w = this.u32;
    return Capability.fromMemWords(
      w[r + REG_W0],
      w[r + REG_W1],
      w[r + REG_W2],
      w[r + REG_W3],
      w[r + REG_TAG] !== 0,
    );
  }

  set(i: number, cap: Capability): void {
    this.checkReg(i);
    const [w0, w1, w2, w3] = cap.toMemWords();
    this.setWords(i, w0, w1, w2, w3, cap.tag ? 1 : 0);
  }

  /** Write raw memory words and tag (cap loads, the revoker); invalidates the decode cache. */
  setWords(i: number, w0: number, w1: number, w2: number, w3: number, tag: number): void {
    const r = i * REG_WORDS;
    const w = this.u32;
    w[r + REG_W0] = w0;
    w[r + REG_W1] = w1;
    w[r + REG_W2] = w2;
    w[r + REG_W3] = w3;
    w[r + REG_TAG] = tag;
    w[r + REG_VERSION]++;
  }

  copy(dst: number, src: number): void {
    this.checkReg(dst);
    this.checkReg(src);
    this.u32.copyWithin(dst * REG_WORDS, src * REG_WORDS, (src + 1) * REG_WORDS);
  }

  clear(i: number): void {
    this.setWords(i, 0, 0, 0, 0, 0);
  }

  /** Do the cached perms/otype/bounds of register i match its current value? */
  decoded(i: number): boolean {
    const r = i * REG_WORDS;
    return this.i32[r + REG_DECODED_VERSION] === this.i32[r + REG_VERSION];
  }

  /** Fill the cached perms/otype/bounds of register i from its memory words. */
  decode(i: number): void {
    const r = i * REG_WORDS;
    const out = this.#scratch;
    cc128DecodeMemInto(this.u32, r + REG_W0, out); /* reads the words itself: no boxed u32 arguments */
    this.i32[r + REG_PERMS] = out[CC128_FAST_PERMS];
    this.i32[r + REG_OTYPE] = out[CC128_FAST_OTYPE];
    this.f64[i * 8 + REG_F64_BASE] = out[CC128_FAST_BASE];
    this.f64[i * 8 + REG_F64_TOP] = out[CC128_FAST_TOP];
    this.i32[r + REG_DECODED_VERSION] = this.i32[r + REG_VERSION];
  }

  /** The cursor (address) of register i as a number (exact below 2^53). */
  cursor(i: number): number {
    const r = i * REG_WORDS;
    return this.u32[r + REG_W3] * 2 ** 32 + this.u32[r + REG_W2];
  }
}
