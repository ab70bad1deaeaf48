/*
 * pmap: the machine-dependent half of the VM, and the ONLY kernel file that writes
 * page-table entries or bumps the TLB generation.  cf. FreeBSD pmap(9):
 * pmap_enter, pmap_remove, pmap_remove_all, pmap_protect, pmap_extract.
 *
 * VM protections become PTE bits: READ -> PTE_R, WRITE -> PTE_W, EXECUTE -> PTE_X,
 * READ_CAP -> PTE_CR, WRITE_CAP -> PTE_CW (CheriBSD).  The machine sets PTE_CD on a
 * tagged store; pmap folds it into the page's PGA_CAPSTORE/PGA_CAPDIRTY when the
 * mapping goes away (R8).
 */
import { KASSERT } from '../sys/kassert.js';
import {
  type MmuControlLike,
  type PageTableLike,
  PTE_CD,
  PTE_CLG,
  PTE_CR,
  PTE_CW,
  PTE_R,
  PTE_V,
  PTE_W,
  PTE_X,
  pteMake,
  ptePfn,
  VA_LIMIT,
} from './machine_if.js';
import {
  VM_PROT_EXECUTE,
  VM_PROT_READ,
  VM_PROT_READ_CAP,
  VM_PROT_WRITE,
  VM_PROT_WRITE_CAP,
  type VmProt,
} from './vm.js';
import type { VmContext } from './vm_context.js';
import type { VmMap } from './vm_map.js';
import { PGA_CAPDIRTY, PGA_CAPSTORE, type VmPage } from './vm_page.js';

export interface Pmap {
  readonly vm: VmContext;
  readonly rootPfn: number;
  readonly pt: PageTableLike;
  readonly mmu: MmuControlLike & { loadGen?: number };
  resident: number /* present PTEs */;
  map: VmMap | null /* the map this pmap backs (set by vmspaceAlloc) */;
  /* (k) revocation (R47): enter m with a stale capability load generation (set by vmspaceAlloc) */
  capLoadGenStale: ((m: VmPage) => boolean) | null;
}

/* pmap_pinit: a page-table root from the frame allocator; null when memory is exhausted. */
export function pmapPinit(vm: VmContext): Pmap | null {
  const root = vm.phys.allocFrame('ptable');
  if (root < 0) return null;
  return {
    vm,
    rootPfn: root,
    pt: vm.machine.createPageTable(root),
    mmu: vm.machine.createMmuControl(root),
    resident: 0,
    map: null,
    capLoadGenStale: null,
  };
}

/* PTE flag bits for a VM protection. */
export function pmapProtToPte(prot: VmProt): number {
  let f = PTE_V;
  if (prot & VM_PROT_READ) f |= PTE_R;
  if (prot & VM_PROT_WRITE) f |= PTE_W;
  if (prot & VM_PROT_EXECUTE) f |= PTE_X;
  if (prot & VM_PROT_READ_CAP) f |= PTE_CR;
  if (prot & VM_PROT_WRITE_CAP) f |= PTE_CW;
  return f;
}

/* The VM protection a PTE grants (for invariant checks). */
export function pmapPteToProt(pte: number): VmProt {
  let p = 0;
  if (pte & PTE_R) p |= VM_PROT_READ;
  if (pte & PTE_W) p |= VM_PROT_WRITE;
  if (pte & PTE_X) p |= VM_PROT_EXECUTE;
  if (pte & PTE_CR) p |= VM_PROT_READ_CAP;
  if (pte & PTE_CW) p |= VM_PROT_WRITE_CAP;
  return p;
}

function syncCapDirty(m: VmPage, pte: number): void {
  if (pte & PTE_CD) m.aflags |= PGA_CAPSTORE | PGA_CAPDIRTY;
}

