/*
 * The system-call table (sysent) and the host-side handle that turns errnos into
 * SysError.  Every entry validates its own arguments: any JS value may arrive here
 * and the answer is an errno, never a host exception.
 */
import { EAGAIN, ENOSYS, ERESTART, ESRCH } from '../sys/errno.js';
import type { CheriRevokeShadowSlice, CheriRevokeSyscallInfo } from '../sys/revoke.js';
import type { Siginfo } from '../sys/signal.js';
import { SysError } from '../sys/sys_error.js';
import type { CapBits, GuestCpu } from '../vm/machine_if.js';
import {
  sysMadvise,
  sysMincore,
  sysMinherit,
  sysMmap,
  sysMprotect,
  sysMsync,
  sysMunmap,
} from '../vm/vm_mmap.js';
import { sysCheriRevoke, sysCheriRevokeGetShadow } from './kern_cheri_revoke.js';
import { sysExit, sysFork, sysGetpid, sysGetppid, sysWaitpid, type WaitResult } from './kern_proc.js';
import { sysKill, sysSigaction } from './kern_sig.js';
import type { Kernel } from './kernel.js';
import type { Proc, SigHandler, Thread } from './proc.js';
import {
  sysClose,
  sysFtruncate,
  sysLseek,
  sysOpen,
  sysPipe,
  sysRead,
  sysUnlink,
  sysWrite,
} from './sys_generic.js';
import { sysShmat, sysShmctl, sysShmdt, sysShmget } from './sysv_shm.js';
import { guestAccess, ProcessTerminated } from './trap.js';
import { sysMemfdCreate, sysShmCreateLargepage, sysShmOpen, sysShmUnlink } from './uipc_shm.js';
import { type MsgHdr, type RecvResult, sysRecvmsg, sysSendmsg, sysSocketpair } from './uipc_syscalls.js';

// biome-ignore lint/suspicious/noExplicitAny: system-call arguments are untrusted values of any type
type SyscallFn = (k: Kernel, td: Thread, ...args: any[]) => number;

export const SYSENT: Readonly<Record<string, SyscallFn>> = {
  mmap: sysMmap,
  munmap: sysMunmap,
  mprotect: sysMprotect,
  minherit: sysMinherit,
  madvise: sysMadvise,
  mincore: sysMincore,
  msync: sysMsync,
  shm_open: sysShmOpen,
  shm_create_largepage: sysShmCreateLargepage,
  shm_unlink: sysShmUnlink,
  memfd_create: sysMemfdCreate,
  ftruncate: sysFtruncate,
  open: sysOpen,
  close: sysClose,
  read: sysRead,
  write: sysWrite,
  lseek: sysLseek,
  unlink: sysUnlink,
  shmget: sysShmget,
  shmat: sysShmat,
  shmdt: sysShmdt,
  shmctl: sysShmctl,
  pipe: sysPipe,
  socketpair: sysSocketpair,
  sendmsg: sysSendmsg,
  recvmsg: sysRecvmsg,
  fork: sysFork,
  exit: sysExit,
  waitpid: sysWaitpid,
  getpid: sysGetpid,
  getppid: sysGetppid,
  kill: sysKill,
  sigaction: sysSigaction,
  cheri_revoke: sysCheriRevoke,
  cheri_revoke_get_shadow: sysCheriRevokeGetShadow,
};
export type SyscallName = keyof typeof SYSENT;

/*
 * Run one system call for a live process.  Returns the errno (0 on success); the results
 * are in td.retval / td.retobj.  ESRCH if the process is not running; ENOSYS for an
 * unknown name.
 */
export function syscall(k: Kernel, pid: number, name: string, args: readonly unknown[]): number {
  const p = k.procs.get(pid);
  if (p === undefined || p.state !== 'run') return ESRCH;
  const fn = Object.hasOwn(SYSENT, name) ? SYSENT[name] : undefined;
  if (fn === undefined) return ENOSYS;
  const td = p.td;
  td.errCause = '';
  td.retobj = null;
  return fn(k, td, ...args);
}

/*
 * Host API over one process: each method runs a system call and returns its result, or
 * throws SysError with CheriBSD's errno name.  Guest memory accesses throw
 * ProcessTerminated when the access ended the process (e.g. SIGSEGV/SEGV_STORETAG).
 */
export class ProcHandle {
  readonly k: Kernel;
  readonly proc: Proc;

  constructor(k: Kernel, proc: Proc) {
    this.k = k;
    this.proc = proc;
  }

  get pid(): number {
    return this.proc.pid;
  }

