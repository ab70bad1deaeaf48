/*
 * fork(2), _exit(2), waitpid(2), getpid(2), getppid(2).  cf. FreeBSD kern_fork.c,
 * kern_exit.c.  Exit releases everything the process held (descriptors, mappings,
 * SysV attachments, page tables) at once; the zombie keeps only its status.
 */
import { EAGAIN, ECHILD, EINVAL, EPERM, ERESTART } from '../sys/errno.js';
import { CLD_EXITED, CLD_KILLED, SIGCHLD, type Siginfo, W_EXITCODE, WNOHANG } from '../sys/signal.js';
import type { MachineWithCpu } from '../vm/machine_if.js';
import { vmspaceFork, vmspaceFree } from '../vm/vmspace.js';
import { fdcopy, fdescfree } from './file.js';
import { psignal, siginfo } from './kern_sig.js';
import type { Kernel } from './kernel.js';
import type { Proc, Thread } from './proc.js';
import { sysvDetach, sysvFork } from './sysv_shm.js';

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

/* fork() -> child pid in the parent.  The child starts with a copy of the parent's state. */
export function sysFork(k: Kernel, td: Thread): number {
  const p1 = td.proc;
  if (k.procs.size >= k.maxProcs) return EAGAIN;
  const vm2 = vmspaceFork(k.vm, p1.vmspace!);
  if (vm2 === null) return EAGAIN;
  const p2 = k.procAlloc(p1.name, p1, vm2, fdcopy(p1.fd!));
  for (let s = 0; s < p1.sigacts.length; s++) p2.sigacts[s] = p1.sigacts[s];
  sysvFork(p1, p2);
  /* the child's thread continues with a copy of the parent's registers */
  const m = k.vm.machine as Partial<MachineWithCpu>;
  if (td.cpu !== null && typeof m.cloneCpu === 'function')
    p2.td.cpu = m.cloneCpu(td.cpu, vm2.pmap.pt, vm2.pmap.mmu);
  td.retval = p2.pid;
  return 0;
}

/* exit1: the process ends with wait status xstat (and the terminating signal's info). */
export function exit1(k: Kernel, p: Proc, xstat: number, info: Siginfo | null): void {
  if (p.state !== 'run') return;
  k.log.debug({ pid: p.pid, xstat, signo: info?.si_signo }, 'exit');
  for (const addr of [...p.sysvAttach.keys()]) sysvDetach(k, p, addr, false);
  fdescfree(k.fileOps, p.fd!);
  p.fd = null;
  vmspaceFree(k.vm, p.vmspace!);
  p.vmspace = null;
  p.td.cpu = null;
  p.state = 'zombie';
  p.xstat = xstat;
  p.xsiginfo = info;
  for (const c of [...p.children]) {
    p.children.delete(c);
    c.parent = k.init;
    c.orphan = true;
    k.init.children.add(c);
    if (c.state === 'zombie') k.reap(c);
  }
  if (p.orphan || p.parent === null) {
    k.reap(p);
    return;
  }
  const killed = (xstat & 0o177) !== 0;
  psignal(
    k,
    p.parent,
    SIGCHLD,
    siginfo(SIGCHLD, killed ? CLD_KILLED : CLD_EXITED, {
      si_pid: p.pid,
      si_status: killed ? xstat & 0o177 : xstat >> 8,
    }),
  );
}

/* _exit(status) */
export function sysExit(k: Kernel, td: Thread, status: unknown): number {
  if (!isInt(status)) return EINVAL;
  if (td.proc === k.init) return EPERM; /* init does not exit */
  exit1(k, td.proc, W_EXITCODE(status & 0xff, 0), null);
  return 0;
}

export interface WaitResult {
  readonly pid: number;
  readonly status: number /* wait(2) status word */;
  readonly siginfo: Siginfo | null /* the terminating signal's siginfo, or null on exit */;
}

/* waitpid(pid, options) -> pid (0 with WNOHANG when nothing is ready); td.retobj = WaitResult. */
export function sysWaitpid(k: Kernel, td: Thread, pid: unknown, options: unknown): number {
  if (!isInt(pid) || !isInt(options) || (options & ~WNOHANG) !== 0) return EINVAL;
  const p = td.proc;
  const candidates = [...p.children].filter((c) => pid <= 0 || c.pid === pid);
  if (candidates.length === 0) return ECHILD;
  const z = candidates.find((c) => c.state === 'zombie');
  if (z === undefined) {
    if ((options & WNOHANG) !== 0) {
      td.retval = 0;
      td.retobj = null;
      return 0;
    }
    return ERESTART; /* would block: the transport parks the thread and retries */
  }
  const res: WaitResult = { pid: z.pid, status: z.xstat, siginfo: z.xsiginfo };
  k.reap(z);
  td.retval = z.pid;
  td.retobj = res;
  return 0;
}

export function sysGetpid(_k: Kernel, td: Thread): number {
  td.retval = td.proc.pid;
  return 0;
}

export function sysGetppid(_k: Kernel, td: Thread): number {
  td.retval = td.proc.parent?.pid ?? 0;
  return 0;
}
