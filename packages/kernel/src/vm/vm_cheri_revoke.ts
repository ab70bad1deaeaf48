/*
 * CHERI revocation, the VM half: the shadow bitmap (R40), and the page visitors that sweep
 * what a vmspace can reach (R46-R49).  cf. CheriBSD sys/vm/vm_cheri_revoke.c and
 * vm_cheri_revoke.h ("KERNEL MI LAYER"); the epoch rule lives in
 * vm_cheri_revoke_state.ts and is re-exported here.
 *
 * The sweep of a frame is the machine's (phys/tag_sweep.ts: tag-plane walk, base keying,
 * compare-and-rewrite against running mutators).  This file decides WHICH frames, and
 * keeps the VM consistent around the rewrite:
 *
 *   - only the vmspace's own map (R48), only entries whose max protection includes
 *     VM_PROT_READ_CAP and that have an object; the shadow itself has no cap permissions;
 *   - a page is found through the entry's object chain, not the page tables, so a resident
 *     page that is not mapped (MADV_DONTNEED, MS_INVALIDATE: R33) is swept too; a paged-out
 *     page is swept in its swap frame (the frame keeps data and tags, R11);
 *   - a page reached copy-on-write (deeper in the chain, or the entry still NEEDS_COPY) is
 *     shared with other address spaces: it is first checked without writing; only if it
 *     holds a painted, unrevoked capability is it faulted for write, which gives this
 *     process its private copy, and the copy is rewritten (R33: the other copy is untouched);
 *   - anything else (private pages, MAP_SHARED pages, shm pages) is rewritten in place:
 *     other address spaces that map the frame see the revoked value (R48);
 *   - under pr2225 (R49), the resident and paged-out pages of every shm/memfd object this
 *     vmspace owns that is not OBJ_SHARECAP are swept too, mapped or not.  PR #2225 maps
 *     such objects into the address space (VM_INHERIT_NONE) for the pass; we sweep their
 *     frames directly, which visits the same frames, and the temporary mapping is never
 *     visible, so a fork during the pass trivially does not inherit it.
 *
 * Page states (R8, R47): a visited page that keeps a live capability is CAPSTORE (not
 * CAPDIRTY); one that keeps none moves one step toward clean per epoch (CAPDIRTY ->
 * CAPSTORE -> clean).  Pages neither CAPSTORE nor CAPDIRTY (after folding PTE_CD) are skipped.
 *
 * List of owners  (k) kernel only
 */
import {
  CAP_REVOKED_W0_KEEP,
  CAP_REVOKED_W1_KEEP,
  type CapRegFile,
  capHasVmem,
  capIsRevoked,
  capWitness,
  cc128BaseFromMemWords,
  newSweepStats,
  type PhysMem,
  REG_TAG,
  REG_W0,
  REG_WORDS,
  SWEEP_PAGE_DIRTY,
  SWEEP_PAGE_HASCAPS,
  type SweepStats,
  sweepFrames,
} from '@cherisim/machine';
import type { Kernel } from '../kern/kernel.js';
import { ENOMEM } from '../sys/errno.js';
import { KASSERT } from '../sys/kassert.js';
import type { CheriRevokeStats } from '../sys/revoke.js';
import { PAGE_SIZE } from './machine_if.js';
import { pmapCapLoadGenUpdate, pmapProtect, pmapSyncCapDirty, pmapSyncClearCapDirty } from './pmap.js';
import { KERN_SUCCESS, VM_INHERIT_COPY, VM_PROT_READ, VM_PROT_READ_CAP, VM_PROT_WRITE } from './vm.js';
import {
  VM_CHERI_REVOKE_SHADOW_BASE,
  VM_CHERI_REVOKE_SHADOW_SIZE,
  type VmCheriRevokeState,
} from './vm_cheri_revoke_state.js';
import { vmFault } from './vm_fault.js';
import { MAP_ENTRY_COW, MAP_ENTRY_NEEDS_COPY, type VmMapEntry, vmMapLookupEntry } from './vm_map.js';
import { vmMmapInsert, vmMmapToErrno } from './vm_mmap.js';
import { OBJ_DEAD, OBJ_SHARECAP, type VmObject, vmObjectLookupChain } from './vm_object.js';
import { PGA_CAPDIRTY, PGA_CAPSTORE, type VmPage } from './vm_page.js';
import { VM_MAX_USER_ADDRESS } from './vm_param.js';
import type { Vmspace } from './vmspace.js';

