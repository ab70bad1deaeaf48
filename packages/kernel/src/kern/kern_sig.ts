/*
 * Signals: sigaction(2), kill(2), delivery and default actions.  cf. FreeBSD
 * sys/kern/kern_sig.c (kern_sigaction, psignal, trapsignal, sigexit).
 * A handler is a host callback standing in for guest code; synchronous traps whose
 * signal is ignored are delivered with the default action, as trapsignal() does.
 * Job control (stop/continue) is not modelled: those signals are discarded.
 */
import { EINVAL, EPERM, ESRCH } from '../sys/errno.js';
import {
  NSIG,
  SI_USER,
  SIG_DFL,
  SIG_IGN,
  SIGKILL,
  SIGSTOP,
  type Siginfo,
  sigDefaultAction,
  W_EXITCODE,
} from '../sys/signal.js';
import { exit1 } from './kern_proc.js';
import type { Kernel } from './kernel.js';
import type { Proc, SigHandler, Thread } from './proc.js';

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

export function siginfo(signo: number, code: number, fields: Partial<Siginfo> = {}): Siginfo {
  return { si_signo: signo, si_code: code, si_pid: 0, si_addr: 0, si_trapno: 0, si_status: 0, ...fields };
}

/* sigaction(sig, handler | undefined) -> previous disposition in td.retobj */
export function sysSigaction(_k: Kernel, td: Thread, sig: unknown, handler: unknown): number {
  if (!isInt(sig) || sig <= 0 || sig >= NSIG) return EINVAL;
  const p = td.proc;
  const old = p.sigacts[sig] ?? SIG_DFL;
  if (handler !== undefined) {
    if (sig === SIGKILL || sig === SIGSTOP) return EINVAL;
    if (handler !== SIG_DFL && handler !== SIG_IGN && typeof handler !== 'function') return EINVAL;
    p.sigacts[sig] = handler as SigHandler;
  }
  td.retobj = old;
  return 0;
}

/* psignal: post a signal to a process; the default action may terminate it. */
export function psignal(k: Kernel, p: Proc, sig: number, info: Siginfo): void {
  if (p.state !== 'run') return;
  const h = sig === SIGKILL ? SIG_DFL : (p.sigacts[sig] ?? SIG_DFL);
  if (typeof h === 'function') {
    h(sig, info);
    return;
  }
  if (h === SIG_IGN) return;
  const act = sigDefaultAction(sig);
  if (act === 'term' || act === 'core') exit1(k, p, W_EXITCODE(0, sig), info);
}

/* trapsignal: a synchronous fault.  'handled' if a handler ran, else the process is gone. */
export function trapsignal(k: Kernel, td: Thread, info: Siginfo): 'handled' | 'killed' {
  const p = td.proc;
  const h = p.sigacts[info.si_signo] ?? SIG_DFL;
  if (typeof h === 'function') {
    h(info.si_signo, info);
    return 'handled';
  }
  /* ignored or default: a fault cannot be ignored; the default action ends the process */
  exit1(k, p, W_EXITCODE(0, info.si_signo), info);
  return 'killed';
}

/* kill(pid, sig): pid > 0 only (no process groups in this model). */
export function sysKill(k: Kernel, td: Thread, pid: unknown, sig: unknown): number {
  if (!isInt(pid) || !isInt(sig) || sig < 0 || sig >= NSIG) return EINVAL;
  if (pid <= 0) return EINVAL;
  if (pid === k.init.pid) return EPERM; /* init is protected */
  const p = k.procs.get(pid);
  if (p === undefined || p.state === 'reaped') return ESRCH;
  if (sig === 0 || p.state !== 'run') return 0;
  psignal(k, p, sig, siginfo(sig, SI_USER, { si_pid: td.proc.pid }));
  return 0;
}
