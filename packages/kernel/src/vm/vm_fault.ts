/*
 * Page-fault handling.  cf. FreeBSD sys/vm/vm_fault.c.
 *
 * Resolves zero-fill, copy-on-write (the copy keeps the tags, R32) and capability-store
 * faults.  A tagged store to a mapping without VM_PROT_WRITE_CAP is not resolvable:
 * KERN_CAP_STORE_FAILURE, which the trap code turns into SIGSEGV/SEGV_STORETAG or, under
 * the 'strip' switch, a store with the tag cleared (R5).  Data writes are tracked with a
 * software dirty bit: a page is first entered without write permission unless the
 * fault is a write, so that the first store marks it PGA_MODIFIED (mincore, R8).
 */
import type { PageFaultAccess } from './machine_if.js';
import { pmapEnter, pmapRemove } from './pmap.js';
import {
  KERN_CAP_STORE_FAILURE,
  KERN_INVALID_ADDRESS,
  KERN_OUT_OF_BOUNDS,
  KERN_PROTECTION_FAILURE,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  VM_PROT_READ,
  VM_PROT_WRITE,
  VM_PROT_WRITE_CAP,
  type VmProt,
} from './vm.js';
import type { VmContext } from './vm_context.js';
import { MAP_ENTRY_NEEDS_COPY, vmMapLookupEntry } from './vm_map.js';
import {
  OBJ_NOCAP,
  vmObjectAllocateAnon,
  vmObjectChainIndex,
  vmObjectGrabPage,
  vmObjectLookupChain,
  vmObjectPageIn,
  vmObjectShadow,
} from './vm_object.js';
import { PGA_CAPDIRTY, PGA_CAPMAYHOLD, PGA_CAPSTORE, PGA_MODIFIED, type VmPage } from './vm_page.js';
import { truncPage } from './vm_param.js';
import type { Vmspace } from './vmspace.js';

const PAGE = 4096;

export function faultTypeOf(access: PageFaultAccess): VmProt {
  switch (access) {
    case 'read':
    case 'cap-load':
      return VM_PROT_READ;
    case 'write':
      return VM_PROT_WRITE;
    case 'cap-store':
      return VM_PROT_WRITE | VM_PROT_WRITE_CAP;
  }
}

/*
 * After a copy-on-write copy into an object other address spaces may share (a shadow
 * inherited with VM_INHERIT_SHARE), drop every mapping of the source page that its
 * entry's object chain no longer resolves to, so that nobody keeps reading the stale page.
 */
function vmFaultRemoveStale(src: VmPage): void {
  for (const { pmap, va } of [...src.pv]) {
    const e = pmap.map === null ? null : vmMapLookupEntry(pmap.map, va);
    const still =
      e !== null &&
      e.object !== null &&
      vmObjectLookupChain(e.object, (va - e.start + e.offset) / PAGE).page === src;
    if (!still) pmapRemove(pmap, va, va + PAGE);
  }
}

/* vm_fault: make va accessible for `access`, or say why not (KERN_*). */
export function vmFault(vm: VmContext, vms: Vmspace, va: number, access: PageFaultAccess): number {
  const entry = vmMapLookupEntry(vms.map, va);
  if (entry === null) return KERN_INVALID_ADDRESS;
  const need = faultTypeOf(access);
  const dataNeed = need & ~VM_PROT_WRITE_CAP;
  if ((entry.protection & dataNeed) !== dataNeed) return KERN_PROTECTION_FAILURE;
  if (need & VM_PROT_WRITE_CAP && (entry.protection & VM_PROT_WRITE_CAP) === 0) return KERN_CAP_STORE_FAILURE;
  const isWrite = (need & VM_PROT_WRITE) !== 0;
  const pageVa = truncPage(va);
  const size = (entry.end - entry.start) / PAGE;

  if (entry.object === null) {
    entry.object = vmObjectAllocateAnon(vm, size);
    entry.offset = 0;
    entry.eflags &= ~MAP_ENTRY_NEEDS_COPY;
  }
  if (isWrite && entry.eflags & MAP_ENTRY_NEEDS_COPY) {
    entry.object = vmObjectShadow(vm, entry.object, entry.offset / PAGE, size);
    entry.offset = 0;
    entry.eflags &= ~MAP_ENTRY_NEEDS_COPY;
  }
  const first = entry.object;
  const pindex = (pageVa - entry.start + entry.offset) / PAGE;
  const look = vmObjectLookupChain(first, pindex);
  if (look.outOfBounds) return KERN_OUT_OF_BOUNDS; /* past the end of a file or shm object: SIGBUS */

  if (look.swapped) {
    /* page-in (R11): the slot's frame carries the tags back */
    const where = look.object!;
    if (vmObjectPageIn(vm, where, vmObjectChainIndex(first, pindex, where)) === null)
      return KERN_RESOURCE_SHORTAGE;
    return vmFault(vm, vms, va, access);
  }
  let page = look.page;
  let depth = look.depth;
  if (page === null) {
    page = vmObjectGrabPage(vm, first, pindex);
    if (page === null) return KERN_RESOURCE_SHORTAGE;
    depth = 0;
  } else if (depth > 0 && isWrite) {
    /* copy-on-write: the private copy keeps data AND tags (R32) */
    const src = page;
    const copy = vm.phys.pageAlloc(first, pindex);
    if (copy === null) return KERN_RESOURCE_SHORTAGE;
    vm.phys.phys.copyFrame(copy.pfn, src.pfn);
    copy.aflags = src.aflags & (PGA_CAPSTORE | PGA_CAPDIRTY | PGA_CAPMAYHOLD);
    first.pages.set(pindex, copy);
    page = copy;
    depth = 0;
    vmFaultRemoveStale(src);
  }

  let prot = entry.protection;
  if (depth > 0 || entry.eflags & MAP_ENTRY_NEEDS_COPY) prot &= ~(VM_PROT_WRITE | VM_PROT_WRITE_CAP);
  if (isWrite) page.aflags |= PGA_MODIFIED;
  else if ((page.aflags & PGA_MODIFIED) === 0) prot &= ~VM_PROT_WRITE;
  const owner = page.object;
  if (owner !== null && owner.flags & OBJ_NOCAP) prot &= ~VM_PROT_WRITE_CAP; /* VM_OBJECT_MASK_CAP_PROT */
  if (prot & VM_PROT_WRITE_CAP) page.aflags |= PGA_CAPMAYHOLD;
  if (!pmapEnter(vms.pmap, pageVa, page, prot)) return KERN_RESOURCE_SHORTAGE;
  return KERN_SUCCESS;
}