export {
  cheriRevokeEpochClears,
  VM_CHERI_REVOKE_SHADOW_BASE,
  VM_CHERI_REVOKE_SHADOW_SIZE,
} from './vm_cheri_revoke_state.js';

const PAGE = PAGE_SIZE;

/*
 * Install the shadow region (anonymous, private, read/write data, no capability
 * permissions: never swept, R48).  CheriBSD installs it at exec; we install it on the first
 * cheri_revoke_get_shadow, so address spaces that never revoke keep their accounting.
 * Returns 0 or an errno (ENOMEM if something is mapped there).
 */
export function vmCheriRevokeShadowInstall(k: Kernel, vms: Vmspace): number {
  if (vms.revoke.shadow) return 0;
  const { rv } = vmMmapInsert(k, vms, {
    fixed: true,
    excl: true,
    hint: VM_CHERI_REVOKE_SHADOW_BASE,
    size: VM_CHERI_REVOKE_SHADOW_SIZE,
    object: null,
    offset: 0,
    protection: VM_PROT_READ | VM_PROT_WRITE,
    maxProtection: VM_PROT_READ | VM_PROT_WRITE,
    inheritance: VM_INHERIT_COPY,
    eflags: MAP_ENTRY_COW,
  });
  if (rv !== KERN_SUCCESS) return vmMmapToErrno(rv) || ENOMEM;
  vms.revoke.shadow = true;
  return 0;
}

/* User VA of the shadow byte holding the bit of va (R40). */
export function vmCheriRevokeShadowByte(va: number): number {
  return VM_CHERI_REVOKE_SHADOW_BASE + Math.floor(va / 128);
}

/* Physical address of the shadow page at pageVa as the vmspace sees it, or -1 (nothing painted). */
function shadowPagePa(vms: Vmspace, pageVa: number): number {
  const e = vmMapLookupEntry(vms.map, pageVa);
  if (e === null || e.object === null) return -1;
  const look = vmObjectLookupChain(e.object, (pageVa - e.start + e.offset) / PAGE);
  if (look.page !== null) return look.page.pfn * PAGE;
  if (look.swapped && look.object !== null) {
    const idx = chainIndex(e.object, (pageVa - e.start + e.offset) / PAGE, look.object);
    const slot = look.object.swap.get(idx);
    if (slot !== undefined) return slot.pfn * PAGE;
  }
  return -1;
}

function chainIndex(first: VmObject, pindex: number, target: VmObject): number {
  let o: VmObject | null = first;
  let idx = pindex;
  while (o !== null && o !== target) {
    idx += o.backingOffset;
    o = o.backingObject;
  }
  return idx;
}

/*
 * The painted predicate for one phase of a pass: is the shadow bit of `base` set in this
 * vmspace's shadow?  Reads the shadow through the map (object chain), caching each shadow
 * page's frame for the phase; a shadow page that does not exist is all zeros.
 */
export function vmCheriRevokePainted(vms: Vmspace, phys: PhysMem): (base: number) => boolean {
  if (!vms.revoke.shadow) return () => false;
  const u8 = phys.u8;
  const cache = new Map<number, number>();
  return (base: number): boolean => {
    if (!(base >= 0 && base < VM_MAX_USER_ADDRESS)) return false;
    const g = Math.floor(base / 16);
    const byteVa = VM_CHERI_REVOKE_SHADOW_BASE + Math.floor(g / 8);
    const off = byteVa % PAGE;
    const pageVa = byteVa - off;
    let pa = cache.get(pageVa);
    if (pa === undefined) {
      pa = shadowPagePa(vms, pageVa);
      cache.set(pageVa, pa);
    }
    return pa >= 0 && ((u8[pa + off] >> (g & 7)) & 1) !== 0;
  };
}

/* Visit modes of a page walk. */
export type RevokeWalk =
  | 'pass' /* store-side concurrent pass: CAPSTORE/CAPDIRTY pages not visited yet, or dirtied since */
  | 'final-dirty' /* store-side world-stopped pass: pages unvisited this epoch, or dirtied since */
  | 'final-all' /* the same, plus every page visited this epoch (see kern_cheri_revoke.ts) */
  | 'close-ls' /* load-side closing sweep: the same (fault visits count as visits) */
  | 'fault'; /* load-barrier fault visit: this page, whatever its flags */