function pvRemove(m: VmPage, pmap: Pmap, va: number): void {
  const i = m.pv.findIndex((pv) => pv.pmap === pmap && pv.va === va);
  KASSERT(i >= 0, () => `pv entry for va 0x${va.toString(16)} missing on frame ${m.pfn}`);
  m.pv.splice(i, 1);
}

/* Enough free frames for the worst-case directory allocation of one enter. */
const PT_LEVELS = 3;

/*
 * pmap_enter: map `m` at `va` with `prot`.  Returns false if a page-table frame could not
 * be allocated (KERN_RESOURCE_SHORTAGE for the caller).
 */
export function pmapEnter(pmap: Pmap, va: number, m: VmPage, prot: VmProt): boolean {
  KASSERT(va % 4096 === 0 && va >= 0 && va < VA_LIMIT, () => `pmapEnter: bad va ${va}`);
  const old = pmap.pt.lookup(va);
  let flags = pmapProtToPte(prot);
  if ((pmap.mmu.loadGen === 1) !== (pmap.capLoadGenStale?.(m) === true)) flags |= PTE_CLG;
  if (old & PTE_V) {
    const oldPfn = ptePfn(old);
    if (oldPfn === m.pfn) {
      if (flags & PTE_CW) flags |= old & PTE_CD;
      else syncCapDirty(m, old);
      pmap.pt.enter(va, pteMake(m.pfn, flags), () => -1);
      pmap.mmu.bumpTlbGen();
      return true;
    }
    pmapRemoveOne(pmap, va, old);
  }
  if (pmap.vm.phys.freeCount < PT_LEVELS) return false;
  pmap.pt.enter(va, pteMake(m.pfn, flags), () => pmap.vm.phys.allocFrame('ptable'));
  m.pv.push({ pmap, va });
  pmap.resident++;
  return true;
}

function pmapRemoveOne(pmap: Pmap, va: number, pte: number): void {
  const m = pmap.vm.phys.pageOf(ptePfn(pte));
  KASSERT(
    m !== undefined,
    () => `pmap: PTE at 0x${va.toString(16)} maps frame ${ptePfn(pte)} that is not a page`,
  );
  syncCapDirty(m, pte);
  pvRemove(m, pmap, va);
  pmap.pt.remove(va);
  pmap.resident--;
  pmap.mmu.bumpTlbGen();
}

/* pmap_remove: unmap [start, end). */
export function pmapRemove(pmap: Pmap, start: number, end: number): void {
  if (pmap.resident === 0) return;
  const victims: [number, number][] = [];
  pmap.pt.forEach(start, end, (va, pte) => {
    victims.push([va, pte]);
  });
  for (const [va, pte] of victims) pmapRemoveOne(pmap, va, pte);
}

/* pmap_remove_all: unmap a page from every address space. */
export function pmapRemoveAll(_vm: VmContext, m: VmPage): void {
  for (const { pmap, va } of [...m.pv]) pmapRemoveOne(pmap, va, pmap.pt.lookup(va));
  KASSERT(m.pv.length === 0, () => `pmapRemoveAll: frame ${m.pfn} still mapped`);
}

/* pmap_protect: lower the permissions of [start, end) to at most `prot`. */
export function pmapProtect(pmap: Pmap, start: number, end: number, prot: VmProt): void {
  if (pmap.resident === 0) return;
  const keep = pmapProtToPte(prot) | PTE_CD | PTE_CLG;
  const changes: [number, number][] = [];
  pmap.pt.forEach(start, end, (va, pte) => {
    const npte = pte & (keep | ~0xff);
    if (npte !== pte) changes.push([va, npte]);
  });
  for (const [va, npte] of changes) {
    const m = pmap.vm.phys.pageOf(ptePfn(npte));
    if (m !== undefined && (npte & PTE_CW) === 0) syncCapDirty(m, npte);
    pmap.pt.enter(va, (npte & PTE_CW) === 0 ? npte & ~PTE_CD : npte, () => -1);
  }
  if (changes.length > 0) pmap.mmu.bumpTlbGen();
}

