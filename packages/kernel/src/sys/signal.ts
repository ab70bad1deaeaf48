/*
 * Signals and siginfo codes: FreeBSD sys/sys/signal.h plus CheriBSD's SIGPROT.
 * Values marked [assumed] were not found in a CheriBSD header we could read.
 */
export const SIGHUP = 1;
export const SIGINT = 2;
export const SIGQUIT = 3;
export const SIGILL = 4;
export const SIGTRAP = 5;
export const SIGABRT = 6;
export const SIGEMT = 7;
export const SIGFPE = 8;
export const SIGKILL = 9;
export const SIGBUS = 10;
export const SIGSEGV = 11;
export const SIGSYS = 12;
export const SIGPIPE = 13;
export const SIGALRM = 14;
export const SIGTERM = 15;
export const SIGURG = 16;
export const SIGSTOP = 17;
export const SIGTSTP = 18;
export const SIGCONT = 19;
export const SIGCHLD = 20;
export const SIGTTIN = 21;
export const SIGTTOU = 22;
export const SIGIO = 23;
export const SIGXCPU = 24;
export const SIGXFSZ = 25;
export const SIGVTALRM = 26;
export const SIGPROF = 27;
export const SIGWINCH = 28;
export const SIGINFO = 29;
export const SIGUSR1 = 30;
export const SIGUSR2 = 31;
export const SIGTHR = 32;
export const SIGLIBRT = 33;
export const SIGPROT = 34; /* CheriBSD: in-address-space security exception */
export const NSIG = 35; /* signals 1..34 */

export const SIG_DFL = 0;
export const SIG_IGN = 1;

/* si_code for SIGSEGV */
export const SEGV_MAPERR = 1;
export const SEGV_ACCERR = 2;
export const SEGV_PKUERR = 100;
export const SEGV_LOADTAG = 101; /* [assumed value] CheriBSD: unresolved capability-load page fault */
export const SEGV_STORETAG = 102; /* [assumed value] CheriBSD: tagged store to a page without cap-store */

/* si_code for SIGBUS */
export const BUS_ADRALN = 1;
export const BUS_ADRERR = 2;
export const BUS_OBJERR = 3;

/* si_code for SIGPROT (CheriBSD; values as in the CHERI headers) */
export const PROT_CHERI_BOUNDS = 1;
export const PROT_CHERI_TAG = 2;
export const PROT_CHERI_SEALED = 3;
export const PROT_CHERI_TYPE = 4;
export const PROT_CHERI_PERM = 5;
export const PROT_CHERI_STORETAG = 6;
export const PROT_CHERI_IMPRECISE = 7;
export const PROT_CHERI_STORELOCAL = 8;
export const PROT_CHERI_CINVOKE = 9;
export const PROT_CHERI_SYSREG = 11;
export const PROT_CHERI_UNALIGNED_BASE = 12; /* [assumed value] */
export const PROT_CHERI_CODES = {
  PROT_CHERI_BOUNDS,
  PROT_CHERI_TAG,
  PROT_CHERI_SEALED,
  PROT_CHERI_TYPE,
  PROT_CHERI_PERM,
  PROT_CHERI_STORETAG,
  PROT_CHERI_IMPRECISE,
  PROT_CHERI_STORELOCAL,
  PROT_CHERI_CINVOKE,
  PROT_CHERI_SYSREG,
  PROT_CHERI_UNALIGNED_BASE,
} as const;
export type ProtCheriCode = keyof typeof PROT_CHERI_CODES;

/* si_code for SIGCHLD and generic codes */
export const SI_USER = 0x10001;
export const SI_KERNEL = 0x10006;
export const CLD_EXITED = 1;
export const CLD_KILLED = 2;
export const CLD_DUMPED = 3;

/*
 * si_trapno: machine trap numbers (CHERI-RISC-V scause).  cheribsdtest maps
 * TRAPNO_STORE_CAP_PF to SCAUSE_STORE_AMO_CAP_PAGE_FAULT; the numbers follow
 * the CHERI-RISC-V v9 cause table.  [assumed values]
 */
export const SCAUSE_LOAD_PAGE_FAULT = 13;
export const SCAUSE_STORE_PAGE_FAULT = 15;
export const SCAUSE_LOAD_CAP_PAGE_FAULT = 0x1a;
export const SCAUSE_STORE_AMO_CAP_PAGE_FAULT = 0x1b;
export const SCAUSE_CHERI = 0x1c;
export const TRAPNO_LOAD_PF = SCAUSE_LOAD_PAGE_FAULT;
export const TRAPNO_STORE_PF = SCAUSE_STORE_PAGE_FAULT;
export const TRAPNO_STORE_CAP_PF = SCAUSE_STORE_AMO_CAP_PAGE_FAULT;
export const TRAPNO_CHERI = SCAUSE_CHERI;

/* What a signal does when its disposition is SIG_DFL. */
export type SigDefault = 'term' | 'core' | 'ignore' | 'stop' | 'cont';
export function sigDefaultAction(sig: number): SigDefault {
  switch (sig) {
    case SIGCHLD:
    case SIGURG:
    case SIGWINCH:
    case SIGINFO:
    case SIGIO:
    case SIGTHR:
    case SIGLIBRT:
      return 'ignore';
    case SIGCONT:
      return 'cont';
    case SIGSTOP:
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
      return 'stop';
    case SIGQUIT:
    case SIGILL:
    case SIGTRAP:
    case SIGABRT:
    case SIGEMT:
    case SIGFPE:
    case SIGBUS:
    case SIGSEGV:
    case SIGSYS:
    case SIGPROT:
    case SIGXCPU:
    case SIGXFSZ:
      return 'core';
    default:
      return 'term';
  }
}

/* A delivered signal's information (struct __siginfo, the fields we model). */
export interface Siginfo {
  readonly si_signo: number;
  readonly si_code: number;
  readonly si_pid: number;
  readonly si_addr: number;
  readonly si_trapno: number;
  readonly si_status: number;
}

/* wait(2) status word (sys/sys/wait.h) */
export const WNOHANG = 1;
export const WCOREFLAG = 0o200;
export function W_EXITCODE(ret: number, sig: number): number {
  return ((ret & 0xff) << 8) | sig;
}
export function WIFEXITED(status: number): boolean {
  return (status & 0o177) === 0;
}
export function WEXITSTATUS(status: number): number {
  return (status >> 8) & 0xff;
}
export function WIFSIGNALED(status: number): boolean {
  return (status & 0o177) !== 0o177 && (status & 0o177) !== 0;
}
export function WTERMSIG(status: number): number {
  return status & 0o177;
}
