/*
 * socketpair(2), sendmsg(2), recvmsg(2) for AF_UNIX stream and datagram sockets.
 * cf. FreeBSD uipc_syscalls.c / uipc_usrreq.c.  Payload bytes go through copyin/copyout
 * (tags never cross, R10); SCM_RIGHTS passes files (R13's channel for shm descriptors).
 */
import {
  EAFNOSUPPORT,
  EAGAIN,
  EBADF,
  EFAULT,
  EINVAL,
  EMFILE,
  EMSGSIZE,
  ENOBUFS,
  ENOTCONN,
  ENOTSOCK,
  EPIPE,
  EPROTONOSUPPORT,
  EPROTOTYPE,
  ERESTART,
} from '../sys/errno.js';
import { FREAD, FWRITE, O_NONBLOCK } from '../sys/fcntl.js';
import { SI_KERNEL, SIGPIPE } from '../sys/signal.js';
import {
  AF_UNIX,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_NOSIGNAL,
  MSG_TRUNC,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
} from '../sys/socket.js';
import { type File, falloc, fdalloc, fdFreeCount, fdrop, fget, fhold } from './file.js';
import { psignal, siginfo } from './kern_sig.js';
import type { Kernel } from './kernel.js';
import type { Thread } from './proc.js';
import { copyin, copyout, validUserRange } from './subr_uio.js';
import { UNIX_DGRAM_MAX, UNIX_STREAM_BUF, type UnixMsg, type UnixSocket, unixPair } from './uipc_usrreq.js';

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);
const MAX_IOV = 1024;
const MAX_RIGHTS = 253;

export interface IoVec {
  base: number;
  len: number;
}
export interface MsgHdr {
  iov: IoVec[];
  rights?: number[] /* SCM_RIGHTS descriptors (sendmsg) */;
}
export interface RecvResult {
  bytes: number;
  rights: number[] /* descriptors installed from SCM_RIGHTS */;
  flags: number /* MSG_TRUNC, MSG_CTRUNC */;
}

function checkIov(iov: unknown): IoVec[] | null {
  if (!Array.isArray(iov) || iov.length > MAX_IOV) return null;
  let total = 0;
  for (const v of iov) {
    if (typeof v !== 'object' || v === null) return null;
    const { base, len } = v as { base: unknown; len: unknown };
    if (!isInt(base) || !isInt(len) || len < 0 || !validUserRange(base, len)) return null;
    total += len;
  }
  return total <= 1 << 24 ? (iov as IoVec[]) : null;
}

