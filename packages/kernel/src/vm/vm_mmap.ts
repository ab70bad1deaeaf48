/*
 * mmap(2), munmap(2), mprotect(2), minherit(2), madvise(2), mincore(2), msync(2).
 * cf. FreeBSD/CheriBSD sys/vm/vm_mmap.c: sys_mmap -> kern_mmap_req -> vm_mmap_object.
 * Arguments are validated here and answered with errnos; the capability permissions of
 * a mapping come from the policy module (kern/policy.ts), never from ifs in this file.
 */
import type { File } from '../kern/file.js';
import { fget } from '../kern/file.js';
import type { Kernel } from '../kern/kernel.js';
import {
  minheritDecision,
  mmapCapDecision,
  mprotectDecision,
  type ObjKind,
  type OwnerRelation,
} from '../kern/policy.js';
import type { Thread } from '../kern/proc.js';
import { shmOwnerOnAccess } from '../kern/uipc_shm.js';
import { EACCES, EBADF, EINVAL, ENODEV, ENOMEM, EPROT } from '../sys/errno.js';
import { FREAD, FWRITE } from '../sys/fcntl.js';
import {
  MADV_DONTNEED,
  MADV_FREE,
  MADV_PROTECT,
  MAP_ANON,
  MAP_EXCL,
  MAP_FIXED,
  MAP_KNOWN_FLAGS,
  MAP_PREFAULT_READ,
  MAP_PRIVATE,
  MAP_SHARED,
  MINCORE_CAPSTORE,
  MINCORE_INCORE,
  MINCORE_MODIFIED,
  MINCORE_MODIFIED_OTHER,
  MINCORE_REFERENCED,
  MS_ASYNC,
  MS_INVALIDATE,
  MS_PAGEOUT,
  MS_SYNC,
  PROT_WRITE,
} from '../sys/mman.js';
import { PAGE_SIZE } from './machine_if.js';
import { pmapMaps, pmapProtect, pmapRemove, pmapSyncCapDirty } from './pmap.js';
import {
  KERN_INVALID_ADDRESS,
  KERN_MEM_PROT_FAILURE,
  KERN_NO_SPACE,
  KERN_PROTECTION_FAILURE,
  KERN_RESOURCE_SHORTAGE,
  KERN_SUCCESS,
  VM_INHERIT_COPY,
  VM_INHERIT_SHARE,
  VM_INHERIT_ZERO,
  VM_PROT_WRITE,
  VM_PROT_WRITE_CAP,
  type VmInherit,
  type VmProt,
} from './vm.js';
import { vmFault } from './vm_fault.js';
import {
  MAP_ENTRY_COW,
  MAP_ENTRY_NEEDS_COPY,
  vmMapClipRange,
  vmMapDelete,
  vmMapEntriesIn,
  vmMapEntryCreate,
  vmMapFindSpace,
  vmMapInsert,
  vmMapRangeMapped,
} from './vm_map.js';
import {
  OBJ_ANON,
  OBJ_SHARECAP,
  type VmObject,
  vmObjectAllocateAnon,
  vmObjectDeallocate,
  vmObjectLookupChain,
  vmObjectPageOut,
  vmObjectReference,
} from './vm_object.js';
import { PGA_CAPSTORE, PGA_MODIFIED } from './vm_page.js';
import { VM_MAX_USER_ADDRESS, VM_MIN_USER_ADDRESS, VM_MMAP_BASE } from './vm_param.js';
import type { Vmspace } from './vmspace.js';

