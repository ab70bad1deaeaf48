/*
 * Page tables in physical memory, one tree per address space.  Four levels of 1024 Int32
 * entries (one 4 KiB frame each) translate the 36-bit virtual page number of a 48-bit
 * address: 6 + 10 + 10 + 10 bits.  A directory entry is pteMake(tableFrame, PTE_V).
 * Workers walk the tree with plain reads; only the kernel's pmap calls the mutators.
 * The cap-dirty bit is the one exception: the machine sets it with Atomics.or (see Hart).
 */
import { PAGE_SIZE, VA_LIMIT } from '../param.js';
import type { PhysMem } from '../phys/physmem.js';
import { PTE_V, pteMake, ptePfn } from './pte.js';

export const PT_ENTRIES = 1024;
const LEVEL_SPAN = [2 ** 30, 2 ** 20, 2 ** 10, 1] as const; /* pages covered by one entry per level */

export class PageTable {
  readonly phys: PhysMem;
  readonly rootPfn: number;

  constructor(phys: PhysMem, rootPfn: number) {
    phys.checkFrame(rootPfn);
    this.phys = phys;
    this.rootPfn = rootPfn;
  }

  /**
   * Index (into phys.i32) of the leaf PTE for va, or -1 if a directory on the way is absent.
   * Allocation-free; the hot path's TLB refill.
   */
  pteIndex(va: number): number {
    const i32 = this.phys.i32;
    const vpn = Math.floor(va / PAGE_SIZE);
    let table = this.rootPfn;
    let e = i32[table * PT_ENTRIES + Math.floor(vpn / 2 ** 30)];
    if ((e & PTE_V) === 0) return -1;
    table = ptePfn(e);
    e = i32[table * PT_ENTRIES + (Math.floor(vpn / 2 ** 20) & 1023)];
    if ((e & PTE_V) === 0) return -1;
    table = ptePfn(e);
    e = i32[table * PT_ENTRIES + (Math.floor(vpn / 2 ** 10) & 1023)];
    if ((e & PTE_V) === 0) return -1;
    return ptePfn(e) * PT_ENTRIES + (vpn & 1023);
  }

  /** The PTE word for va, or 0. */
  lookup(va: number): number {
    checkVa(va);
    const i = this.pteIndex(va);
    return i < 0 ? 0 : this.phys.i32[i];
  }

  /** Install `pte` for va, allocating directory frames (zeroed, from the kernel) on the way. */
  enter(va: number, pte: number, allocTableFrame: () => number): void {
    checkVa(va);
    const i32 = this.phys.i32;
    const vpn = Math.floor(va / PAGE_SIZE);
    let table = this.rootPfn;
    for (let level = 0; level < 3; level++) {
      const idx = table * PT_ENTRIES + (Math.floor(vpn / LEVEL_SPAN[level]) % PT_ENTRIES);
      let e = i32[idx];
      if ((e & PTE_V) === 0) {
        const pfn = allocTableFrame();
        this.phys.checkFrame(pfn);
        e = pteMake(pfn, PTE_V);
        Atomics.store(i32, idx, e);
      }
      table = ptePfn(e);
    }
    Atomics.store(i32, table * PT_ENTRIES + (vpn % PT_ENTRIES), pte);
  }

  /** Remove the PTE for va (the caller shoots down TLBs afterwards). */
  remove(va: number): void {
    checkVa(va);
    const i = this.pteIndex(va);
    if (i >= 0) Atomics.store(this.phys.i32, i, 0);
  }

  /** Replace the PTE for va if present; returns the old word (0 if none). */
  update(va: number, pte: number): number {
    checkVa(va);
    const i = this.pteIndex(va);
    if (i < 0) return 0;
    return Atomics.exchange(this.phys.i32, i, pte);
  }

  /** Visit every present PTE with startVa <= va < endVa, in address order. */
  forEach(startVa: number, endVa: number, fn: (va: number, pte: number) => void): void {
    checkVa(startVa);
    if (endVa > VA_LIMIT) throw new RangeError('end address beyond the 48-bit user address space');
    this.#walk(this.rootPfn, 0, 0, Math.floor(startVa / PAGE_SIZE), Math.ceil(endVa / PAGE_SIZE), fn);
  }

  #walk(
    table: number,
    level: number,
    vpnBase: number,
    lo: number,
    hi: number,
    fn: (va: number, pte: number) => void,
  ) {
    const i32 = this.phys.i32;
    const span = LEVEL_SPAN[level];
    const n = level === 0 ? 64 : PT_ENTRIES;
    for (let k = 0; k < n; k++) {
      const first = vpnBase + k * span;
      if (first + span <= lo || first >= hi) continue;
      const e = i32[table * PT_ENTRIES + k];
      if ((e & PTE_V) === 0) continue;
      if (level === 3) fn(first * PAGE_SIZE, e);
      else this.#walk(ptePfn(e), level + 1, first, lo, hi, fn);
    }
  }

  /** Free every directory frame below the root (not the root, not the data frames). */
  destroy(freeTableFrame: (pfn: number) => void): void {
    const free = (table: number, level: number) => {
      if (level === 3) return;
      const i32 = this.phys.i32;
      for (let k = 0; k < PT_ENTRIES; k++) {
        const e = i32[table * PT_ENTRIES + k];
        if ((e & PTE_V) === 0) continue;
        free(ptePfn(e), level + 1);
        i32[table * PT_ENTRIES + k] = 0;
        freeTableFrame(ptePfn(e));
      }
    };
    free(this.rootPfn, 0);
  }
}

function checkVa(va: number): void {
  if (!Number.isInteger(va) || va < 0 || va >= VA_LIMIT)
    throw new RangeError(`virtual address ${va} is outside the 48-bit user address space`);
}
