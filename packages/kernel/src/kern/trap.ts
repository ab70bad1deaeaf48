/*
 * Guest memory accesses run by the kernel's single-threaded core, and the trap path:
 * a PageFault goes to vm_fault and the access is retried; an unresolvable fault, a
 * CapabilityFault or an AlignmentFault becomes a signal (trapsignal).  cf. FreeBSD
 * trap.c / CheriBSD's riscv trap.c (cap page faults handed to vm_fault first).
 */
import { panic } from '../sys/kassert.js';
import {
  BUS_ADRALN,
  BUS_OBJERR,
  PROT_CHERI_CODES,
  PROT_CHERI_PERM,
  SEGV_ACCERR,
  SEGV_MAPERR,
  SEGV_STORETAG,
  SI_KERNEL,
  SIGBUS,
  SIGKILL,
  SIGPROT,
  SIGSEGV,
  type Siginfo,
  TRAPNO_CHERI,
  TRAPNO_LOAD_PF,
  TRAPNO_STORE_CAP_PF,
  TRAPNO_STORE_PF,
} from '../sys/signal.js';
import {
  type CapBits,
  type GuestCpu,
  isAlignmentFault,
  isCapabilityFault,
  isPageFault,
  PAGE_SIZE,
  type PageFaultLike,
  ptePfn,
} from '../vm/machine_if.js';
import { pmapExtract } from '../vm/pmap.js';
import {
  KERN_CAP_STORE_FAILURE,
  KERN_INVALID_ADDRESS,
  KERN_OUT_OF_BOUNDS,
  KERN_PROTECTION_FAILURE,
  KERN_SUCCESS,
} from '../vm/vm.js';
import { vmFault } from '../vm/vm_fault.js';
import { revokeLoadBarrierFault } from './kern_cheri_revoke.js';
import { siginfo, trapsignal } from './kern_sig.js';
import type { Kernel } from './kernel.js';
import type { Thread } from './proc.js';

/* The process ended (or had already ended) while the host was running one of its accesses. */
export class ProcessTerminated extends Error {
  override name = 'ProcessTerminated';
  readonly pid: number;
  readonly status: number;
  readonly siginfo: Siginfo | null;
  constructor(pid: number, status: number, info: Siginfo | null) {
    super(`process ${pid} terminated (status 0x${status.toString(16)})`);
    this.pid = pid;
    this.status = status;
    this.siginfo = info;
  }
}

/* A handler ran for a synchronous fault; the faulting access did not complete. */
export class SignalDelivered extends Error {
  override name = 'SignalDelivered';
  readonly siginfo: Siginfo;
  constructor(info: Siginfo) {
    super(`signal ${info.si_signo} (code ${info.si_code}) delivered at 0x${info.si_addr.toString(16)}`);
    this.siginfo = info;
  }
}

function faultSiginfo(rv: number, e: PageFaultLike): Siginfo {
  const store = e.access === 'write' || e.access === 'cap-store';
  const trapno = store ? TRAPNO_STORE_PF : TRAPNO_LOAD_PF;
  switch (rv) {
    case KERN_INVALID_ADDRESS:
      return siginfo(SIGSEGV, SEGV_MAPERR, { si_addr: e.vaddr, si_trapno: trapno });
    case KERN_PROTECTION_FAILURE:
      return siginfo(SIGSEGV, SEGV_ACCERR, { si_addr: e.vaddr, si_trapno: trapno });
    case KERN_CAP_STORE_FAILURE:
      return siginfo(SIGSEGV, SEGV_STORETAG, { si_addr: e.vaddr, si_trapno: TRAPNO_STORE_CAP_PF });
    case KERN_OUT_OF_BOUNDS:
      return siginfo(SIGBUS, BUS_OBJERR, { si_addr: e.vaddr, si_trapno: trapno });
    default:
      return siginfo(SIGKILL, SI_KERNEL, { si_addr: e.vaddr }); /* out of memory */
  }
}

/*
 * What the kernel decided about a trap (the worker transport's answer to a faulting thread):
 *   retry     the fault is resolved; re-execute the access
 *   stripped  (strip switch) the kernel performed the capability store with its tag cleared;
 *             skip the access
 *   handled   a signal handler ran; the access does not complete
 *   killed    the process is gone (p.xstat / p.xsiginfo say why)
 */
export type TrapAction = 'retry' | 'stripped' | 'handled' | 'killed';

