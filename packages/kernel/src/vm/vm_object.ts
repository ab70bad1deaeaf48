/*
 * VM objects: the things map entries point at.  Anonymous memory, files (vnode),
 * /dev/zero, POSIX shm, memfd and SysV segments, plus the anonymous shadow objects
 * that implement copy-on-write.  cf. FreeBSD sys/vm/vm_object.{h,c}.
 *
 * List of owners  (k) kernel only   (c) const after creation
 */
import type { ObjKind } from '../kern/policy.js';
import { KASSERT } from '../sys/kassert.js';
import { pmapRemoveAll } from './pmap.js';
import type { VmContext } from './vm_context.js';
import type { VmPage } from './vm_page.js';

export const VM_OBJECT_MAGIC = 0x766d6f62; /* 'vmob' */

/*
 * A paged-out page (R11).  The swap device is a set of frames the allocator marks 'swap':
 * copyFrame moves data AND tags there and back, so swap preserves capabilities exactly as
 * CheriBSD's swap pager does; the page is not resident while it is out (mincore says so).
 */
export interface SwapSlot {
  readonly pfn: number;
  readonly aflags: number;
}

export const OBJ_ANON = 0x0001; /* anonymous (swap-backed): may be collapsed into its shadow */
export const OBJ_HASCAP = 0x0002; /* pages may hold tags (CheriBSD) */
export const OBJ_NOCAP = 0x0004; /* pages never hold tags (files) */
export const OBJ_SHARECAP = 0x0008; /* PR #2225: capabilities may be shared across vmspaces */
export const OBJ_DEAD = 0x0010; /* being destroyed */

export interface VmObject {
  magic: number;
  readonly id: number /* (c) */;
  readonly kind: ObjKind /* (c) what it backs, as the policy sees it */;
  flags: number /* (k) OBJ_* */;
  refCount: number /* (k) map entries, shadows, handles (shm, vnode, sysv) */;
  size: number /* (k) in pages */;
  readonly pages: Map<number, VmPage> /* (k) resident pages by pindex */;
  backingObject: VmObject | null /* (k) next object down the shadow chain */;
  backingOffset: number /* (k) in pages */;
  readonly shadows: Set<VmObject> /* (k) objects whose backing object is this one */;
  owner: number /* (k) owner vmspace id for shm/memfd under PR #2225 (R22), 0 = none */;
  readonly swap: Map<number, SwapSlot> /* (k) paged-out pages by pindex (anonymous objects only) */;
}

/* vm_object_allocate */
export function vmObjectAllocate(vm: VmContext, kind: ObjKind, sizePages: number, flags: number): VmObject {
  const o: VmObject = {
    magic: VM_OBJECT_MAGIC,
    id: vm.nextObjectId++,
    kind,
    flags,
    refCount: 1,
    size: sizePages,
    pages: new Map(),
    backingObject: null,
    backingOffset: 0,
    shadows: new Set(),
    owner: 0,
    swap: new Map(),
  };
  vm.objects.add(o);
  return o;
}

export function vmObjectAllocateAnon(vm: VmContext, sizePages: number, kind: ObjKind = 'anon'): VmObject {
  return vmObjectAllocate(vm, kind, sizePages, OBJ_ANON | OBJ_HASCAP);
}

/* vm_object_reference */
export function vmObjectReference(o: VmObject): VmObject {
  KASSERT(o.magic === VM_OBJECT_MAGIC && o.refCount > 0, () => `vmObjectReference: dead object ${o.id}`);
  o.refCount++;
  return o;
}

/* vm_object_deallocate: drop a reference; destroy at zero; collapse a lone anonymous backing object. */
export function vmObjectDeallocate(vm: VmContext, o: VmObject): void {
  let obj: VmObject | null = o;
  while (obj !== null) {
    KASSERT(obj.magic === VM_OBJECT_MAGIC && obj.refCount > 0, () => `vmObjectDeallocate: dead object`);
    obj.refCount--;
    if (obj.refCount === 1 && obj.shadows.size === 1 && (obj.flags & OBJ_ANON) !== 0) {
      const [shadow] = obj.shadows;
      vmObjectCollapse(vm, shadow);
      return;
    }
    if (obj.refCount > 0) return;
    const backing: VmObject | null = obj.backingObject;
    vmObjectTerminate(vm, obj);
    obj = backing; /* drop the reference the dead shadow held */
  }
}

/* Free every page and unlink from the backing object.  [ internal use only ] */
function vmObjectTerminate(vm: VmContext, o: VmObject): void {
  o.flags |= OBJ_DEAD;
  for (const m of o.pages.values()) {
    pmapRemoveAll(vm, m);
    vm.phys.pageFree(m);
  }
  o.pages.clear();
  for (const slot of o.swap.values()) vm.phys.frameUnref(slot.pfn);
  o.swap.clear();
  if (o.backingObject !== null) o.backingObject.shadows.delete(o);
  o.magic = 0;
  vm.objects.delete(o);
}

/*
 * vm_object_shadow: a new anonymous object of `sizePages` in front of `source`
 * (whose reference the caller passes over) at `offsetPages`.
 */
export function vmObjectShadow(
  vm: VmContext,
  source: VmObject,
  offsetPages: number,
  sizePages: number,
): VmObject {
  const s = vmObjectAllocateAnon(vm, sizePages);
  s.backingObject = source;
  s.backingOffset = offsetPages;
  source.shadows.add(s);
  return s;
}

