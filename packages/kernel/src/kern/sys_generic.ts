/*
 * open/close/read/write/lseek/unlink/ftruncate/pipe.  cf. FreeBSD vfs_syscalls.c,
 * sys_generic.c, sys_pipe.c.  Every transfer is a byte copy through copyin/copyout:
 * read(2) returns untagged bytes and write(2) stores untagged bytes (R9, R10).
 */
import {
  EAGAIN,
  EBADF,
  EEXIST,
  EFAULT,
  EINVAL,
  EISDIR,
  EMFILE,
  ENAMETOOLONG,
  ENOENT,
  ENOTDIR,
  EPERM,
  EPIPE,
  ERESTART,
  ESPIPE,
} from '../sys/errno.js';
import {
  FREAD,
  FWRITE,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NONBLOCK,
  O_RDONLY,
  O_TRUNC,
  O_WRONLY,
  PATH_MAX,
  SEEK_CUR,
  SEEK_END,
  SEEK_SET,
} from '../sys/fcntl.js';
import { SI_KERNEL, SIGPIPE } from '../sys/signal.js';
import { PAGE_SIZE } from '../vm/machine_if.js';
import { type File, falloc, fdalloc, fdclose, fdFreeCount, fdrop, fget } from './file.js';
import { psignal, siginfo } from './kern_sig.js';
import type { Kernel } from './kernel.js';
import type { Thread } from './proc.js';
import {
  copyin,
  copyout,
  objectTruncate,
  uiomoveObjectRead,
  uiomoveObjectWrite,
  validUserRange,
} from './subr_uio.js';
import { byteQueueTake, pipeCreate, pipeSpace } from './sys_pipe.js';
import { shmTruncate } from './uipc_shm.js';
import { soReceive, soSend } from './uipc_syscalls.js';
import { DEV_ZERO } from './vfs.js';

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const MAX_IO = 1 << 24;

function checkPath(path: unknown): number {
  if (typeof path !== 'string' || path.length === 0) return ENOENT;
  if (path.length >= PATH_MAX) return ENAMETOOLONG;
  if (path[0] !== '/' || path.endsWith('/')) return ENOENT;
  return 0;
}

const OPEN_FLAGS = O_ACCMODE | O_NONBLOCK | O_APPEND | O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC | O_DIRECTORY;

/* open(path, flags, mode) -> fd */
export function sysOpen(k: Kernel, td: Thread, path: unknown, flags: unknown, mode: unknown): number {
  if (!isInt(flags) || (flags & ~OPEN_FLAGS) !== 0 || (flags & O_ACCMODE) === O_ACCMODE) return EINVAL;
  if (mode !== undefined && (!isInt(mode) || mode < 0 || mode > 0o7777)) return EINVAL;
  const perr = checkPath(path);
  if (perr !== 0) return perr;
  const name = path as string;
  if (fdFreeCount(td.proc.fd!) === 0) return EMFILE;
  const acc = flags & O_ACCMODE;
  const fflags =
    (acc === O_RDONLY ? FREAD : acc === O_WRONLY ? FWRITE : FREAD | FWRITE) |
    (flags & (O_APPEND | O_NONBLOCK));
  let vp = k.fs.lookup(name);
  if (vp === undefined) {
    if ((flags & O_CREAT) === 0) return ENOENT;
    if ((flags & O_DIRECTORY) !== 0) return ENOENT;
    vp = k.fs.create(k.vm, name);
    k.fs.vref(vp);
  } else {
    if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) return EEXIST;
    if ((flags & O_DIRECTORY) !== 0) return ENOTDIR;
    k.fs.vref(vp);
    if ((flags & O_TRUNC) !== 0 && fflags & FWRITE && vp.object !== null) {
      objectTruncate(k.vm, vp.object, 0);
      vp.size = 0;
    }
  }
  const fp = falloc(name === DEV_ZERO ? 'devzero' : 'vnode', fflags, { vnode: vp });
  const fd = fdalloc(td.proc.fd!, fp, (flags & O_CLOEXEC) !== 0);
  if (fd < 0) {
    fdrop(k.fileOps, fp);
    return -fd;
  }
  td.retval = fd;
  return 0;
}

export function sysClose(k: Kernel, td: Thread, fd: unknown): number {
  if (!isInt(fd)) return EBADF;
  return fdclose(k.fileOps, td.proc.fd!, fd);
}

/* unlink(path) */
export function sysUnlink(k: Kernel, _td: Thread, path: unknown): number {
  const perr = checkPath(path);
  if (perr !== 0) return perr;
  if (path === DEV_ZERO) return EPERM;
  if (k.fs.lookup(path as string) === undefined) return ENOENT;
  k.fs.unlink(k.vm, path as string);
  return 0;
}

function wouldBlock(fp: File): number {
  return fp.flags & O_NONBLOCK ? EAGAIN : ERESTART;
}