function post(k: Kernel, td: Thread, info: Siginfo): TrapAction {
  const p = td.proc;
  k.log.debug(
    { pid: p.pid, signo: info.si_signo, code: info.si_code, addr: info.si_addr, trapno: info.si_trapno },
    'trap signal',
  );
  td.lastTrap = info;
  return trapsignal(k, td, info);
}

/*
 * A PageFault raised by the machine on td's behalf.  `capBytes` are the 16 bytes a faulting
 * capability store was writing: under storeCapFault 'strip' (R5, ratified RVY) a tagged store
 * to a page without cap-store permission is then done untagged instead of faulting.
 */
export function trapPageFault(
  k: Kernel,
  td: Thread,
  fault: PageFaultLike,
  capBytes?: Uint8Array,
): TrapAction {
  const p = td.proc;
  if (p.state !== 'run') return 'killed';
  const vms = p.vmspace!;
  if (fault.cause === 'cap-load-gen') return revokeLoadBarrierFault(k, td, fault.vaddr); /* R47 */
  const rv = vmFault(k.vm, vms, fault.vaddr, fault.access);
  if (rv === KERN_SUCCESS) return 'retry';
  if (rv === KERN_CAP_STORE_FAILURE && k.policy.storeCapFault === 'strip' && capBytes !== undefined) {
    const va = fault.vaddr;
    const rv2 = vmFault(k.vm, vms, va, 'write');
    if (rv2 !== KERN_SUCCESS) return post(k, td, faultSiginfo(rv2, { ...fault, access: 'write' }));
    const pte = pmapExtract(vms.pmap, va - (va % PAGE_SIZE));
    k.vm.phys.phys.writeBytes(ptePfn(pte) * PAGE_SIZE + (va % PAGE_SIZE), capBytes);
    return 'stripped';
  }
  return post(k, td, faultSiginfo(rv, fault));
}

/* A CapabilityFault (code = CheriBSD's PROT_CHERI_* name) raised by the machine: SIGPROT. */
export function trapCapabilityFault(k: Kernel, td: Thread, code: string, vaddr: number): TrapAction {
  if (td.proc.state !== 'run') return 'killed';
  const si = PROT_CHERI_CODES[code as keyof typeof PROT_CHERI_CODES] ?? PROT_CHERI_PERM;
  return post(k, td, siginfo(SIGPROT, si, { si_addr: vaddr, si_trapno: TRAPNO_CHERI }));
}

/* A misaligned capability access: SIGBUS / BUS_ADRALN. */
export function trapAlignmentFault(k: Kernel, td: Thread, vaddr: number): TrapAction {
  if (td.proc.state !== 'run') return 'killed';
  return post(k, td, siginfo(SIGBUS, BUS_ADRALN, { si_addr: vaddr }));
}

/*
 * Run one guest access on td's CPU in the kernel's own thread (the single-threaded core),
 * resolving faults through the trap functions above.  Throws ProcessTerminated when the
 * access ended the process and SignalDelivered when a handler ran instead.
 */
export function guestAccess<T>(
  k: Kernel,
  td: Thread,
  op: (cpu: GuestCpu) => T,
  strip?: { va: number; cap: CapBits },
): T {
  const p = td.proc;
  if (p.state !== 'run') throw new ProcessTerminated(p.pid, p.xstat, p.xsiginfo);
  const cpu = k.cpuFor(td);
  for (let tries = 0; tries < 16; tries++) {
    let action: TrapAction;
    let info: Siginfo | null = null;
    try {
      return op(cpu);
    } catch (e) {
      if (isPageFault(e))
        action = trapPageFault(
          k,
          td,
          e,
          strip !== undefined && strip.va === e.vaddr ? strip.cap.bytes : undefined,
        );
      else if (isCapabilityFault(e)) action = trapCapabilityFault(k, td, e.code, e.vaddr);
      else if (isAlignmentFault(e)) action = trapAlignmentFault(k, td, e.vaddr);
      else throw e;
      info = td.lastTrap;
    }
    if (action === 'retry') continue;
    if (action === 'stripped') {
      cpu.flushTlb();
      return undefined as T;
    }
    if (action === 'killed') throw new ProcessTerminated(p.pid, p.xstat, p.xsiginfo);
    throw new SignalDelivered(info!);
  }
  return panic(`guest access by pid ${p.pid} keeps faulting`);
}
