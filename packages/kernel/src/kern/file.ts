/*
 * Open files and per-process descriptor tables.  cf. FreeBSD sys/sys/file.h,
 * sys/sys/filedesc.h, kern_descrip.c.  A File is shared by every descriptor that
 * refers to it (dup, fork, SCM_RIGHTS) and is closed when its last reference goes.
 *
 * List of owners  (k) kernel only   (c) const after creation
 */
import { EBADF, EMFILE } from '../sys/errno.js';
import { KASSERT } from '../sys/kassert.js';
import type { Pipe } from './sys_pipe.js';
import type { ShmFd } from './uipc_shm.js';
import type { UnixSocket } from './uipc_usrreq.js';
import type { Vnode } from './vfs.js';

export const FILE_MAGIC = 0x66696c65; /* 'file' */
export const NOFILE = 256; /* descriptors per process */

export type FileType = 'vnode' | 'devzero' | 'shm' | 'pipe' | 'socket';

export interface File {
  magic: number;
  readonly type: FileType /* (c) */;
  flags: number /* (k) FREAD | FWRITE | O_APPEND | O_NONBLOCK */;
  offset: number /* (k) for seekable files */;
  refCount: number /* (k) descriptors + in-flight SCM_RIGHTS messages */;
  readonly vnode: Vnode | null /* (c) type 'vnode' */;
  readonly shm: ShmFd | null /* (c) type 'shm' */;
  readonly pipe: Pipe | null /* (c) type 'pipe' */;
  readonly pipeEnd: 'read' | 'write' | null /* (c) */;
  readonly socket: UnixSocket | null /* (c) type 'socket' */;
}

export interface FileDesc {
  readonly files: (File | null)[] /* (k) indexed by descriptor */;
  readonly cloexec: boolean[] /* (k) */;
}

/* What closes a file's underlying object; installed by the kernel (avoids import cycles). */
export interface FileOps {
  close(fp: File): void;
}

export function falloc(
  type: FileType,
  flags: number,
  parts: Partial<Pick<File, 'vnode' | 'shm' | 'pipe' | 'pipeEnd' | 'socket'>> = {},
): File {
  return {
    magic: FILE_MAGIC,
    type,
    flags,
    offset: 0,
    refCount: 1,
    vnode: parts.vnode ?? null,
    shm: parts.shm ?? null,
    pipe: parts.pipe ?? null,
    pipeEnd: parts.pipeEnd ?? null,
    socket: parts.socket ?? null,
  };
}

export function fhold(fp: File): File {
  KASSERT(fp.magic === FILE_MAGIC && fp.refCount > 0, () => 'fhold: dead file');
  fp.refCount++;
  return fp;
}

/* fdrop: release a reference; the last one closes the file. */
export function fdrop(ops: FileOps, fp: File): void {
  KASSERT(fp.magic === FILE_MAGIC && fp.refCount > 0, () => 'fdrop: dead file');
  if (--fp.refCount > 0) return;
  ops.close(fp);
  fp.magic = 0;
}

export function fdinit(): FileDesc {
  return { files: [], cloexec: [] };
}

/* The lowest free descriptor holding fp (the caller's reference moves in), or -EMFILE. */
export function fdalloc(fdp: FileDesc, fp: File, cloexec = false): number {
  let fd = fdp.files.indexOf(null);
  if (fd < 0) fd = fdp.files.length;
  if (fd >= NOFILE) return -EMFILE;
  fdp.files[fd] = fp;
  fdp.cloexec[fd] = cloexec;
  return fd;
}

export function fdFreeCount(fdp: FileDesc): number {
  return NOFILE - fdp.files.filter((f) => f !== null).length;
}

/* fget: the file behind fd, or null (EBADF). */
export function fget(fdp: FileDesc | null, fd: unknown): File | null {
  if (fdp === null || typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0 || fd >= fdp.files.length)
    return null;
  return fdp.files[fd] ?? null;
}

export function fdclose(ops: FileOps, fdp: FileDesc, fd: number): number {
  const fp = fget(fdp, fd);
  if (fp === null) return EBADF;
  fdp.files[fd] = null;
  fdp.cloexec[fd] = false;
  while (fdp.files.length > 0 && fdp.files[fdp.files.length - 1] === null) {
    fdp.files.pop();
    fdp.cloexec.pop();
  }
  fdrop(ops, fp);
  return 0;
}

/* fdcopy (fork): the child shares every open file. */
export function fdcopy(fdp: FileDesc): FileDesc {
  const files = fdp.files.map((fp) => (fp === null ? null : fhold(fp)));
  return { files, cloexec: [...fdp.cloexec] };
}

/* fdescfree (exit) */
export function fdescfree(ops: FileOps, fdp: FileDesc): void {
  for (let fd = fdp.files.length - 1; fd >= 0; fd--) if (fdp.files[fd] !== null) fdclose(ops, fdp, fd);
}
