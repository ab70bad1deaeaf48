/*
 * Physical memory: one data SharedArrayBuffer, a tag plane (one bit per 16-byte granule) in
 * its own SharedArrayBuffer, and the witness words of ./granule.ts in a third.  Frames are
 * PAGE_SIZE bytes, numbered from 0.  Every thread (kernel and workers) holds views over the
 * same three buffers; `shared()` and `new PhysMem({ shared })` move them between threads.
 * The host is little-endian (x86, arm64), so a u32 view reads memory words in the CHERI
 * in-memory byte order.
 */
import {
  CAP_GRANULE,
  CAP_GRANULE_SHIFT,
  DEFAULT_PHYSMEM_BYTES,
  GRANULES_PER_PAGE,
  PAGE_SIZE,
} from '../param.js';
import { granuleClearTagForData, granuleTagged } from './granule.js';

export interface PhysMemShared {
  readonly data: SharedArrayBuffer;
  readonly tags: SharedArrayBuffer;
  readonly witness: SharedArrayBuffer;
}

export class PhysAddressError extends RangeError {
  override name = 'PhysAddressError';
}

const TAG_WORDS_PER_PAGE = GRANULES_PER_PAGE / 32;

export class PhysMem {
  readonly bytes: number;
  readonly nframes: number;
  readonly ngranules: number;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array; /* same words as u32, for Atomics on PTEs */
  readonly tags: Int32Array; /* bit g%32 of word g/32 = tag bit of granule g */
  readonly witness: Uint32Array; /* one word per granule, see granule.ts */
  readonly #shared: PhysMemShared;

  /** Fresh zeroed memory of `bytes`, or views over the buffers another thread's PhysMem shared. */
  constructor(opts: { bytes?: number; shared?: PhysMemShared } = {}) {
    const s = opts.shared ?? PhysMem.#allocate(opts.bytes ?? DEFAULT_PHYSMEM_BYTES);
    this.#shared = s;
    this.bytes = s.data.byteLength;
    this.nframes = this.bytes / PAGE_SIZE;
    this.ngranules = this.bytes / CAP_GRANULE;
    this.u8 = new Uint8Array(s.data);
    this.u16 = new Uint16Array(s.data);
    this.u32 = new Uint32Array(s.data);
    this.i32 = new Int32Array(s.data);
    this.tags = new Int32Array(s.tags);
    this.witness = new Uint32Array(s.witness);
  }

  static #allocate(bytes: number): PhysMemShared {
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes % PAGE_SIZE !== 0 || bytes > 2 ** 34)
      throw new PhysAddressError(
        `physical memory size must be a positive multiple of ${PAGE_SIZE} up to 16 GiB`,
      );
    const granules = bytes / CAP_GRANULE;
    return {
      data: new SharedArrayBuffer(bytes),
      tags: new SharedArrayBuffer(granules / 8),
      witness: new SharedArrayBuffer(granules * 4),
    };
  }

  /** The buffers to post to another thread (`new PhysMem({ shared })` there). */
  shared(): PhysMemShared {
    return this.#shared;
  }

  checkRange(pa: number, len: number): void {
    if (!Number.isInteger(pa) || !Number.isInteger(len) || pa < 0 || len < 0 || pa + len > this.bytes)
      throw new PhysAddressError(
        `physical range 0x${pa.toString(16)}+${len} is outside memory (0x${this.bytes.toString(16)} bytes)`,
      );
  }

  checkFrame(pfn: number): void {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.nframes)
      throw new PhysAddressError(`frame ${pfn} is outside memory (${this.nframes} frames)`);
  }

  /** Zero a frame's data and tags.  Caller guarantees nobody maps it. */
  zeroFrame(pfn: number): void {
    this.checkFrame(pfn);
    this.u32.fill(0, pfn * (PAGE_SIZE / 4), (pfn + 1) * (PAGE_SIZE / 4));
    this.tags.fill(0, pfn * TAG_WORDS_PER_PAGE, (pfn + 1) * TAG_WORDS_PER_PAGE);
  }

  /** Copy a frame's data AND tags (COW copies keep capabilities).  dst must be private to the caller. */
  copyFrame(dstPfn: number, srcPfn: number): void {
    this.checkFrame(dstPfn);
    this.checkFrame(srcPfn);
    const w = PAGE_SIZE / 4;
    this.u32.copyWithin(dstPfn * w, srcPfn * w, (srcPfn + 1) * w);
    this.witness.copyWithin(
      dstPfn * GRANULES_PER_PAGE,
      srcPfn * GRANULES_PER_PAGE,
      (srcPfn + 1) * GRANULES_PER_PAGE,
    );
    this.tags.copyWithin(
      dstPfn * TAG_WORDS_PER_PAGE,
      srcPfn * TAG_WORDS_PER_PAGE,
      (srcPfn + 1) * TAG_WORDS_PER_PAGE,
    );
  }

  /** The bytes at [pa, pa+len), never the tags (read(2) semantics). */
  readBytes(pa: number, len: number): Uint8Array {
    this.checkRange(pa, len);
    return this.u8.slice(pa, pa + len);
  }

  /** A data store of `src` at pa: clears the tag of every granule it touches (write(2) semantics). */
  writeBytes(pa: number, src: Uint8Array): void {
    this.checkRange(pa, src.length);
    if (src.length === 0) return;
    const last = (pa + src.length - 1) >>> CAP_GRANULE_SHIFT;
    for (let g = pa >>> CAP_GRANULE_SHIFT; g <= last; g++) granuleClearTagForData(this.tags, g);
    this.u8.set(src, pa);
  }

  /** Does the granule containing pa hold a valid capability? */
  isTagged(pa: number): boolean {
    this.checkRange(pa, 1);
    return granuleTagged(this.u32, this.tags, this.witness, Math.floor(pa / CAP_GRANULE));
  }

  /** Number of valid capabilities in a frame; walks the tag words, not the data. */
  frameTagCount(pfn: number): number {
    this.checkFrame(pfn);
    let n = 0;
    const base = pfn * TAG_WORDS_PER_PAGE;
    for (let w = 0; w < TAG_WORDS_PER_PAGE; w++) {
      let bits = this.tags[base + w];
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits);
        bits &= ~(1 << b);
        if (granuleTagged(this.u32, this.tags, this.witness, (base + w) * 32 + b)) n++;
      }
    }
    return n;
  }
}
