/*
 * What the kernel needs from @cherisim/machine, as structural interfaces.
 *
 * The kernel core is written against these so that it builds and is tested on
 * its own (single thread, deterministic) while the machine package evolves:
 * machine.PhysMem, machine.PageTable and machine.MmuControl satisfy them as
 * they are.  The PTE bit values are re-exported from the machine; pmap.ts is the
 * only kernel file that uses them.
 */

/* Page size, granule and PTE format are the machine's: one definition (machine/param.ts, mmu/pte.ts). */
export {
  CAP_GRANULE,
  CAP_SIZE,
  PAGE_MASK,
  PAGE_SHIFT,
  PAGE_SIZE,
  PTE_CD,
  PTE_CLG,
  PTE_CR,
  PTE_CW,
  PTE_PFN_SHIFT,
  PTE_R,
  PTE_V,
  PTE_W,
  PTE_X,
  pteMake,
  ptePfn,
  VA_LIMIT,
} from '@cherisim/machine';

/* machine PhysMem, the part the kernel uses. */
export interface PhysMemLike {
  readonly nframes: number;
  zeroFrame(pfn: number): void;
  copyFrame(dstPfn: number, srcPfn: number): void;
  readBytes(pa: number, len: number): Uint8Array;
  writeBytes(pa: number, src: Uint8Array): void;
  isTagged(pa: number): boolean;
  frameTagCount(pfn: number): number;
}

/* machine PageTable: only pmap.ts calls these. */
export interface PageTableLike {
  lookup(va: number): number;
  enter(va: number, pte: number, allocTableFrame: () => number): void;
  remove(va: number): void;
  forEach(startVa: number, endVa: number, fn: (va: number, pte: number) => void): void;
  destroy(freeTableFrame: (pfn: number) => void): void;
}

/* machine MmuControl: only pmap.ts calls bumpTlbGen. */
export interface MmuControlLike {
  readonly rootPfn: number;
  bumpTlbGen(): void;
}

/* How the kernel builds per-vmspace MMU structures over the shared physical memory. */
export interface MachineLike {
  readonly phys: PhysMemLike;
  createPageTable(rootPfn: number): PageTableLike;
  createMmuControl(rootPfn: number): MmuControlLike;
}

/* The machine's PageFault, structurally. */
export type PageFaultAccess = 'read' | 'write' | 'cap-load' | 'cap-store';
export type PageFaultCause = 'not-present' | 'protection' | 'cap-store' | 'cap-load-gen';
export interface PageFaultLike {
  readonly name: string;
  readonly vaddr: number;
  readonly access: PageFaultAccess;
  readonly cause: PageFaultCause;
}
export function isPageFault(e: unknown): e is PageFaultLike {
  return e instanceof Error && e.name === 'PageFault' && typeof (e as { vaddr?: unknown }).vaddr === 'number';
}

/* The machine's CapabilityFault, structurally (code is CheriBSD's PROT_CHERI_* name). */
export interface CapabilityFaultLike {
  readonly name: string;
  readonly code: string;
  readonly vaddr: number;
}
export function isCapabilityFault(e: unknown): e is CapabilityFaultLike {
  return (
    e instanceof Error && e.name === 'CapabilityFault' && typeof (e as { code?: unknown }).code === 'string'
  );
}
export function isAlignmentFault(e: unknown): e is Error & { vaddr: number } {
  return e instanceof Error && e.name === 'AlignmentFault';
}

/* A capability as it sits in memory: its 16 bytes and the tag. */
export interface CapBits {
  readonly bytes: Uint8Array;
  readonly tag: boolean;
}

/*
 * A guest thread's CPU as the kernel's single-threaded core drives it.  Each method throws
 * the machine's PageFault / CapabilityFault / AlignmentFault and writes nothing when it does.
 * (An adapter maps these onto machine.Hart's register-based loads and stores.)
 */
export interface GuestCpu {
  load(va: number, width: 1 | 2 | 4 | 8): number;
  store(va: number, width: 1 | 2 | 4 | 8, value: number): void;
  loadCap(va: number): CapBits;
  storeCap(va: number, cap: CapBits): void;
  flushTlb(): void;
}

export interface MachineWithCpu extends MachineLike {
  createCpu(pt: PageTableLike, mmu: MmuControlLike): GuestCpu;
  /* fork: a CPU for the child whose registers are a copy of `parent`'s */
  cloneCpu?(parent: GuestCpu, pt: PageTableLike, mmu: MmuControlLike): GuestCpu;
}