/* socketpair(domain, type, protocol) -> [fd0, fd1] in td.retobj */
export function sysSocketpair(
  _k: Kernel,
  td: Thread,
  domain: unknown,
  type: unknown,
  protocol: unknown,
): number {
  if (!isInt(domain) || !isInt(type) || !isInt(protocol)) return EINVAL;
  if (domain !== AF_UNIX) return EAFNOSUPPORT;
  const base = type & ~(SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (base !== SOCK_STREAM && base !== SOCK_DGRAM) return EPROTOTYPE;
  if (protocol !== 0) return EPROTONOSUPPORT;
  const fdp = td.proc.fd!;
  if (fdFreeCount(fdp) < 2) return EMFILE;
  const [a, b] = unixPair(base === SOCK_STREAM ? 'stream' : 'dgram');
  const fl = FREAD | FWRITE | (type & SOCK_NONBLOCK ? O_NONBLOCK : 0);
  const cloexec = (type & SOCK_CLOEXEC) !== 0;
  const fa = fdalloc(fdp, falloc('socket', fl, { socket: a }), cloexec);
  const fb = fdalloc(fdp, falloc('socket', fl, { socket: b }), cloexec);
  td.retval = fa;
  td.retobj = [fa, fb];
  return 0;
}

/* Close one socket: the peer sees EOF; undelivered rights are released (unp_dispose). */
export function soClose(k: Kernel, so: UnixSocket): void {
  so.open = false;
  if (so.peer !== null) so.peer.peer = null;
  so.peer = null;
  for (const m of so.rcv.splice(0)) for (const fp of m.rights) fdrop(k.fileOps, fp);
  so.rcvBytes = 0;
}

/* The send half of write(2)/sendmsg(2). */
export function soSend(
  k: Kernel,
  td: Thread,
  fp: File,
  iovIn: unknown,
  rightsIn: unknown,
  flags: number,
): number {
  const so = fp.socket!;
  const iov = checkIov(iovIn);
  if (iov === null) return EFAULT;
  if (!Array.isArray(rightsIn) || rightsIn.length > MAX_RIGHTS) return EINVAL;
  const rights: File[] = [];
  for (const fd of rightsIn) {
    const f = fget(td.proc.fd, fd);
    if (f === null) return EBADF;
    rights.push(f);
  }
  const peer = so.peer;
  if (peer === null) {
    if (so.type === 'dgram') return ENOTCONN;
    if ((flags & MSG_NOSIGNAL) === 0) psignal(k, td.proc, SIGPIPE, siginfo(SIGPIPE, SI_KERNEL));
    return EPIPE;
  }
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const v of iov) {
    const d = copyin(k.vm, td.proc.vmspace!, v.base, v.len);
    if (typeof d === 'number') return d;
    parts.push(d);
    total += d.length;
  }
  let data = new Uint8Array(total);
  let off = 0;
  for (const d of parts) {
    data.set(d, off);
    off += d.length;
  }
  const nonblock = (fp.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
  if (so.type === 'dgram') {
    if (total > UNIX_DGRAM_MAX) return EMSGSIZE;
    if (peer.rcvBytes + total > UNIX_STREAM_BUF) return ENOBUFS;
  } else {
    const space = UNIX_STREAM_BUF - peer.rcvBytes;
    if (space <= 0 && total > 0) return nonblock ? EAGAIN : ERESTART;
    if (total > space) data = data.slice(0, space);
  }
  const msg: UnixMsg = { data, rights: rights.map(fhold) };
  peer.rcv.push(msg);
  peer.rcvBytes += data.length;
  td.retval = data.length;
  return 0;
}

/* The receive half of read(2)/recvmsg(2).  withRights=false disposes passed files (read(2)). */
export function soReceive(
  k: Kernel,
  td: Thread,
  fp: File,
  iovIn: unknown,
  flags: number,
  withRights: boolean,
): number {
  const so = fp.socket!;
  const iov = checkIov(iovIn);
  if (iov === null) return EFAULT;
  const want = iov.reduce((s, v) => s + v.len, 0);
  if (so.rcv.length === 0) {
    if (so.peer === null) {
      td.retval = 0;
      if (withRights) td.retobj = { bytes: 0, rights: [], flags: 0 } satisfies RecvResult;
      return 0;
    }
    return (fp.flags & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0 ? EAGAIN : ERESTART;
  }
  /* gather what this call returns without consuming it yet */
  let outFlags = 0;
  let data: Uint8Array;
  let used = 0; /* messages fully consumed */
  let partial = 0; /* bytes taken from the next message (stream) */
  if (so.type === 'dgram') {
    const m = so.rcv[0];
    data = m.data.subarray(0, Math.min(want, m.data.length));
    if (m.data.length > want) outFlags |= MSG_TRUNC;
    used = 1;
  } else {
    const chunks: Uint8Array[] = [];
    let got = 0;
    for (let i = 0; i < so.rcv.length && got < want; i++) {
      const m = so.rcv[i];
      if (i > 0 && m.rights.length > 0) break; /* rights start a new read */
      const take = Math.min(m.data.length, want - got);
      chunks.push(m.data.subarray(0, take));
      got += take;
      if (take === m.data.length) used++;
      else partial = take;
    }
    data = new Uint8Array(got);
    let o = 0;
    for (const c of chunks) {
      data.set(c, o);
      o += c.length;
    }
  }
  let o = 0;
  for (const v of iov) {
    if (o >= data.length) break;
    const n = Math.min(v.len, data.length - o);
    const e = copyout(k.vm, td.proc.vmspace!, v.base, data.subarray(o, o + n));
    if (e !== 0) return e;
    o += n;
  }
  /* consume */
  const rightsFiles: File[] = [];
  const first = so.rcv[0];
  const firstRights = first.rights;
  first.rights = [];
  rightsFiles.push(...firstRights);
  for (let i = 0; i < used; i++) {
    const m = so.rcv.shift()!;
    so.rcvBytes -= m.data.length;
    for (const f of m.rights) rightsFiles.push(f);
  }
  if (partial > 0) {
    const m = so.rcv[0];
    m.data = m.data.subarray(partial);
    so.rcvBytes -= partial;
  }
  const fds: number[] = [];
  for (const f of rightsFiles) {
    if (!withRights) {
      fdrop(k.fileOps, f);
      continue;
    }
    const fd = fdalloc(td.proc.fd!, f);
    if (fd < 0) {
      fdrop(k.fileOps, f);
      outFlags |= MSG_CTRUNC;
    } else fds.push(fd);
  }
  td.retval = data.length;
  /* recvmsg answers a RecvResult; read(2) on a socket answers only the byte count */
  if (withRights) td.retobj = { bytes: data.length, rights: fds, flags: outFlags } satisfies RecvResult;
  return 0;
}

function sockFile(td: Thread, fd: unknown): File | number {
  const fp = fget(td.proc.fd, fd);
  if (fp === null) return EBADF;
  if (fp.type !== 'socket') return ENOTSOCK;
  return fp;
}

/* sendmsg(fd, {iov, rights}, flags) -> bytes sent */
export function sysSendmsg(k: Kernel, td: Thread, fd: unknown, msg: unknown, flags: unknown): number {
  const fp = sockFile(td, fd);
  if (typeof fp === 'number') return fp;
  if (!isInt(flags) || (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL)) !== 0) return EINVAL;
  if (typeof msg !== 'object' || msg === null) return EFAULT;
  const m = msg as Partial<MsgHdr>;
  return soSend(k, td, fp, m.iov, m.rights ?? [], flags);
}

/* recvmsg(fd, {iov}, flags) -> bytes; td.retobj = RecvResult */
export function sysRecvmsg(k: Kernel, td: Thread, fd: unknown, msg: unknown, flags: unknown): number {
  const fp = sockFile(td, fd);
  if (typeof fp === 'number') return fp;
  if (!isInt(flags) || (flags & ~MSG_DONTWAIT) !== 0) return EINVAL;
  if (typeof msg !== 'object' || msg === null) return EFAULT;
  return soReceive(k, td, fp, (msg as Partial<MsgHdr>).iov, flags, true);
}
