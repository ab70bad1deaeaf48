/*
 * errno values at the system-call ABI.  FreeBSD numbering (sys/sys/errno.h);
 * CheriBSD adds EPROT = 98 ("capability protection violation").
 * ERESTART is kernel-internal (-1): "would block; park the thread and retry".
 */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  ENOEXEC: 8,
  EBADF: 9,
  ECHILD: 10,
  EDEADLK: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  ENOTTY: 25,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  EAGAIN: 35,
  ENOTSOCK: 38,
  EMSGSIZE: 40,
  EPROTOTYPE: 41,
  EPROTONOSUPPORT: 43,
  EOPNOTSUPP: 45,
  EAFNOSUPPORT: 47,
  ECONNRESET: 54,
  ENOBUFS: 55,
  EISCONN: 56,
  ENOTCONN: 57,
  ETOOMANYREFS: 59,
  ENAMETOOLONG: 63,
  ENOSYS: 78,
  EOVERFLOW: 84,
  EPROT: 98,
} as const;

export type ErrnoName = keyof typeof ERRNO;

export const {
  EPERM,
  ENOENT,
  ESRCH,
  EINTR,
  EIO,
  ENXIO,
  EBADF,
  ECHILD,
  ENOMEM,
  EACCES,
  EFAULT,
  EBUSY,
  EEXIST,
  ENODEV,
  ENOTDIR,
  EISDIR,
  EINVAL,
  ENFILE,
  EMFILE,
  ENOTTY,
  EFBIG,
  ENOSPC,
  ESPIPE,
  EPIPE,
  ERANGE,
  EAGAIN,
  ENOTSOCK,
  EMSGSIZE,
  EPROTOTYPE,
  EPROTONOSUPPORT,
  EOPNOTSUPP,
  EAFNOSUPPORT,
  ECONNRESET,
  ENOBUFS,
  EISCONN,
  ENOTCONN,
  ETOOMANYREFS,
  ENAMETOOLONG,
  ENOSYS,
  EOVERFLOW,
  EPROT,
} = ERRNO;

/* FreeBSD: ENOTSUP is EOPNOTSUPP; EWOULDBLOCK is EAGAIN. */
export const ENOTSUP = EOPNOTSUPP;
export const EWOULDBLOCK = EAGAIN;

/* Kernel-internal pseudo errnos (never returned to a guest). */
export const ERESTART = -1; /* the call would block: the transport parks the thread and retries */

const NAMES = new Map<number, ErrnoName>();
for (const [name, value] of Object.entries(ERRNO)) NAMES.set(value, name as ErrnoName);

/* errno number -> name ('EINVAL'); unknown numbers map to their decimal string. */
export function errnoName(errno: number): ErrnoName | `E${number}` {
  return NAMES.get(errno) ?? `E${errno}`;
}
