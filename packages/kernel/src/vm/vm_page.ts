/*
 * Physical frames: the frame allocator over the machine's physical memory and the
 * per-frame descriptor (struct vm_page).  cf. FreeBSD vm_phys.c / vm_page.c.
 *
 * Every frame the kernel uses comes from here: data pages of VM objects and the
 * page-table frames pmap hands to the machine.  Each allocated frame has a
 * reference count (1 on allocation); the frame returns to the free list when it
 * drops to 0.  Allocation is deterministic (lowest free frame last freed first).
 *
 * List of owners  (k) kernel only
 */
import { KASSERT } from '../sys/kassert.js';
import type { PhysMemLike } from './machine_if.js';
import type { Pmap } from './pmap.js';
import type { VmObject } from './vm_object.js';

export const VM_PAGE_MAGIC = 0x76707067; /* 'vppg' */

/* Page flags (pg_aflags in FreeBSD; CheriBSD's capability tracking, R8). */
export const PGA_CAPSTORE = 0x01; /* page has held capabilities */
export const PGA_CAPDIRTY = 0x02; /* capabilities stored since the last revocation visit */
export const PGA_MODIFIED = 0x04; /* data written (mincore MINCORE_MODIFIED) */
/* A mapping with cap-store permission has existed (or tags were copied in): the only pages that may hold tags. */
export const PGA_CAPMAYHOLD = 0x08;

export interface VmPage {
  magic: number;
  readonly pfn: number /* (c) frame number */;
  object: VmObject | null /* (k) owning object, null once freed */;
  pindex: number /* (k) page index within object */;
  aflags: number /* (k) PGA_* */;
  pv: PvEntry[] /* (k) every PTE that maps this frame (pv list) */;
}

export interface PvEntry {
  readonly pmap: Pmap;
  readonly va: number;
}

export type FrameUse = 'free' | 'page' | 'ptable' | 'swap';

export class VmPhys {
  readonly phys: PhysMemLike;
  readonly nframes: number;
  readonly #free: number[] = [];
  readonly #ref: Int32Array;
  readonly #use: Uint8Array; /* 0 free, 1 page, 2 page table */
  readonly #pages: (VmPage | undefined)[];
  #nfree: number;

  /* Frames [0, reserved) are never handed out (frame 0 stays unused: a PTE of 0 is "absent"). */
  constructor(phys: PhysMemLike, reserved = 1) {
    this.phys = phys;
    this.nframes = phys.nframes;
    this.#ref = new Int32Array(this.nframes);
    this.#use = new Uint8Array(this.nframes);
    this.#pages = new Array(this.nframes);
    for (let pfn = this.nframes - 1; pfn >= reserved; pfn--) this.#free.push(pfn);
    this.#nfree = this.#free.length;
  }

  get freeCount(): number {
    return this.#nfree;
  }
  get usedCount(): number {
    return this.nframes - this.#nfree;
  }

  /* A zeroed frame (data and tags) or -1 when memory is exhausted. */
  allocFrame(use: 'page' | 'ptable' | 'swap'): number {
    const pfn = this.#free.pop();
    if (pfn === undefined) return -1;
    this.#nfree--;
    this.#ref[pfn] = 1;
    this.#use[pfn] = use === 'page' ? 1 : use === 'ptable' ? 2 : 3;
    this.phys.zeroFrame(pfn);
    return pfn;
  }

  frameRef(pfn: number): void {
    KASSERT(this.#ref[pfn] > 0, () => `frameRef of free frame ${pfn}`);
    this.#ref[pfn]++;
  }

  /* Drop a reference; the frame is freed (and its descriptor detached) at zero. */
  frameUnref(pfn: number): void {
    KASSERT(this.#ref[pfn] > 0, () => `frameUnref of free frame ${pfn}`);
    if (--this.#ref[pfn] > 0) return;
    this.#use[pfn] = 0;
    this.#pages[pfn] = undefined;
    this.phys.zeroFrame(pfn); /* no stale tags survive into the next user */
    this.#free.push(pfn);
    this.#nfree++;
  }

  refCount(pfn: number): number {
    return this.#ref[pfn];
  }
  frameUse(pfn: number): FrameUse {
    const u = this.#use[pfn];
    return u === 0 ? 'free' : u === 1 ? 'page' : u === 2 ? 'ptable' : 'swap';
  }

  /* vm_page_alloc: a zeroed page belonging to `object` at `pindex`, or null. */
  pageAlloc(object: VmObject, pindex: number): VmPage | null {
    const pfn = this.allocFrame('page');
    if (pfn < 0) return null;
    const m: VmPage = { magic: VM_PAGE_MAGIC, pfn, object, pindex, aflags: 0, pv: [] };
    this.#pages[pfn] = m;
    return m;
  }

  /* vm_page_free: the page must be unmapped everywhere. */
  pageFree(m: VmPage): void {
    KASSERT(m.magic === VM_PAGE_MAGIC, () => `pageFree: bad page`);
    KASSERT(m.pv.length === 0, () => `pageFree: frame ${m.pfn} still mapped ${m.pv.length} times`);
    m.object = null;
    m.magic = 0;
    this.frameUnref(m.pfn);
  }

  /* PHYS_TO_VM_PAGE */
  pageOf(pfn: number): VmPage | undefined {
    return this.#pages[pfn];
  }
}