/*
 * vm_object_collapse: `shadow`'s backing object is referenced by nobody else; pull its pages
 * up (where the shadow has none) and splice it out of the chain.
 */
export function vmObjectCollapse(vm: VmContext, shadow: VmObject): void {
  const b = shadow.backingObject;
  if (b === null || b.refCount !== 1 || b.shadows.size !== 1 || (b.flags & OBJ_ANON) === 0) return;
  for (const m of b.pages.values()) {
    const idx = m.pindex - shadow.backingOffset;
    if (idx < 0 || idx >= shadow.size || shadow.pages.has(idx) || shadow.swap.has(idx)) {
      pmapRemoveAll(vm, m);
      vm.phys.pageFree(m);
    } else {
      m.object = shadow;
      m.pindex = idx;
      shadow.pages.set(idx, m);
    }
  }
  b.pages.clear();
  for (const [pidx, slot] of b.swap) {
    const idx = pidx - shadow.backingOffset;
    if (idx < 0 || idx >= shadow.size || shadow.pages.has(idx) || shadow.swap.has(idx))
      vm.phys.frameUnref(slot.pfn);
    else shadow.swap.set(idx, slot);
  }
  b.swap.clear();
  const bb = b.backingObject;
  shadow.backingObject = bb;
  shadow.backingOffset += b.backingOffset;
  if (bb !== null) {
    bb.shadows.delete(b);
    bb.shadows.add(shadow);
  }
  b.backingObject = null;
  b.shadows.clear();
  b.refCount = 0;
  b.flags |= OBJ_DEAD;
  b.magic = 0;
  vm.objects.delete(b);
}

/* Result of looking a page up through a shadow chain. */
export interface ChainLookup {
  page: VmPage | null;
  object: VmObject | null /* where the page lives */;
  depth: number /* 0 = first object */;
  outOfBounds: boolean /* fell past the end of a sized (non-anonymous) object */;
  swapped: boolean /* the page is paged out in `object` (page is null) */;
}

/* vm_page_lookup down the chain, as vm_fault does. */
export function vmObjectLookupChain(first: VmObject, pindex: number): ChainLookup {
  let o: VmObject | null = first;
  let idx = pindex;
  let depth = 0;
  while (o !== null) {
    if ((o.flags & OBJ_ANON) === 0 && idx >= o.size)
      return { page: null, object: o, depth, outOfBounds: true, swapped: false };
    const m = o.pages.get(idx);
    if (m !== undefined) return { page: m, object: o, depth, outOfBounds: false, swapped: false };
    if (o.swap.has(idx)) return { page: null, object: o, depth, outOfBounds: false, swapped: true };
    idx += o.backingOffset;
    o = o.backingObject;
    depth++;
  }
  return { page: null, object: null, depth, outOfBounds: false, swapped: false };
}

/* The pindex a chain lookup resolved to inside look.object. */
export function vmObjectChainIndex(first: VmObject, pindex: number, target: VmObject): number {
  let o: VmObject | null = first;
  let idx = pindex;
  while (o !== null && o !== target) {
    idx += o.backingOffset;
    o = o.backingObject;
  }
  return idx;
}

/* Page out one resident page of an anonymous object (R11); false if no swap frame is left. */
export function vmObjectPageOut(vm: VmContext, o: VmObject, pindex: number): boolean {
  const m = o.pages.get(pindex);
  if (m === undefined || (o.flags & OBJ_ANON) === 0) return false;
  const slot = vm.phys.allocFrame('swap');
  if (slot < 0) return false;
  pmapRemoveAll(vm, m);
  vm.phys.phys.copyFrame(slot, m.pfn); /* data and tags */
  o.swap.set(pindex, { pfn: slot, aflags: m.aflags });
  o.pages.delete(pindex);
  vm.phys.pageFree(m);
  return true;
}

/* Page a swapped page back in; null when memory is exhausted. */
export function vmObjectPageIn(vm: VmContext, o: VmObject, pindex: number): VmPage | null {
  const slot = o.swap.get(pindex);
  KASSERT(slot !== undefined, () => `pageIn: object ${o.id} page ${pindex} is not swapped`);
  const m = vm.phys.pageAlloc(o, pindex);
  if (m === null) return null;
  vm.phys.phys.copyFrame(m.pfn, slot.pfn);
  m.aflags = slot.aflags;
  o.swap.delete(pindex);
  o.pages.set(pindex, m);
  vm.phys.frameUnref(slot.pfn);
  return m;
}

/* Remove (unmap and free) the resident pages with start <= pindex < end.  cf. vm_object_page_remove. */
export function vmObjectPageRemove(vm: VmContext, o: VmObject, start: number, end: number): void {
  for (const [idx, slot] of [...o.swap]) {
    if (idx < start || idx >= end) continue;
    o.swap.delete(idx);
    vm.phys.frameUnref(slot.pfn);
  }
  for (const [idx, m] of [...o.pages]) {
    if (idx < start || idx >= end) continue;
    pmapRemoveAll(vm, m);
    o.pages.delete(idx);
    vm.phys.pageFree(m);
  }
}

/* The object's page at pindex, allocated zero-filled if absent; null when memory is exhausted. */
export function vmObjectGrabPage(vm: VmContext, o: VmObject, pindex: number): VmPage | null {
  const have = o.pages.get(pindex);
  if (have !== undefined) return have;
  const m = vm.phys.pageAlloc(o, pindex);
  if (m === null) return null;
  o.pages.set(pindex, m);
  return m;
}
