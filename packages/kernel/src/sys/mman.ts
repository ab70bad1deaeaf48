/*
 * User ABI of mmap(2) and friends: sys/sys/mman.h (FreeBSD values unless noted).
 *
 * PROT_CAP / PROT_NO_CAP: CheriBSD's numeric values are NOT verified
 * (cheribsd-semantics.md R2).  FreeBSD head reserved two protection bits
 * (PROT_CHERI0/1, D50621) next to PROT_EXEC; we use those: PROT_CAP = 0x08,
 * PROT_NO_CAP = 0x10.  [assumed]  They fit under PROT_MAX(x) = x << 16.
 */
export const PROT_NONE = 0x00;
export const PROT_READ = 0x01;
export const PROT_WRITE = 0x02;
export const PROT_EXEC = 0x04;
export const PROT_CAP = 0x08; /* [assumed value] capability load/store explicitly requested */
export const PROT_NO_CAP = 0x10; /* [assumed value] no capability permissions at all */
export const _PROT_DATA = PROT_READ | PROT_WRITE | PROT_EXEC;
export const _PROT_ALL = _PROT_DATA | PROT_CAP | PROT_NO_CAP;

export function PROT_MAX(prot: number): number {
  return prot << 16;
}
export function PROT_EXTRACT(prot: number): number {
  return prot & _PROT_ALL;
}
export function PROT_MAX_EXTRACT(prot: number): number {
  return (prot >>> 16) & _PROT_ALL;
}

export const MAP_SHARED = 0x0001;
export const MAP_PRIVATE = 0x0002;
export const MAP_FIXED = 0x0010;
export const MAP_HASSEMAPHORE = 0x0200;
export const MAP_STACK = 0x0400;
export const MAP_NOSYNC = 0x0800;
export const MAP_FILE = 0x0000;
export const MAP_ANON = 0x1000;
export const MAP_ANONYMOUS = MAP_ANON;
export const MAP_GUARD = 0x2000;
export const MAP_EXCL = 0x4000;
export const MAP_NOCORE = 0x00020000;
export const MAP_PREFAULT_READ = 0x00040000;
/* Flags this simulator accepts (others give EINVAL). */
export const MAP_KNOWN_FLAGS =
  MAP_SHARED |
  MAP_PRIVATE |
  MAP_FIXED |
  MAP_HASSEMAPHORE |
  MAP_STACK |
  MAP_NOSYNC |
  MAP_ANON |
  MAP_EXCL |
  MAP_NOCORE |
  MAP_PREFAULT_READ;
export const MAP_FAILED = -1;

/* mincore(2) vector bits.  MINCORE_CAPSTORE is CheriBSD's; its value is [assumed]. */
export const MINCORE_INCORE = 0x1;
export const MINCORE_REFERENCED = 0x2;
export const MINCORE_MODIFIED = 0x4;
export const MINCORE_REFERENCED_OTHER = 0x8;
export const MINCORE_MODIFIED_OTHER = 0x10;
export const MINCORE_CAPSTORE = 0x80; /* [assumed value] page has held capabilities (R8) */

/* msync(2) */
export const MS_SYNC = 0x0000;
export const MS_ASYNC = 0x0001;
export const MS_INVALIDATE = 0x0002;
/* CheriBSD's forced pageout used by cheribsdtest_vm_swap (R11).  Value [assumed]. */
export const MS_PAGEOUT = 0x0008;

/* minherit(2) */
export const INHERIT_SHARE = 0;
export const INHERIT_COPY = 1;
export const INHERIT_NONE = 2;
export const INHERIT_ZERO = 3;

/* madvise(2) */
export const MADV_NORMAL = 0;
export const MADV_RANDOM = 1;
export const MADV_SEQUENTIAL = 2;
export const MADV_WILLNEED = 3;
export const MADV_DONTNEED = 4;
export const MADV_FREE = 5;
export const MADV_NOSYNC = 6;
export const MADV_AUTOSYNC = 7;
export const MADV_NOCORE = 8;
export const MADV_CORE = 9;
export const MADV_PROTECT = 10;

/* shm_open(2): SHM_ANON is `(char *)1` in C; here the number 1 in place of a path. */
export const SHM_ANON = 1;

/* memfd_create(2) */
export const MFD_CLOEXEC = 0x0001;
export const MFD_ALLOW_SEALING = 0x0002;
export const MFD_HUGETLB = 0x0004;
/* PR #2225: memfd_create passes O_SHARECAP through shm_open2.  Value [assumed]. */
export const MFD_SHARECAP = 0x0100;