/* The cookie passed to the page visitors.  cf. struct vm_cheri_revoke_cookie. */
export interface RevokeCookie {
  readonly k: Kernel;
  readonly vms: Vmspace;
  readonly phys: PhysMem;
  readonly painted: (base: number) => boolean;
  readonly clearTags: boolean;
  readonly worldStopped: boolean /* this vmspace's threads are parked */;
  readonly exclusive: boolean /* nothing at all runs concurrently (the single-threaded core) */;
  readonly sweep: SweepStats;
  readonly stats: CheriRevokeStats;
  failed: number /* errno of a forced copy-on-write that could not be made, else 0 */;
}

export function vmCheriRevokeCookie(
  k: Kernel,
  vms: Vmspace,
  opts: { clearTags: boolean; worldStopped: boolean; exclusive: boolean },
): RevokeCookie {
  const phys = k.vm.phys.phys as unknown as PhysMem;
  KASSERT(
    phys.tags instanceof Int32Array && phys.u32 instanceof Uint32Array,
    () => 'revocation needs the real machine (PhysMem with a tag plane)',
  );
  return {
    k,
    vms,
    phys,
    painted: vmCheriRevokePainted(vms, phys),
    clearTags: opts.clearTags,
    worldStopped: opts.worldStopped || opts.exclusive,
    exclusive: opts.exclusive,
    sweep: newSweepStats(),
    stats: vms.revoke.stats,
    failed: 0,
  };
}

/* Fold the machine's sweep counters into the vmspace's cheri_revoke_stats. */
export function vmCheriRevokeCookieDone(c: RevokeCookie): void {
  const s = c.stats;
  s.caps_found += c.sweep.capsFound;
  s.caps_found_revoked += c.sweep.capsFoundRevoked;
  s.caps_cleared += c.sweep.capsCleared;
  s.lines_scan += c.sweep.linesScan;
  c.sweep.capsFound = 0;
  c.sweep.capsFoundRevoked = 0;
  c.sweep.capsCleared = 0;
  c.sweep.linesScan = 0;
}

const one = [0];

/*
 * Sweep one frame in place; returns SWEEP_PAGE_* flags.  With mutators possibly running
 * (`stopped` false) the machine revokes by clearing the tag whatever clearTags says (only
 * that can be made exact against plain data stores: tag_sweep.ts); the tag-keeping form
 * (R42's default) is written only when the frame is exclusive.  [ internal use only ]
 */
function sweepOne(c: RevokeCookie, pfn: number, stopped: boolean): number {
  const t0 = performance.now();
  one[0] = pfn;
  const fl = sweepFrames(c.phys, one, c.painted, { clearTags: c.clearTags, worldStopped: stopped }, c.sweep);
  c.stats.page_scan_cycles += Math.round((performance.now() - t0) * 1e6);
  c.stats.pages_scan_rw++;
  return fl;
}

/*
 * Does the frame hold a painted, unrevoked capability?  Read only: for copy-on-write pages,
 * which must not be rewritten in place.  [ internal use only ]
 */
function frameNeedsRevoke(c: RevokeCookie, pfn: number): boolean {
  const { tags, u32, witness } = c.phys;
  for (let w = pfn * 8; w < pfn * 8 + 8; w++) {
    let t = tags[w];
    while (t !== 0) {
      const low = t & -t;
      t ^= low;
      const g = w * 32 + (31 - Math.clz32(low));
      const i = g * 4;
      const w0 = u32[i];
      const w1 = u32[i + 1];
      const w2 = u32[i + 2];
      const w3 = u32[i + 3];
      if (capWitness(w0, w1, w2, w3) !== witness[g]) continue;
      if (capIsRevoked(true, w0, w1) || capHasVmem(w1)) continue;
      if (c.painted(cc128BaseFromMemWords(w0, w2, w3))) return true;
    }
  }
  return false;
}

/*
 * May the sweep of m's frame treat it as exclusive (tag_sweep's worldStopped: plain stores,
 * CheriBSD's tag-keeping revoked form)?  Yes if nothing runs concurrently, or if this
 * vmspace's threads are parked and no other pmap maps the frame.
 */
function exclusiveFrame(c: RevokeCookie, m: VmPage): boolean {
  if (c.exclusive) return true;
  if (!c.worldStopped) return false;
  for (const pv of m.pv) if (pv.pmap !== c.vms.pmap) return false;
  return true;
}

