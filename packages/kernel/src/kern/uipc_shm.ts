/*
 * POSIX shared memory: shm_open(2) (named and SHM_ANON), shm_unlink(2), memfd_create(2).
 * cf. FreeBSD sys/kern/uipc_shm.c (shm_open2).  The object is OBJ_HASCAP; under PR #2225 it
 * is bound to the first vmspace that opens it (R22) and O_SHARECAP / MFD_SHARECAP set
 * OBJ_SHARECAP (R24).  Flags are checked against the policy's allow-list.
 *
 * List of owners  (k) kernel only   (c) const after creation
 */
import { EACCES, EEXIST, EINVAL, ENAMETOOLONG, ENFILE, ENOENT, ENOMEM } from '../sys/errno.js';
import {
  FREAD,
  FWRITE,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_RDWR,
  O_SHARECAP,
  O_TRUNC,
  PATH_MAX,
} from '../sys/fcntl.js';
import { KASSERT } from '../sys/kassert.js';
import { MFD_CLOEXEC, MFD_SHARECAP, SHM_ANON } from '../sys/mman.js';
import { PAGE_SIZE } from '../vm/machine_if.js';
import {
  OBJ_HASCAP,
  OBJ_SHARECAP,
  type VmObject,
  vmObjectAllocate,
  vmObjectDeallocate,
} from '../vm/vm_object.js';
import { type File, falloc, fdalloc, fdrop } from './file.js';
import type { Kernel } from './kernel.js';
import {
  memfdFlagsCheck,
  type OwnerRelation,
  ownerRelation,
  shareCapFlagHonoured,
  shmOpenFlagsCheck,
  shmOwnerAfterOpen,
} from './policy.js';
import type { Thread } from './proc.js';
import { objectTruncate } from './subr_uio.js';

export const SHMFD_MAGIC = 0x73686d66; /* 'shmf' */

export interface ShmFd {
  magic: number;
  readonly object: VmObject /* (c) kind 'shm' or 'memfd' */;
  size: number /* (k) bytes */;
  path: string | null /* (k) null for SHM_ANON / memfd or once unlinked */;
  refCount: number /* (k) the name + open files */;
  pageSize: number /* (k) PAGE_SIZE, or the large page size of shm_create_largepage (M12) */;
}

function shmAlloc(k: Kernel, kind: 'shm' | 'memfd', shareCap: boolean): ShmFd {
  const obj = vmObjectAllocate(k.vm, kind, 0, OBJ_HASCAP | (shareCap ? OBJ_SHARECAP : 0));
  const shm: ShmFd = {
    magic: SHMFD_MAGIC,
    object: obj,
    size: 0,
    path: null,
    refCount: 1,
    pageSize: PAGE_SIZE,
  };
  k.shmObjects.add(shm);
  return shm;
}

export function shmHold(shm: ShmFd): ShmFd {
  KASSERT(shm.magic === SHMFD_MAGIC && shm.refCount > 0, () => 'shmHold: dead shm');
  shm.refCount++;
  return shm;
}

export function shmDrop(k: Kernel, shm: ShmFd): void {
  KASSERT(shm.magic === SHMFD_MAGIC && shm.refCount > 0, () => 'shmDrop: dead shm');
  if (--shm.refCount > 0) return;
  vmObjectDeallocate(k.vm, shm.object);
  shm.magic = 0;
  k.shmObjects.delete(shm);
}

/* The caller's relation to the object's owner (R22), re-binding an orphan if the policy says so. */
export function shmOwnerOnAccess(k: Kernel, obj: VmObject, vmspaceId: number): OwnerRelation {
  const alive = k.vm.liveVmspaces.has(obj.owner);
  obj.owner = shmOwnerAfterOpen(k.policy, { owner: obj.owner, ownerAlive: alive }, vmspaceId, false);
  return ownerRelation(
    k.policy,
    { owner: obj.owner, ownerAlive: k.vm.liveVmspaces.has(obj.owner) },
    vmspaceId,
  );
}

function checkPath(path: unknown): number {
  if (typeof path !== 'string' || path.length === 0 || path[0] !== '/') return EINVAL;
  if (path.length >= PATH_MAX) return ENAMETOOLONG;
  return 0;
}

function installShm(td: Thread, shm: ShmFd, flags: number, cloexec: boolean, k: Kernel): number {
  const fp = falloc('shm', (flags & O_ACCMODE) === O_RDWR ? FREAD | FWRITE : FREAD, { shm });
  const fd = fdalloc(td.proc.fd!, fp, cloexec);
  if (fd < 0) {
    fdrop(k.fileOps, fp);
    return -fd;
  }
  td.retval = fd;
  return 0;
}

