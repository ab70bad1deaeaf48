/*
 * What the kernel needs from @cherisim/machine, as structural interfaces.
 *
 * The kernel core is written against these so that it builds and is tested on
 * its own (single thread, deterministic) while the machine package evolves:
 * machine.PhysMem, machine.PageTable and machine.MmuControl satisfy them as
 * they are (see `machineFromPhysMem` in tests/_support/kernel_machine.ts).
 * The PTE bit values below mirror machine/mmu/pte.ts; pmap.ts is the only
 * kernel file that uses them.
 */

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;
export const CAP_SIZE = 16;
export const CAP_GRANULE = 16;
export const VA_LIMIT = 2 ** 48;

/* machine/mmu/pte.ts */
export const PTE_V = 0x01;
export const PTE_R = 0x02;
export const PTE_W = 0x04;
export const PTE_X = 0x08;
export const PTE_CR = 0x10;
export const PTE_CW = 0x20;
export const PTE_CD = 0x40;
export const PTE_CLG = 0x80;
export const PTE_PFN_SHIFT = 8;
export function pteMake(pfn: number, flags: number): number {
  return (pfn << PTE_PFN_SHIFT) | (flags & 0xff) | 0;
}
export function ptePfn(pte: number): number {
  return pte >>> PTE_PFN_SHIFT;
}

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