/* pmap_extract: the PTE word for va (0 if none). */
export function pmapExtract(pmap: Pmap, va: number): number {
  return pmap.pt.lookup(va);
}

/* Fold cap-dirty bits of every mapping of m into its flags (mincore, revocation). */
export function pmapSyncCapDirty(m: VmPage): void {
  for (const { pmap, va } of m.pv) syncCapDirty(m, pmap.pt.lookup(va));
}

/* Is m mapped by pmap anywhere (mincore MINCORE_REFERENCED)? */
export function pmapMaps(pmap: Pmap, m: VmPage): boolean {
  return m.pv.some((pv) => pv.pmap === pmap);
}

/* Visit every present PTE (invariant checks, procstat). */
export function pmapForEach(pmap: Pmap, fn: (va: number, pte: number) => void): void {
  pmap.pt.forEach(0, VA_LIMIT, fn);
}

/* pmap_release: the address space is gone; free the page-table frames and the root. */
export function pmapRelease(pmap: Pmap): void {
  pmapRemove(pmap, 0, VA_LIMIT);
  KASSERT(pmap.resident === 0, () => `pmapRelease: ${pmap.resident} PTEs left`);
  pmap.pt.destroy((pfn) => pmap.vm.phys.frameUnref(pfn));
  pmap.vm.phys.frameUnref(pmap.rootPfn);
  pmap.mmu.bumpTlbGen();
}

/*
 * Revocation (R47, CheriBSD pmap_caploadgen_next): flip the address space's capability load
 * generation; every present PTE is now stale, so the first tagged load through each page
 * traps ('cap-load-gen').  Flushes the TLBs.  False if this machine has no load generation.
 */
export function pmapCapLoadGenNext(pmap: Pmap): boolean {
  const gen = pmap.mmu.loadGen;
  if (gen === undefined) return false;
  pmap.mmu.loadGen = gen ^ 1;
  return true;
}

/* Revocation (cf. pmap_caploadgen_update): give the PTE at va the current load generation. */
export function pmapCapLoadGenUpdate(pmap: Pmap, va: number): void {
  const pte = pmap.pt.lookup(va);
  if ((pte & PTE_V) === 0) return;
  const want = pmap.mmu.loadGen === 1 ? PTE_CLG : 0;
  if ((pte & PTE_CLG) === want) return;
  pmap.pt.enter(va, (pte & ~PTE_CLG) | want, () => -1);
  pmap.mmu.bumpTlbGen();
}

/* Revocation, closing a load-side epoch: every present PTE gets the current load generation. */
export function pmapCapLoadGenUpdateAll(pmap: Pmap): void {
  if (pmap.resident === 0) return;
  const want = pmap.mmu.loadGen === 1 ? PTE_CLG : 0;
  const changes: [number, number][] = [];
  pmap.pt.forEach(0, VA_LIMIT, (va, pte) => {
    if ((pte & PTE_CLG) !== want) changes.push([va, (pte & ~PTE_CLG) | want]);
  });
  for (const [va, npte] of changes) pmap.pt.enter(va, npte, () => -1);
  if (changes.length > 0) pmap.mmu.bumpTlbGen();
}

/*
 * Revocation visit: fold the cap-dirty bits of every mapping of m into its flags and clear
 * them in the PTEs, so that a capability stored after this point marks the page CAPDIRTY
 * again (the store-side final pass revisits those).  Flushes the TLBs of those pmaps (the
 * machine caches PTE_CD in its translations).
 */
export function pmapSyncClearCapDirty(m: VmPage): void {
  for (const { pmap, va } of m.pv) {
    const pte = pmap.pt.lookup(va);
    if ((pte & PTE_CD) === 0) continue;
    syncCapDirty(m, pte);
    pmap.pt.enter(va, pte & ~PTE_CD, () => -1);
    pmap.mmu.bumpTlbGen();
  }
}