/* shm_open(path | SHM_ANON, flags, mode) -> fd */
export function sysShmOpen(k: Kernel, td: Thread, path: unknown, flags: unknown, mode: unknown): number {
  if (
    typeof flags !== 'number' ||
    typeof mode !== 'number' ||
    !Number.isInteger(mode) ||
    mode < 0 ||
    mode > 0o7777
  )
    return EINVAL;
  const anon = path === SHM_ANON;
  const chk = shmOpenFlagsCheck(k.policy, flags, anon);
  if (chk.error !== 0) return k.syserr(td, chk.error, chk.why);
  const vms = td.proc.vmspace!;
  const shareCap = (flags & O_SHARECAP) !== 0 && shareCapFlagHonoured(k.policy);
  if (k.shmObjects.size >= 4096) return ENFILE;
  if (anon) {
    const shm = shmAlloc(k, 'shm', shareCap);
    shm.object.owner = shmOwnerAfterOpen(k.policy, { owner: 0, ownerAlive: false }, vms.id, true);
    const e = installShm(td, shm, flags, (flags & O_CLOEXEC) !== 0, k);
    if (e !== 0) return e;
    return 0;
  }
  const perr = checkPath(path);
  if (perr !== 0) return perr;
  const name = path as string;
  let shm = k.shmNames.get(name);
  if (shm === undefined) {
    if ((flags & O_CREAT) === 0) return ENOENT;
    shm = shmAlloc(k, 'shm', shareCap);
    shm.path = name;
    shm.object.owner = shmOwnerAfterOpen(k.policy, { owner: 0, ownerAlive: false }, vms.id, true);
    k.shmNames.set(name, shm); /* the name's reference */
  } else {
    if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return EEXIST;
    if ((flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== O_RDWR) return EACCES;
    shmOwnerOnAccess(k, shm.object, vms.id);
  }
  if ((flags & O_TRUNC) !== 0) {
    objectTruncate(k.vm, shm.object, 0);
    shm.size = 0;
  }
  return installShm(td, shmHold(shm), flags, (flags & O_CLOEXEC) !== 0, k);
}

/* shm_unlink(path) */
export function sysShmUnlink(k: Kernel, _td: Thread, path: unknown): number {
  const perr = checkPath(path);
  if (perr !== 0) return perr;
  const shm = k.shmNames.get(path as string);
  if (shm === undefined) return ENOENT;
  k.shmNames.delete(path as string);
  shm.path = null;
  shmDrop(k, shm);
  return 0;
}

/* memfd_create(name, flags) -> fd: an anonymous shm object (kind memfd). */
export function sysMemfdCreate(k: Kernel, td: Thread, name: unknown, flags: unknown): number {
  if (typeof name !== 'string' || name.length > 249 || name.includes('/')) return EINVAL;
  const chk = memfdFlagsCheck(k.policy, flags as number);
  if (chk.error !== 0) return k.syserr(td, chk.error, chk.why);
  const f = flags as number;
  const shm = shmAlloc(k, 'memfd', (f & MFD_SHARECAP) !== 0 && shareCapFlagHonoured(k.policy));
  shm.object.owner = shmOwnerAfterOpen(k.policy, { owner: 0, ownerAlive: false }, td.proc.vmspace!.id, true);
  return installShm(td, shm, O_RDWR, (f & MFD_CLOEXEC) !== 0, k);
}

/*
 * Large page sizes by psind, as FreeBSD amd64's pagesizes[] (4 KiB, 2 MiB, 1 GiB).  The
 * simulated object is still backed by 4 KiB frames: the large page size only governs the
 * object's size and mapping granularity, which is what CheriBSD's test observes (M12).
 */
export const SHM_LARGEPAGE_SIZES = [PAGE_SIZE, 2 * 1024 * 1024, 1024 * 1024 * 1024] as const;

/* shm_create_largepage(path | SHM_ANON, flags, psind, alloc_policy, mode) -> fd */
export function sysShmCreateLargepage(
  k: Kernel,
  td: Thread,
  path: unknown,
  flags: unknown,
  psind: unknown,
  allocPolicy: unknown,
  mode: unknown,
): number {
  if (
    typeof psind !== 'number' ||
    !Number.isInteger(psind) ||
    psind < 1 ||
    psind >= SHM_LARGEPAGE_SIZES.length
  )
    return k.syserr(td, EINVAL, 'no such large page size index');
  if (allocPolicy !== 0 && allocPolicy !== 1) return k.syserr(td, EINVAL, 'unknown allocation policy');
  if (typeof flags !== 'number' || (flags & O_CREAT) === 0)
    return k.syserr(td, EINVAL, 'O_CREAT is required');
  const e = sysShmOpen(k, td, path, flags, mode);
  if (e !== 0) return e;
  const shm = td.proc.fd!.files[td.retval]!.shm!;
  if (shm.size !== 0 && shm.pageSize !== SHM_LARGEPAGE_SIZES[psind])
    return k.syserr(td, EINVAL, 'exists with another page size');
  shm.pageSize = SHM_LARGEPAGE_SIZES[psind];
  return 0;
}

/* ftruncate on an shm object (a large-page object only in whole large pages) */
export function shmTruncate(k: Kernel, shm: ShmFd, length: number): number {
  if (length > 2 ** 40) return ENOMEM;
  if (length % shm.pageSize !== 0) return EINVAL;
  objectTruncate(k.vm, shm.object, length);
  shm.size = length;
  return 0;
}

export function isShmFile(fp: File): boolean {
  return fp.type === 'shm' && fp.shm !== null;
}
