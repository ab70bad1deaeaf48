/*
 * Processes and threads.  cf. FreeBSD struct proc / struct thread.
 * One thread per process in this model; the kernel runs its guest operations
 * synchronously (trap.ts) so the core is deterministic and needs no workers.
 *
 * List of owners  (k) kernel only   (c) const after creation
 */
import type { Siginfo } from '../sys/signal.js';
import type { GuestCpu } from '../vm/machine_if.js';
import type { Vmspace } from '../vm/vmspace.js';
import type { FileDesc } from './file.js';
import type { SysvSeg } from './sysv_shm.js';

export const PROC_MAGIC = 0x70726f63; /* 'proc' */

/* A signal disposition: SIG_DFL (0), SIG_IGN (1) or a host callback standing in for a guest handler. */
export type SigHandler = number | ((sig: number, info: Siginfo) => void);

export interface Thread {
  readonly proc: Proc /* (c) */;
  cpu: GuestCpu | null /* (k) created on the first guest access */;
  retval: number /* (k) td_retval[0] of the last system call */;
  retobj: unknown /* (k) structured results (pipe fds, waitpid status, recvmsg) */;
  errCause: string /* (k) SYSERRCAUSE of the last failing call */;
  lastTrap: Siginfo | null /* (k) siginfo of the last synchronous trap signal */;
}

export type ProcState = 'run' | 'zombie' | 'reaped';

export interface Proc {
  magic: number;
  readonly pid: number /* (c) */;
  readonly name: string /* (c) */;
  parent: Proc | null /* (k) null for init */;
  state: ProcState /* (k) */;
  vmspace: Vmspace | null /* (k) null once exited */;
  fd: FileDesc | null /* (k) null once exited */;
  readonly children: Set<Proc> /* (k) */;
  readonly sigacts: SigHandler[] /* (k) indexed by signal number */;
  xstat: number /* (k) wait status once a zombie */;
  xsiginfo: Siginfo | null /* (k) the signal that terminated it */;
  orphan: boolean /* (k) reparented to init: reaped at exit */;
  readonly sysvAttach: Map<number, SysvSeg> /* (k) shmat address -> segment */;
  td: Thread /* (c) */;
}