/* Page-state bookkeeping after an in-place visit (see the header). */
function pageVisited(s: VmCheriRevokeState, stats: CheriRevokeStats, m: VmPage, fl: number): void {
  const first = !s.visited.has(m);
  s.visited.add(m);
  if ((fl & SWEEP_PAGE_DIRTY) !== 0) {
    m.aflags |= PGA_CAPSTORE | PGA_CAPDIRTY; /* a rewrite lost its race: visit again */
    return;
  }
  if ((fl & SWEEP_PAGE_HASCAPS) !== 0) {
    m.aflags = (m.aflags | PGA_CAPSTORE) & ~PGA_CAPDIRTY;
    return;
  }
  if ((m.aflags & PGA_CAPDIRTY) !== 0) m.aflags = (m.aflags | PGA_CAPSTORE) & ~PGA_CAPDIRTY;
  else if (first && (m.aflags & PGA_CAPSTORE) !== 0) {
    m.aflags &= ~PGA_CAPSTORE;
    stats.pages_mark_clean++;
  }
}

/* Should the walk visit a resident page with these flags?  [ internal use only ] */
function wantPage(c: RevokeCookie, walk: RevokeWalk, m: VmPage): boolean {
  pmapSyncCapDirty(m);
  const has = (m.aflags & (PGA_CAPSTORE | PGA_CAPDIRTY)) !== 0;
  const seen = c.vms.revoke.visited.has(m);
  switch (walk) {
    case 'fault':
      return true;
    case 'pass': /* opening or incremental: what was not visited yet, or was stored to since */
    case 'close-ls': /* as 'pass': a visited page can be re-dirtied by another address space sharing it */
    case 'final-dirty':
      return has && (!seen || (m.aflags & PGA_CAPDIRTY) !== 0);
    case 'final-all':
      return has || seen;
  }
}

/*
 * Force this process's private copy of a copy-on-write page (R33: "faulted for write"),
 * also through a mapping without write permission (as a debugger's forced write does: the
 * copy is private, so nobody else can see it), then put the page's protection back.
 */
function revokeCowFault(c: RevokeCookie, e: VmMapEntry, va: number): number {
  const saved = e.protection;
  e.protection |= VM_PROT_WRITE;
  const rv = vmFault(c.k.vm, c.vms, va, 'write');
  if (e.protection !== saved) {
    e.protection = saved;
    pmapProtect(c.vms.pmap, va, va + PAGE, saved);
  }
  return rv;
}

/*
 * Visit the page at pindex of entry e.  cf. vm_cheri_revoke_visit_rw / _ro.
 * [ internal use only ]
 */
function visitEntryPage(c: RevokeCookie, e: VmMapEntry, pindex: number, walk: RevokeWalk): void {
  const s = c.vms.revoke;
  let look = vmObjectLookupChain(e.object!, pindex);
  if (look.outOfBounds || look.object === null) {
    c.stats.pages_skip_nofill++;
    return;
  }
  const va = e.start + pindex * PAGE - e.offset;
  let m = look.page;
  if (m !== null && !wantPage(c, walk, m)) {
    c.stats.pages_skip++;
    return;
  }
  let pfn: number;
  if (m !== null) pfn = m.pfn;
  else {
    const slot = look.object.swap.get(chainIndex(e.object!, pindex, look.object));
    if (slot === undefined || (slot.aflags & (PGA_CAPSTORE | PGA_CAPDIRTY)) === 0) {
      c.stats.pages_skip++;
      return;
    }
    pfn = slot.pfn;
  }
  const cow = look.depth > 0 || (e.eflags & MAP_ENTRY_NEEDS_COPY) !== 0;
  if (cow) {
    if (!frameNeedsRevoke(c, pfn)) {
      c.stats.pages_scan_ro++;
      if (m !== null) s.visited.add(m); /* nothing to revoke: its PTE may take the current generation */
      return;
    }
    const rv = revokeCowFault(c, e, va);
    if (rv !== KERN_SUCCESS) {
      c.failed = ENOMEM;
      return;
    }
    c.stats.pages_faulted_rw++;
    look = vmObjectLookupChain(e.object!, pindex);
    m = look.page;
    KASSERT(
      m !== null && look.depth === 0,
      () => `revoke: no private copy at 0x${va.toString(16)} after a write fault`,
    );
    pfn = m.pfn;
  }
  if (m === null) {
    sweepOne(c, pfn, c.worldStopped); /* a swap frame: nobody maps it */
    return;
  }
  pmapSyncClearCapDirty(m);
  const fl = sweepOne(c, pfn, exclusiveFrame(c, m));
  pageVisited(s, c.stats, m, fl);
}