  #call(name: string, ...args: unknown[]): number {
    const p = this.proc;
    if (p.state !== 'run') throw new ProcessTerminated(p.pid, p.xstat, p.xsiginfo);
    const e = syscall(this.k, p.pid, name, args);
    if (e === ERESTART) throw new SysError(EAGAIN, name, 'would block'); /* EAGAIN at the host API */
    if (e !== 0) throw new SysError(e, name, p.td.errCause || undefined);
    return p.td.retval;
  }

  mmap(addr: number, len: number, prot: number, flags: number, fd = -1, pos = 0): number {
    return this.#call('mmap', addr, len, prot, flags, fd, pos);
  }
  munmap(addr: number, len: number): void {
    this.#call('munmap', addr, len);
  }
  mprotect(addr: number, len: number, prot: number): void {
    this.#call('mprotect', addr, len, prot);
  }
  minherit(addr: number, len: number, inherit: number): void {
    this.#call('minherit', addr, len, inherit);
  }
  madvise(addr: number, len: number, behav: number): void {
    this.#call('madvise', addr, len, behav);
  }
  mincore(addr: number, len: number): Uint8Array {
    this.#call('mincore', addr, len);
    return this.proc.td.retobj as Uint8Array;
  }
  msync(addr: number, len: number, flags: number): void {
    this.#call('msync', addr, len, flags);
  }
  shm_open(path: string | number, flags: number, mode = 0o600): number {
    return this.#call('shm_open', path, flags, mode);
  }
  shm_create_largepage(
    path: string | number,
    flags: number,
    psind: number,
    allocPolicy = 0,
    mode = 0o600,
  ): number {
    return this.#call('shm_create_largepage', path, flags, psind, allocPolicy, mode);
  }
  shm_unlink(path: string): void {
    this.#call('shm_unlink', path);
  }
  memfd_create(name: string, flags = 0): number {
    return this.#call('memfd_create', name, flags);
  }
  ftruncate(fd: number, length: number): void {
    this.#call('ftruncate', fd, length);
  }
  open(path: string, flags: number, mode = 0o644): number {
    return this.#call('open', path, flags, mode);
  }
  close(fd: number): void {
    this.#call('close', fd);
  }
  read(fd: number, buf: number, nbytes: number): number {
    return this.#call('read', fd, buf, nbytes);
  }
  write(fd: number, buf: number, nbytes: number): number {
    return this.#call('write', fd, buf, nbytes);
  }
  lseek(fd: number, offset: number, whence: number): number {
    return this.#call('lseek', fd, offset, whence);
  }
  unlink(path: string): void {
    this.#call('unlink', path);
  }
  shmget(key: number, size: number, flags: number): number {
    return this.#call('shmget', key, size, flags);
  }
  shmat(shmid: number, addr: number, flags: number): number {
    return this.#call('shmat', shmid, addr, flags);
  }
  shmdt(addr: number): void {
    this.#call('shmdt', addr);
  }
  shmctl(shmid: number, cmd: number): void {
    this.#call('shmctl', shmid, cmd);
  }
  pipe(): [number, number] {
    this.#call('pipe');
    return this.proc.td.retobj as [number, number];
  }
  socketpair(domain: number, type: number, protocol = 0): [number, number] {
    this.#call('socketpair', domain, type, protocol);
    return this.proc.td.retobj as [number, number];
  }
  sendmsg(fd: number, msg: MsgHdr, flags = 0): number {
    return this.#call('sendmsg', fd, msg, flags);
  }
  recvmsg(fd: number, msg: MsgHdr, flags = 0): RecvResult {
    this.#call('recvmsg', fd, msg, flags);
    return this.proc.td.retobj as RecvResult;
  }
  /* fork() -> a handle on the child (which continues from the same state). */
  fork(): ProcHandle {
    const pid = this.#call('fork');
    return new ProcHandle(this.k, this.k.procs.get(pid)!);
  }
  exit(status: number): void {
    this.#call('exit', status);
  }
  waitpid(pid: number, options = 0): WaitResult | null {
    this.#call('waitpid', pid, options);
    return this.proc.td.retobj as WaitResult | null;
  }
  getpid(): number {
    return this.#call('getpid');
  }
  getppid(): number {
    return this.#call('getppid');
  }
  kill(pid: number, sig: number): void {
    this.#call('kill', pid, sig);
  }
  sigaction(sig: number, handler?: SigHandler): SigHandler {
    this.#call('sigaction', sig, handler);
    return this.proc.td.retobj as SigHandler;
  }
  /* cheri_revoke(flags, start_epoch) -> the published epochs (and stats with TAKE_STATS). */
  cheri_revoke(flags: number, startEpoch = 0): CheriRevokeSyscallInfo {
    this.#call('cheri_revoke', flags, startEpoch);
    return this.proc.td.retobj as CheriRevokeSyscallInfo;
  }
  /* cheri_revoke_get_shadow(flags, arena, length) -> the shadow slice (NOVMMAP*) or the info struct. */
  cheri_revoke_get_shadow(flags: number, arena = 0, length = 0): CheriRevokeShadowSlice | unknown {
    this.#call('cheri_revoke_get_shadow', flags, arena, length);
    return this.proc.td.retobj;
  }

  /* Guest memory accesses (the thread's loads and stores). */
  load(va: number, width: 1 | 2 | 4 | 8 = 8): number {
    return guestAccess(this.k, this.proc.td, (cpu) => cpu.load(va, width));
  }
  store(va: number, width: 1 | 2 | 4 | 8, value: number): void {
    guestAccess(this.k, this.proc.td, (cpu) => cpu.store(va, width, value));
  }
  loadCap(va: number): CapBits {
    return guestAccess(this.k, this.proc.td, (cpu) => cpu.loadCap(va));
  }
  storeCap(va: number, cap: CapBits): void {
    guestAccess(this.k, this.proc.td, (cpu) => cpu.storeCap(va, cap), { va, cap });
  }
  /* Any access on the thread's CPU (e.g. through a chosen capability register of the Hart). */
  guest<T>(op: (cpu: GuestCpu) => T): T {
    return guestAccess(this.k, this.proc.td, op);
  }
}

export type { Siginfo };
