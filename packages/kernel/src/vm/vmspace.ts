/*
 * Address spaces.  cf. FreeBSD vmspace_alloc / vmspace_fork / vmspace_free.
 * Fork is one switch over each entry's inheritance (R30), with the CHERI policy's
 * say on capability permissions of inherited shared mappings (R23).
 */
import { forkCapMask } from '../kern/policy.js';
import { KASSERT } from '../sys/kassert.js';
import { type Pmap, pmapPinit, pmapProtect, pmapRelease } from './pmap.js';
import {
  VM_INHERIT_COPY,
  VM_INHERIT_NONE,
  VM_INHERIT_SHARE,
  VM_INHERIT_ZERO,
  VM_PROT_WRITE,
  VM_PROT_WRITE_CAP,
} from './vm.js';
import {
  type VmCheriRevokeState,
  vmCheriRevokeLoadGenStale,
  vmCheriRevokeStateForkInto,
  vmCheriRevokeStateInit,
} from './vm_cheri_revoke_state.js';
import type { VmContext } from './vm_context.js';
import {
  MAP_ENTRY_COW,
  MAP_ENTRY_NEEDS_COPY,
  type VmMap,
  type VmMapEntry,
  vmMapDelete,
  vmMapInit,
  vmMapInsert,
} from './vm_map.js';
import { OBJ_SHARECAP, vmObjectAllocateAnon, vmObjectReference, vmObjectShadow } from './vm_object.js';
import { VM_MAX_USER_ADDRESS, VM_MIN_USER_ADDRESS } from './vm_param.js';

export const VMSPACE_MAGIC = 0x766d7370; /* 'vmsp' */

export interface Vmspace {
  magic: number;
  readonly id: number /* (c) never reused: the identity shm ownership binds to (R22) */;
  readonly map: VmMap;
  readonly pmap: Pmap;
  readonly revoke: VmCheriRevokeState /* (k) revocation epochs, state, shadow (R40-R47) */;
}

/* vmspace_alloc; null when no frame is left for the page-table root. */
export function vmspaceAlloc(vm: VmContext): Vmspace | null {
  const pmap = pmapPinit(vm);
  if (pmap === null) return null;
  const id = vm.nextVmspaceId++;
  vm.liveVmspaces.add(id);
  const map = vmMapInit(pmap, VM_MIN_USER_ADDRESS, VM_MAX_USER_ADDRESS);
  pmap.map = map;
  const revoke = vmCheriRevokeStateInit();
  pmap.capLoadGenStale = (m) => vmCheriRevokeLoadGenStale(revoke, m);
  return { magic: VMSPACE_MAGIC, id, map, pmap, revoke };
}

/* vmspace_free: unmap everything, release the page tables, forget the id. */
export function vmspaceFree(vm: VmContext, vms: Vmspace): void {
  KASSERT(vms.magic === VMSPACE_MAGIC, () => 'vmspaceFree: bad vmspace');
  vmMapDelete(vm, vms.map, vms.map.minOffset, vms.map.maxOffset);
  pmapRelease(vms.pmap);
  vm.liveVmspaces.delete(vms.id);
  vms.magic = 0;
}

/* Give a NEEDS_COPY entry its own shadow now (before sharing it).  cf. vm_map_entry_shadow. */
function entryShadow(vm: VmContext, e: VmMapEntry): void {
  if (e.object === null) return;
  const pages = (e.end - e.start) / 4096;
  e.object = vmObjectShadow(vm, e.object, e.offset / 4096, pages);
  e.offset = 0;
  e.eflags &= ~MAP_ENTRY_NEEDS_COPY;
}

/* vmspace_fork; null when memory is exhausted (nothing is left half-built). */
export function vmspaceFork(vm: VmContext, vm1: Vmspace): Vmspace | null {
  const vm2 = vmspaceAlloc(vm);
  if (vm2 === null) return null;
  vmCheriRevokeStateForkInto(vm1.revoke, vm2.revoke); /* R43 [I] */
  for (const old of vm1.map.entries) {
    switch (old.inheritance) {
      case VM_INHERIT_NONE:
        break;
      case VM_INHERIT_SHARE: {
        /* same object, same frames; a pending COW gets its own shadow first */
        if (old.object === null) {
          old.object = vmObjectAllocateAnon(vm, (old.end - old.start) / 4096);
          old.offset = 0;
          old.eflags &= ~MAP_ENTRY_NEEDS_COPY;
        } else if (old.eflags & MAP_ENTRY_NEEDS_COPY) {
          entryShadow(vm, old);
        }
        const mask = forkCapMask(vm.policy, VM_INHERIT_SHARE, {
          kind: old.object.kind,
          shareCap: (old.object.flags & OBJ_SHARECAP) !== 0,
        });
        vmMapInsert(vm2.map, {
          ...old,
          object: vmObjectReference(old.object),
          protection: old.protection & mask,
          maxProtection: old.maxProtection & mask,
        });
        break;
      }
      case VM_INHERIT_COPY: {
        /* both sides copy-on-write over the old object; write-protect the parent */
        if (old.object === null) {
          vmMapInsert(vm2.map, { ...old });
          break;
        }
        const wasPrivate = (old.eflags & MAP_ENTRY_COW) !== 0;
        if (wasPrivate) {
          old.eflags |= MAP_ENTRY_NEEDS_COPY;
          pmapProtect(vm1.pmap, old.start, old.end, old.protection & ~(VM_PROT_WRITE | VM_PROT_WRITE_CAP));
        }
        vmMapInsert(vm2.map, {
          ...old,
          object: vmObjectReference(old.object),
          eflags: old.eflags | MAP_ENTRY_COW | MAP_ENTRY_NEEDS_COPY,
        });
        break;
      }
      case VM_INHERIT_ZERO:
        vmMapInsert(vm2.map, { ...old, object: null, offset: 0, eflags: MAP_ENTRY_COW });
        break;
      default:
        KASSERT(false, () => `vmspaceFork: bad inheritance ${old.inheritance}`);
    }
  }
  return vm2;
}