/* Page indexes (of the entry's first object) that have a page or a swap slot somewhere down the chain. */
function entryPageIndexes(e: VmMapEntry): number[] {
  const lo = e.offset / PAGE;
  const hi = lo + (e.end - e.start) / PAGE;
  const out = new Set<number>();
  let o: VmObject | null = e.object;
  let shift = 0; /* index in o = pindex + shift */
  while (o !== null) {
    for (const idx of o.pages.keys()) {
      const p = idx - shift;
      if (p >= lo && p < hi) out.add(p);
    }
    for (const idx of o.swap.keys()) {
      const p = idx - shift;
      if (p >= lo && p < hi) out.add(p);
    }
    shift += o.backingOffset;
    o = o.backingObject;
  }
  return [...out].sort((a, b) => a - b);
}

/* Map entries the revoker visits (R48). */
export function vmCheriRevokeEntryVisible(e: VmMapEntry): boolean {
  return e.object !== null && (e.maxProtection & VM_PROT_READ_CAP) !== 0;
}

/* shm/memfd objects a pass sweeps whole under pr2225 (R49): owned by this vmspace, not SHARECAP. */
export function vmCheriRevokeLocalShmObjects(k: Kernel, vms: Vmspace): VmObject[] {
  if (k.policy.regime !== 'pr2225') return [];
  const out: VmObject[] = [];
  for (const shm of k.shmObjects) {
    const o = shm.object;
    if (o.owner === vms.id && (o.flags & (OBJ_SHARECAP | OBJ_DEAD)) === 0) out.push(o);
  }
  return out;
}

/* Sweep a local shm object's pages in place, mapped or not (see the header).  [ internal use only ] */
function visitObject(c: RevokeCookie, o: VmObject, walk: RevokeWalk): void {
  for (const m of [...o.pages.values()]) {
    if (!wantPage(c, walk, m)) {
      c.stats.pages_skip++;
      continue;
    }
    pmapSyncClearCapDirty(m);
    pageVisited(c.vms.revoke, c.stats, m, sweepOne(c, m.pfn, exclusiveFrame(c, m)));
  }
  for (const slot of o.swap.values()) {
    if ((slot.aflags & (PGA_CAPSTORE | PGA_CAPDIRTY)) !== 0) sweepOne(c, slot.pfn, c.worldStopped);
  }
}

/* One walk over everything the vmspace can reach in memory.  cf. vm_cheri_revoke_pass. */
export function vmCheriRevokePass(c: RevokeCookie, walk: Exclude<RevokeWalk, 'fault'>): void {
  for (const e of [...c.vms.map.entries]) {
    if (!vmCheriRevokeEntryVisible(e)) continue;
    for (const p of entryPageIndexes(e)) visitEntryPage(c, e, p, walk);
  }
  for (const o of vmCheriRevokeLocalShmObjects(c.k, c.vms)) visitObject(c, o, walk);
}

/*
 * The load barrier (R47): the first tagged load through a page of a stale generation
 * trapped at va.  Clean that page (revoking any capability whose base is painted; a
 * copy-on-write page that needs it is copied first), then give its PTE the current
 * generation.  cf. vm_cheri_revoke_fault_visit.
 */
export function vmCheriRevokeFaultVisit(c: RevokeCookie, va: number): void {
  const pageVa = va - (va % PAGE);
  const e = vmMapLookupEntry(c.vms.map, pageVa);
  if (e !== null && vmCheriRevokeEntryVisible(e))
    visitEntryPage(c, e, (pageVa - e.start + e.offset) / PAGE, 'fault');
  pmapCapLoadGenUpdate(c.vms.pmap, pageVa);
}

/*
 * Revoke the painted capabilities held in a register file (a parked thread's, or the
 * kernel core's own).  Returns how many were revoked.
 */
export function vmCheriRevokeRegs(c: RevokeCookie, regs: CapRegFile): number {
  const w = regs.u32;
  let n = 0;
  for (let i = 0; i < regs.nregs; i++) {
    const r = i * REG_WORDS;
    if (w[r + REG_TAG] === 0) continue;
    c.stats.regs_scan++;
    const w0 = w[r + REG_W0];
    const w1 = w[r + REG_W0 + 1];
    const w2 = w[r + REG_W0 + 2];
    const w3 = w[r + REG_W0 + 3];
    if (capIsRevoked(true, w0, w1) || capHasVmem(w1)) continue; /* VMEM: never revoked */
    if (!c.painted(cc128BaseFromMemWords(w0, w2, w3))) continue;
    if (c.clearTags) regs.setWords(i, w0, w1, w2, w3, 0);
    else regs.setWords(i, (w0 & CAP_REVOKED_W0_KEEP) >>> 0, (w1 & CAP_REVOKED_W1_KEEP) >>> 0, w2, w3, 1);
    n++;
  }
  c.stats.regs_cleared += n;
  return n;
}