/* vm_mmap_to_errno (CheriBSD adds KERN_MEM_PROT_FAILURE -> EPROT). */
export function vmMmapToErrno(rv: number): number {
  switch (rv) {
    case KERN_SUCCESS:
      return 0;
    case KERN_INVALID_ADDRESS:
    case KERN_NO_SPACE:
    case KERN_RESOURCE_SHORTAGE:
      return ENOMEM;
    case KERN_PROTECTION_FAILURE:
      return EACCES;
    case KERN_MEM_PROT_FAILURE:
      return EPROT;
    default:
      return EINVAL;
  }
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const pageAligned = (x: number) => x % PAGE_SIZE === 0;
const roundPage = (x: number) => Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;

/* Check [addr, addr+len) for a range syscall: EINVAL for unaligned or out-of-range. Returns [start, end] or errno. */
function userRange(addr: unknown, len: unknown): [number, number] | number {
  if (!isInt(addr) || !isInt(len) || addr < 0 || len < 0) return EINVAL;
  if (!pageAligned(addr)) return EINVAL;
  const end = addr + roundPage(len);
  if (len === 0) return EINVAL;
  if (addr < VM_MIN_USER_ADDRESS || end > VM_MAX_USER_ADDRESS) return EINVAL;
  return [addr, end];
}

export interface MapRequest {
  fixed: boolean;
  excl: boolean;
  hint: number;
  size: number;
  object: VmObject | null /* a reference the mapping takes over */;
  offset: number;
  protection: VmProt;
  maxProtection: VmProt;
  inheritance: VmInherit;
  eflags: number;
}

/* vm_map_find / vm_map_fixed: place and link one entry.  Returns KERN_*; td.retval = address. */
export function vmMmapInsert(k: Kernel, vms: Vmspace, r: MapRequest): { rv: number; addr: number } {
  const map = vms.map;
  let addr: number;
  if (r.fixed) {
    addr = r.hint;
    if (addr < map.minOffset || addr + r.size > map.maxOffset) return { rv: KERN_INVALID_ADDRESS, addr: 0 };
    if (r.excl && vmMapEntriesIn(map, addr, addr + r.size).length > 0) return { rv: KERN_NO_SPACE, addr: 0 };
    vmMapDelete(k.vm, map, addr, addr + r.size);
  } else {
    const hint = r.hint !== 0 ? roundPage(r.hint) : VM_MMAP_BASE;
    addr = vmMapFindSpace(map, hint, r.size);
    if (addr < 0) return { rv: KERN_NO_SPACE, addr: 0 };
  }
  vmMapInsert(
    map,
    vmMapEntryCreate(
      addr,
      addr + r.size,
      r.object,
      r.offset,
      r.protection,
      r.maxProtection,
      r.inheritance,
      r.eflags,
    ),
  );
  return { rv: KERN_SUCCESS, addr };
}

interface MmapSource {
  kind: ObjKind;
  object: VmObject | null /* existing object to reference; null = new anonymous memory */;
  shareCap: boolean;
  owner: OwnerRelation;
  canWrite: boolean /* the descriptor allows shared writes */;
  sizeLimit: number /* bytes, for validation (Infinity for anon) */;
}

function mmapSource(k: Kernel, td: Thread, fp: File): MmapSource | number {
  if ((fp.flags & FREAD) === 0) return EACCES;
  const canWrite = (fp.flags & FWRITE) !== 0;
  switch (fp.type) {
    case 'vnode':
      return {
        kind: 'vnode',
        object: fp.vnode!.object,
        shareCap: false,
        owner: 'unbound',
        canWrite,
        sizeLimit: fp.vnode!.size,
      };
    case 'devzero':
      return {
        kind: 'devzero',
        object: null,
        shareCap: false,
        owner: 'unbound',
        canWrite: true,
        sizeLimit: Infinity,
      };
    case 'shm': {
      const obj = fp.shm!.object;
      return {
        kind: obj.kind,
        object: obj,
        shareCap: (obj.flags & OBJ_SHARECAP) !== 0,
        owner: shmOwnerOnAccess(k, obj, td.proc.vmspace!.id),
        canWrite,
        sizeLimit: fp.shm!.size,
      };
    }
    default:
      return ENODEV;
  }
}

/* mmap(addr, len, prot, flags, fd, pos) -> address.  cf. kern_mmap_req. */
export function sysMmap(
  k: Kernel,
  td: Thread,
  addr: unknown,
  len: unknown,
  prot: unknown,
  flags: unknown,
  fd: unknown,
  pos: unknown,
): number {
  if (!isInt(addr) || !isInt(len) || !isInt(prot) || !isInt(flags) || !isInt(fd) || !isInt(pos))
    return k.syserr(td, EINVAL, 'non-integer argument');
  if (addr < 0 || pos < 0 || len < 0) return k.syserr(td, EINVAL, 'negative argument');
  if ((flags & ~MAP_KNOWN_FLAGS) !== 0) return k.syserr(td, EINVAL, 'unknown MAP_ flags');
  const anon = (flags & MAP_ANON) !== 0;
  if ((flags & MAP_SHARED) !== 0 && (flags & MAP_PRIVATE) !== 0)
    return k.syserr(td, EINVAL, 'both MAP_SHARED and MAP_PRIVATE');
  if (!anon && (flags & (MAP_SHARED | MAP_PRIVATE)) === 0)
    return k.syserr(td, EINVAL, 'neither MAP_SHARED nor MAP_PRIVATE');
  const shared = (flags & MAP_SHARED) !== 0;
  if (anon && fd !== -1) return k.syserr(td, EINVAL, 'MAP_ANON with a descriptor');
  if (anon && pos !== 0) return k.syserr(td, EINVAL, 'MAP_ANON with an offset');
  if ((flags & MAP_EXCL) !== 0 && (flags & MAP_FIXED) === 0)
    return k.syserr(td, EINVAL, 'MAP_EXCL without MAP_FIXED');
  if (len === 0) return k.syserr(td, EINVAL, 'zero length');
  if (!pageAligned(pos)) return k.syserr(td, EINVAL, 'unaligned offset');
  const fixed = (flags & MAP_FIXED) !== 0;
  if (fixed && !pageAligned(addr)) return k.syserr(td, EINVAL, 'unaligned MAP_FIXED address');
  if (len > VM_MAX_USER_ADDRESS - VM_MIN_USER_ADDRESS) return k.syserr(td, ENOMEM, 'length too large');
  const size = roundPage(len);
  if (fixed && (addr < VM_MIN_USER_ADDRESS || addr + size > VM_MAX_USER_ADDRESS))
    return k.syserr(td, EINVAL, 'MAP_FIXED outside the user address space');
  if (!fixed && addr + size > VM_MAX_USER_ADDRESS) return k.syserr(td, ENOMEM, 'hint too high');

  let src: MmapSource;
  if (anon) {
    src = {
      kind: 'anon',
      object: null,
      shareCap: false,
      owner: 'unbound',
      canWrite: true,
      sizeLimit: Infinity,
    };
  } else {
    const fp = fget(td.proc.fd, fd);
    if (fp === null) return k.syserr(td, EBADF, 'bad descriptor');
    const s = mmapSource(k, td, fp);
    if (typeof s === 'number') return k.syserr(td, s, 'descriptor cannot be mapped');
    src = s;
    const lp = fp.type === 'shm' ? fp.shm!.pageSize : PAGE_SIZE;
    if (lp > PAGE_SIZE && (len % lp !== 0 || pos % lp !== 0))
      return k.syserr(td, EINVAL, 'large-page object mapped in part of a large page'); /* M12 */
  }
  if (pos > Number.MAX_SAFE_INTEGER - size) return k.syserr(td, EINVAL, 'offset overflow');
  const d = mmapCapDecision(k.policy, {
    kind: src.kind,
    shared,
    prot,
    objShareCap: src.shareCap,
    owner: src.owner,
  });
  if (d.error !== 0) return k.syserr(td, d.error, d.why);
  let protection = d.protection;
  let maxProtection = d.maxProtection;
  if (shared && !src.canWrite) {
    if (prot & PROT_WRITE) return k.syserr(td, EACCES, 'shared writable mapping of a read-only descriptor');
    maxProtection &= ~(VM_PROT_WRITE | VM_PROT_WRITE_CAP);
    protection &= maxProtection;
  }

  /* the object the entry will hold a reference to */
  let object: VmObject | null = null;
  let eflags = 0;
  let offset = pos;
  if (src.object !== null) {
    object = vmObjectReference(src.object);
    if (!shared) eflags = MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY;
  } else if (shared) {
    /* MAP_ANON|MAP_SHARED or /dev/zero MAP_SHARED: one object all sharers see; OBJ_SHARECAP per R25 */
    object = vmObjectAllocateAnon(k.vm, size / PAGE_SIZE, src.kind);
    if (d.setShareCap) object.flags |= OBJ_SHARECAP;
    offset = 0;
  } else {
    eflags = MAP_ENTRY_COW;
    offset = 0;
  }
  const { rv, addr: where } = vmMmapInsert(k, td.proc.vmspace!, {
    fixed,
    excl: (flags & MAP_EXCL) !== 0,
    hint: addr,
    size,
    object,
    offset,
    protection,
    maxProtection,
    inheritance: shared ? VM_INHERIT_SHARE : VM_INHERIT_COPY,
    eflags,
  });
  if (rv !== KERN_SUCCESS) {
    if (object !== null) vmObjectDeallocate(k.vm, object);
    return k.syserr(td, vmMmapToErrno(rv), 'no room for the mapping');
  }
  if ((flags & MAP_PREFAULT_READ) !== 0 && object !== null) {
    /* pmap_enter_object: map the resident pages read-only now */
    for (let va = where; va < where + size; va += PAGE_SIZE) {
      const look = vmObjectLookupChain(object, (va - where + offset) / PAGE_SIZE);
      if (look.page !== null) vmFault(k.vm, td.proc.vmspace!, va, 'read');
    }
  }
  td.retval = where;
  return 0;
}

/* munmap(addr, len) */
export function sysMunmap(k: Kernel, td: Thread, addr: unknown, len: unknown): number {
  const r = userRange(addr, len);
  if (typeof r === 'number') return k.syserr(td, r, 'bad range');
  vmMapDelete(k.vm, td.proc.vmspace!.map, r[0], r[1]);
  return 0;
}

/* mprotect(addr, len, prot): R4 through the policy; all-or-nothing over the range. */
export function sysMprotect(k: Kernel, td: Thread, addr: unknown, len: unknown, prot: unknown): number {
  const r = userRange(addr, len);
  if (typeof r === 'number') return k.syserr(td, r, 'bad range');
  if (!isInt(prot)) return k.syserr(td, EINVAL, 'bad prot');
  const map = td.proc.vmspace!.map;
  if (!vmMapRangeMapped(map, r[0], r[1])) return k.syserr(td, ENOMEM, 'range not mapped');
  const plan = vmMapEntriesIn(map, r[0], r[1]).map((e) =>
    mprotectDecision(e.protection, e.maxProtection, prot),
  );
  const bad = plan.find((p) => p.error !== 0);
  if (bad !== undefined) return k.syserr(td, bad.error, bad.why);
  for (const e of vmMapClipRange(map, r[0], r[1])) {
    const dcs = mprotectDecision(e.protection, e.maxProtection, prot);
    e.protection = dcs.protection;
    e.maxProtection = dcs.maxProtection;
    pmapProtect(map.pmap, e.start, e.end, e.protection);
  }
  return 0;
}

/* minherit(addr, len, inherit): R27 through the policy. */
export function sysMinherit(k: Kernel, td: Thread, addr: unknown, len: unknown, inherit: unknown): number {
  const r = userRange(addr, len);
  if (typeof r === 'number') return k.syserr(td, r, 'bad range');
  if (!isInt(inherit) || inherit < VM_INHERIT_SHARE || inherit > VM_INHERIT_ZERO)
    return k.syserr(td, EINVAL, 'bad inheritance');
  const map = td.proc.vmspace!.map;
  for (const e of vmMapEntriesIn(map, r[0], r[1])) {
    const dcs = minheritDecision(
      k.policy,
      e,
      e.object !== null && (e.object.flags & OBJ_SHARECAP) !== 0,
      inherit,
    );
    if (dcs.error !== 0) return k.syserr(td, dcs.error, dcs.why);
  }
  for (const e of vmMapClipRange(map, r[0], r[1])) e.inheritance = inherit;
  return 0;
}

/* madvise(addr, len, behav) */
export function sysMadvise(k: Kernel, td: Thread, addr: unknown, len: unknown, behav: unknown): number {
  if (!isInt(behav) || behav < 0 || behav > MADV_PROTECT) return k.syserr(td, EINVAL, 'bad advice');
  const r = userRange(addr, len);
  if (typeof r === 'number') return k.syserr(td, r, 'bad range');
  const map = td.proc.vmspace!.map;
  if (!vmMapRangeMapped(map, r[0], r[1])) return k.syserr(td, ENOMEM, 'range not mapped');
  if (behav === MADV_DONTNEED || behav === MADV_FREE)
    pmapRemove(map.pmap, r[0], r[1]); /* pages stay in the object */
  return 0;
}

/* mincore(addr, len) -> one status byte per page (td.retobj): INCORE, MODIFIED, CAPSTORE (R8). */
export function sysMincore(k: Kernel, td: Thread, addr: unknown, len: unknown): number {
  const r = userRange(addr, len);
  if (typeof r === 'number') return k.syserr(td, r, 'bad range');
  const vms = td.proc.vmspace!;
  if (!vmMapRangeMapped(vms.map, r[0], r[1])) return k.syserr(td, ENOMEM, 'range not mapped');
  const vec = new Uint8Array((r[1] - r[0]) / PAGE_SIZE);
  for (const e of vmMapEntriesIn(vms.map, r[0], r[1])) {
    if (e.object === null) continue;
    for (let va = Math.max(e.start, r[0]); va < Math.min(e.end, r[1]); va += PAGE_SIZE) {
      const look = vmObjectLookupChain(e.object, (va - e.start + e.offset) / PAGE_SIZE);
      const m = look.page;
      if (m === null) continue;
      pmapSyncCapDirty(m);
      let v = MINCORE_INCORE;
      if (pmapMaps(vms.pmap, m)) v |= MINCORE_REFERENCED;
      if (m.aflags & PGA_MODIFIED) v |= MINCORE_MODIFIED | MINCORE_MODIFIED_OTHER;
      if (m.aflags & PGA_CAPSTORE) v |= MINCORE_CAPSTORE;
      vec[(va - r[0]) / PAGE_SIZE] = v;
    }
  }
  td.retobj = vec;
  return 0;
}

/* msync(addr, len, flags) */
export function sysMsync(k: Kernel, td: Thread, addr: unknown, len: unknown, flags: unknown): number {
  if (!isInt(flags) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE | MS_PAGEOUT)) !== 0)
    return k.syserr(td, EINVAL, 'bad flags');
  if ((flags & MS_ASYNC) !== 0 && (flags & MS_INVALIDATE) !== 0)
    return k.syserr(td, EINVAL, 'MS_ASYNC with MS_INVALIDATE');
  const r = userRange(addr, len);
  if (typeof r === 'number') return k.syserr(td, r, 'bad range');
  const map = td.proc.vmspace!.map;
  if (!vmMapRangeMapped(map, r[0], r[1])) return k.syserr(td, ENOMEM, 'range not mapped');
  if ((flags & MS_INVALIDATE) !== 0) pmapRemove(map.pmap, r[0], r[1]); /* R33: pages stay in the objects */
  if ((flags & MS_PAGEOUT) !== 0) {
    /* R11: anonymous pages go to swap with their tags and come back on the next fault */
    for (const e of vmMapEntriesIn(map, r[0], r[1])) {
      if (e.object === null) continue;
      for (let va = Math.max(e.start, r[0]); va < Math.min(e.end, r[1]); va += PAGE_SIZE) {
        const pindex = (va - e.start + e.offset) / PAGE_SIZE;
        const look = vmObjectLookupChain(e.object, pindex);
        if (look.page === null || look.object === null || (look.object.flags & OBJ_ANON) === 0) continue;
        vmObjectPageOut(k.vm, look.object, look.page.pindex);
      }
    }
  }
  return 0;
}
