/*
 * System V shared memory: shmget(2), shmat(2), shmdt(2), shmctl(IPC_RMID).
 * cf. FreeBSD sys/kern/sysv_shm.c.  Segments are MAP_SHARED mappings of kind 'sysv':
 * no capability permissions in DEV/STRICT (PR #741, M13), OBJ_SHARECAP under PR #2225 (R26).
 *
 * List of owners  (k) kernel only   (c) const after creation
 */
import { EACCES, EEXIST, EINVAL, ENOENT, ENOMEM, ENOSPC } from '../sys/errno.js';
import {
  IPC_CREAT,
  IPC_EXCL,
  IPC_PRIVATE,
  IPC_RMID,
  SHM_RDONLY,
  SHM_RND,
  SHMMAX,
  SHMMIN,
} from '../sys/ipc.js';
import { PROT_READ, PROT_WRITE } from '../sys/mman.js';
import { PAGE_SIZE } from '../vm/machine_if.js';
import { KERN_SUCCESS, VM_INHERIT_SHARE } from '../vm/vm.js';
import { vmMapDelete, vmMapLookupEntry } from '../vm/vm_map.js';
import { vmMmapInsert, vmMmapToErrno } from '../vm/vm_mmap.js';
import {
  OBJ_HASCAP,
  OBJ_SHARECAP,
  type VmObject,
  vmObjectAllocate,
  vmObjectDeallocate,
  vmObjectReference,
} from '../vm/vm_object.js';
import type { Kernel } from './kernel.js';
import { mmapCapDecision, sysvShareCap } from './policy.js';
import type { Proc, Thread } from './proc.js';

export interface SysvSeg {
  readonly id: number /* (c) shmid */;
  readonly key: number /* (c) */;
  readonly size: number /* (c) bytes */;
  readonly object: VmObject /* (c) */;
  nattch: number /* (k) */;
  removed: boolean /* (k) IPC_RMID done: freed at the last detach */;
}

export class SysvRegistry {
  readonly segs = new Map<number, SysvSeg>();
  readonly byKey = new Map<number, SysvSeg>();
  nextId = 1;
}

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

function segFree(k: Kernel, seg: SysvSeg): void {
  k.sysv.segs.delete(seg.id);
  if (k.sysv.byKey.get(seg.key) === seg) k.sysv.byKey.delete(seg.key);
  vmObjectDeallocate(k.vm, seg.object);
}

/* shmget(key, size, flags) -> shmid */
export function sysShmget(k: Kernel, td: Thread, key: unknown, size: unknown, flags: unknown): number {
  if (!isInt(key) || !isInt(size) || !isInt(flags) || size < 0) return EINVAL;
  if ((flags & ~(IPC_CREAT | IPC_EXCL | 0o777)) !== 0) return EINVAL;
  if (key !== IPC_PRIVATE) {
    const seg = k.sysv.byKey.get(key);
    if (seg !== undefined) {
      if ((flags & (IPC_CREAT | IPC_EXCL)) === (IPC_CREAT | IPC_EXCL)) return EEXIST;
      if (size > seg.size) return EINVAL;
      td.retval = seg.id;
      return 0;
    }
    if ((flags & IPC_CREAT) === 0) return ENOENT;
  }
  if (size < SHMMIN || size > SHMMAX) return EINVAL;
  if (k.sysv.segs.size >= 192) return ENOSPC;
  const pages = Math.ceil(size / PAGE_SIZE);
  const obj = vmObjectAllocate(k.vm, 'sysv', pages, OBJ_HASCAP | (sysvShareCap(k.policy) ? OBJ_SHARECAP : 0));
  const seg: SysvSeg = { id: k.sysv.nextId++, key, size, object: obj, nattch: 0, removed: false };
  k.sysv.segs.set(seg.id, seg);
  if (key !== IPC_PRIVATE) k.sysv.byKey.set(key, seg);
  td.retval = seg.id;
  return 0;
}

/* shmat(shmid, addr, flags) -> address */
export function sysShmat(k: Kernel, td: Thread, shmid: unknown, addr: unknown, flags: unknown): number {
  if (!isInt(shmid) || !isInt(addr) || !isInt(flags) || addr < 0) return EINVAL;
  if ((flags & ~(SHM_RDONLY | SHM_RND)) !== 0) return EINVAL;
  const seg = k.sysv.segs.get(shmid);
  if (seg === undefined || seg.removed) return EINVAL;
  let hint = addr;
  if (hint !== 0) {
    if ((flags & SHM_RND) !== 0) hint -= hint % PAGE_SIZE;
    else if (hint % PAGE_SIZE !== 0) return EINVAL;
  }
  const prot = (flags & SHM_RDONLY) !== 0 ? PROT_READ : PROT_READ | PROT_WRITE;
  const d = mmapCapDecision(k.policy, {
    kind: 'sysv',
    shared: true,
    prot,
    objShareCap: (seg.object.flags & OBJ_SHARECAP) !== 0,
    owner: 'unbound',
  });
  if (d.error !== 0) return d.error === EACCES ? EACCES : EINVAL;
  const size = seg.object.size * PAGE_SIZE;
  const { rv, addr: where } = vmMmapInsert(k, td.proc.vmspace!, {
    fixed: hint !== 0,
    excl: false,
    hint,
    size,
    object: vmObjectReference(seg.object),
    offset: 0,
    protection: d.protection,
    maxProtection: d.maxProtection,
    inheritance: VM_INHERIT_SHARE,
    eflags: 0,
  });
  if (rv !== KERN_SUCCESS) {
    vmObjectDeallocate(k.vm, seg.object);
    return vmMmapToErrno(rv) === ENOMEM ? ENOMEM : EINVAL;
  }
  seg.nattch++;
  td.proc.sysvAttach.set(where, seg);
  td.retval = where;
  return 0;
}

/* Detach one attachment (shmdt, exit).  [ internal use only ] */
export function sysvDetach(k: Kernel, p: Proc, addr: number, unmap: boolean): void {
  const seg = p.sysvAttach.get(addr)!;
  p.sysvAttach.delete(addr);
  if (unmap) {
    const e = vmMapLookupEntry(p.vmspace!.map, addr);
    if (e !== null && e.object === seg.object)
      vmMapDelete(k.vm, p.vmspace!.map, addr, addr + seg.object.size * PAGE_SIZE);
  }
  seg.nattch--;
  if (seg.removed && seg.nattch === 0) segFree(k, seg);
}

/* shmdt(addr) */
export function sysShmdt(k: Kernel, td: Thread, addr: unknown): number {
  if (!isInt(addr) || !td.proc.sysvAttach.has(addr)) return EINVAL;
  sysvDetach(k, td.proc, addr, true);
  return 0;
}

/* shmctl(shmid, IPC_RMID) (the only command modelled) */
export function sysShmctl(k: Kernel, _td: Thread, shmid: unknown, cmd: unknown): number {
  if (!isInt(shmid) || !isInt(cmd)) return EINVAL;
  const seg = k.sysv.segs.get(shmid);
  if (seg === undefined || seg.removed) return EINVAL;
  if (cmd !== IPC_RMID) return EINVAL;
  seg.removed = true;
  if (k.sysv.byKey.get(seg.key) === seg) k.sysv.byKey.delete(seg.key);
  if (seg.nattch === 0) segFree(k, seg);
  return 0;
}

/* fork: the child shares every attachment (shmfork). */
export function sysvFork(parent: Proc, child: Proc): void {
  for (const [addr, seg] of parent.sysvAttach) {
    child.sysvAttach.set(addr, seg);
    seg.nattch++;
  }
}