/* read(fd, buf, nbytes) -> bytes read */
export function sysRead(k: Kernel, td: Thread, fd: unknown, buf: unknown, nbytes: unknown): number {
  const fp = fget(td.proc.fd, fd);
  if (fp === null || (fp.flags & FREAD) === 0) return EBADF;
  if (!isInt(nbytes) || nbytes < 0 || nbytes > MAX_IO) return EINVAL;
  if (!validUserRange(buf, nbytes)) return EFAULT;
  const vms = td.proc.vmspace!;
  const va = buf as number;
  let data: Uint8Array;
  switch (fp.type) {
    case 'devzero':
      data = new Uint8Array(nbytes);
      break;
    case 'vnode':
    case 'shm': {
      const obj = fp.type === 'vnode' ? fp.vnode!.object! : fp.shm!.object;
      const size = fp.type === 'vnode' ? fp.vnode!.size : fp.shm!.size;
      const n = Math.max(0, Math.min(nbytes, size - fp.offset));
      data = uiomoveObjectRead(k.vm, obj, fp.offset, n);
      const e = copyout(k.vm, vms, va, data);
      if (e !== 0) return e;
      fp.offset += n;
      td.retval = n;
      return 0;
    }
    case 'pipe': {
      const pipe = fp.pipe!;
      if (pipe.count === 0) {
        if (!pipe.writerOpen) {
          td.retval = 0;
          return 0;
        }
        return wouldBlock(fp);
      }
      const take = byteQueueTake(pipe, nbytes);
      const e = copyout(k.vm, vms, va, take);
      if (e !== 0) {
        pipe.chunks.unshift(take);
        pipe.count += take.length;
        return e;
      }
      td.retval = take.length;
      return 0;
    }
    case 'socket':
      return soReceive(k, td, fp, [{ base: va, len: nbytes }], 0, false);
  }
  const e = copyout(k.vm, vms, va, data);
  if (e !== 0) return e;
  td.retval = data.length;
  return 0;
}

/* write(fd, buf, nbytes) -> bytes written */
export function sysWrite(k: Kernel, td: Thread, fd: unknown, buf: unknown, nbytes: unknown): number {
  const fp = fget(td.proc.fd, fd);
  if (fp === null || (fp.flags & FWRITE) === 0) return EBADF;
  if (!isInt(nbytes) || nbytes < 0 || nbytes > MAX_IO) return EINVAL;
  const vms = td.proc.vmspace!;
  if (fp.type === 'socket') return soSend(k, td, fp, [{ base: buf as number, len: nbytes }], [], 0);
  const data = copyin(k.vm, vms, buf as number, nbytes);
  if (typeof data === 'number') return data;
  switch (fp.type) {
    case 'devzero':
      break;
    case 'vnode':
    case 'shm': {
      const holder = fp.type === 'vnode' ? fp.vnode! : fp.shm!;
      const obj = fp.type === 'vnode' ? fp.vnode!.object! : fp.shm!.object;
      const off = fp.flags & O_APPEND ? holder.size : fp.offset;
      if (off + data.length > 2 ** 40) return EINVAL;
      const e = uiomoveObjectWrite(k.vm, obj, off, data);
      if (e !== 0) return e;
      if (off + data.length > holder.size) {
        holder.size = off + data.length;
        obj.size = Math.max(obj.size, Math.ceil(holder.size / PAGE_SIZE));
      }
      fp.offset = off + data.length;
      break;
    }
    case 'pipe': {
      const pipe = fp.pipe!;
      if (!pipe.readerOpen) {
        psignal(k, td.proc, SIGPIPE, siginfo(SIGPIPE, SI_KERNEL));
        return EPIPE;
      }
      const space = pipeSpace(pipe);
      if (data.length > 0 && space === 0) return wouldBlock(fp);
      const n = Math.min(space, data.length);
      if (n > 0) {
        pipe.chunks.push(data.slice(0, n));
        pipe.count += n;
      }
      td.retval = n;
      return 0;
    }
  }
  td.retval = data.length;
  return 0;
}

/* lseek(fd, offset, whence) -> new offset */
export function sysLseek(_k: Kernel, td: Thread, fd: unknown, offset: unknown, whence: unknown): number {
  const fp = fget(td.proc.fd, fd);
  if (fp === null) return EBADF;
  if (fp.type === 'pipe' || fp.type === 'socket') return ESPIPE;
  if (!isInt(offset) || !isInt(whence)) return EINVAL;
  const size = fp.type === 'vnode' ? fp.vnode!.size : fp.type === 'shm' ? fp.shm!.size : 0;
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = fp.offset;
  else if (whence === SEEK_END) base = size;
  else return EINVAL;
  const off = base + offset;
  if (off < 0 || off > Number.MAX_SAFE_INTEGER) return EINVAL;
  fp.offset = fp.type === 'devzero' ? 0 : off;
  td.retval = fp.offset;
  return 0;
}

/* ftruncate(fd, length) */
export function sysFtruncate(k: Kernel, td: Thread, fd: unknown, length: unknown): number {
  const fp = fget(td.proc.fd, fd);
  if (fp === null) return EBADF;
  if (!isInt(length) || length < 0) return EINVAL;
  if ((fp.flags & FWRITE) === 0) return EINVAL;
  if (fp.type === 'shm') return shmTruncate(k, fp.shm!, length);
  if (fp.type === 'vnode') {
    if (length > 2 ** 40) return EINVAL;
    objectTruncate(k.vm, fp.vnode!.object!, length);
    fp.vnode!.size = length;
    return 0;
  }
  return fp.type === 'devzero' ? EISDIR : EINVAL;
}

/* pipe() -> [read fd, write fd] in td.retobj */
export function sysPipe(_k: Kernel, td: Thread): number {
  const fdp = td.proc.fd!;
  if (fdFreeCount(fdp) < 2) return EMFILE;
  const pipe = pipeCreate();
  const r = fdalloc(fdp, falloc('pipe', FREAD, { pipe, pipeEnd: 'read' }));
  const w = fdalloc(fdp, falloc('pipe', FWRITE, { pipe, pipeEnd: 'write' }));
  td.retval = r;
  td.retobj = [r, w];
  return 0;
}
