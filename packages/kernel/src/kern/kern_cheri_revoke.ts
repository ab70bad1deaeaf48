/*
 * cheri_revoke(2) and cheri_revoke_get_shadow(2): the state machine (R45), store-side
 * (Cornucopia, R46) and load-side (Cornucopia Reloaded, R47) passes.  cf. CheriBSD
 * sys/kern/kern_cheri_revoke.c.
 *
 * The kernel is single-threaded and synchronous; stopping the world is the transport's job.
 * So a call is split into phases that the transport drives:
 *
 *   revokeBegin(k, td, flags, startEpoch)
 *       validates, takes the fast outs (epoch already cleared, ONLY_IF_OPEN with nothing
 *       open, another pass busy with NO_WAIT_OK), runs the concurrent part with the world
 *       RUNNING (store-side opening/incremental pass; load-side closing sweep of an epoch
 *       already open), and either answers ({ done: true, errno }: td.retobj holds the
 *       CheriRevokeSyscallInfo) or asks for the world to be stopped ({ done: false, pass }).
 *       A busy state without NO_WAIT_OK answers ERESTART: park the caller and call again
 *       (the re-evaluation R45 does after its cv_wait).
 *   revokeWhileStopped(k, pass, registerFiles)
 *       every thread of the vmspace is parked (thread_single): revoke in their register
 *       files (and kernel-held capabilities: none are modelled, R14), then the store-side
 *       final pass over the pages dirtied since the concurrent pass, or the load-side
 *       generation bump that arms the load barrier.
 *   revokeEnd(k, pass)
 *       after the world resumed: close the epoch (store-side), or open it and, for a
 *       LAST_PASS, run the background closing sweep (load-side); answers like revokeBegin.
 *   revokeAbort(k, pass)
 *       stopping the world failed: roll back, answer ERESTART (R45).
 *
 * sysCheriRevoke is the synchronous driver for the single-threaded core (nothing runs
 * concurrently; "the world" is td's own CPU, whose register file it scans).  It is SYSENT's
 * 'cheri_revoke'; the worker transport must drive the phases instead.
 *
 * Revoked form (R42): the machine's sweep writes CheriBSD's default (tag kept, perms 0) only
 * for frames exclusive to it (world stopped and mapped by no other running address space,
 * or the single-threaded core); with mutators possibly running it clears the tag (the
 * CLEARTAGS form, accepted by check_revoked): the store-side concurrent pre-pass, load-side
 * fault visits and closing sweep under the worker transport.
 * revokeLoadBarrierFault is the trap handler for PageFault 'cap-load-gen' (R47).
 *
 * The store-side final pass visits, by default, every page visited in the epoch as well as
 * those dirtied since ('final-all', sysctl finalPassAll): with mutators in other threads,
 * clearing PTE_CD in the concurrent pass races a capability store whose thread translated
 * before the TLB flush and stores after the sweep read the granule (the soft TLB caches
 * PTE_CD); such a store leaves no CAPDIRTY behind.  finalPassAll: false is CheriBSD's
 * dirty-only final pass.
 */
import { type CapRegFile, capIsRevoked } from '@cherisim/machine';
import { EINVAL, EOPNOTSUPP, ERESTART } from '../sys/errno.js';
import { KASSERT } from '../sys/kassert.js';
import {
  CHERI_REVOKE_FORCE_LOAD_SIDE,
  CHERI_REVOKE_FORCE_STORE_SIDE,
  CHERI_REVOKE_IGNORE_START,
  CHERI_REVOKE_KNOWN_FLAGS,
  CHERI_REVOKE_LAST_NO_EARLY,
  CHERI_REVOKE_LAST_PASS,
  CHERI_REVOKE_NO_WAIT_OK,
  CHERI_REVOKE_ONLY_IF_OPEN,
  CHERI_REVOKE_SHADOW_ALIGN,
  CHERI_REVOKE_SHADOW_INFO_STRUCT,
  CHERI_REVOKE_SHADOW_NOVMMAP,
  CHERI_REVOKE_SHADOW_NOVMMAP_ENTIRE,
  CHERI_REVOKE_SHADOW_OTYPE,
  CHERI_REVOKE_TAKE_STATS,
  type CheriRevokeInfo,
  type CheriRevokeShadowSlice,
  type CheriRevokeSyscallInfo,
  cheriRevokeStatsZero,
} from '../sys/revoke.js';
import { HartCpu } from '../vm/machine_binding.js';
import { pmapCapLoadGenNext, pmapCapLoadGenUpdateAll } from '../vm/pmap.js';
import {
  type RevokeCookie,
  vmCheriRevokeCookie,
  vmCheriRevokeCookieDone,
  vmCheriRevokeFaultVisit,
  vmCheriRevokePass,
  vmCheriRevokeRegs,
  vmCheriRevokeShadowByte,
  vmCheriRevokeShadowInstall,
} from '../vm/vm_cheri_revoke.js';
import {
  CHERI_REVOKE_ST_LS_CLOSING,
  CHERI_REVOKE_ST_LS_INITED,
  CHERI_REVOKE_ST_LS_INITING,
  CHERI_REVOKE_ST_NONE,
  CHERI_REVOKE_ST_SS_INITED,
  CHERI_REVOKE_ST_SS_INITING,
  CHERI_REVOKE_ST_SS_LAST,
  type CheriRevokeSt,
  cheriRevokeEpochClears,
  cheriRevokeStBusy,
  VM_CHERI_REVOKE_SHADOW_BASE,
  VM_CHERI_REVOKE_SHADOW_SIZE,
  type VmCheriRevokeState,
} from '../vm/vm_cheri_revoke_state.js';
import { VM_MAX_USER_ADDRESS } from '../vm/vm_param.js';
import { VMSPACE_MAGIC, type Vmspace } from '../vm/vmspace.js';
import type { Kernel } from './kernel.js';
import type { Thread } from './proc.js';
import type { TrapAction } from './trap.js';

/* Kernel-wide revocation knobs (CheriBSD sysctls / kernel options). */
export interface CheriRevokeSysctl {
  /* vm.cheri_revoke.load_side: open epochs load-side unless FORCE_STORE_SIDE (default store-side) */
  loadSide: boolean;
  /* kernel option CHERI_CAPREVOKE_CLEARTAGS: revoke by clearing the tag (default: keep it, perms 0) */
  clearTags: boolean;
  /* store-side final pass also revisits every page visited in the epoch (see the header) */
  finalPassAll: boolean;
}

const DEFAULT_SYSCTL: CheriRevokeSysctl = { loadSide: false, clearTags: false, finalPassAll: true };
const sysctls = new WeakMap<Kernel, CheriRevokeSysctl>();

export function cheriRevokeSysctl(k: Kernel): Readonly<CheriRevokeSysctl> {
  return sysctls.get(k) ?? DEFAULT_SYSCTL;
}

export function cheriRevokeSysctlSet(k: Kernel, v: Partial<CheriRevokeSysctl>): void {
  sysctls.set(k, { ...cheriRevokeSysctl(k), ...v });
}

export const REVOKE_PASS_MAGIC = 0x72766b70; /* 'rvkp' */

/* A cheri_revoke call that needs the world stopped.  Opaque to the transport. */
export interface RevokePass {
  magic: number;
  readonly td: Thread /* (c) the caller */;
  readonly vms: Vmspace /* (c) the caller's address space */;
  readonly flags: number /* (c) */;
  readonly side: 'store' | 'load' /* (c) */;
  readonly close: boolean /* (c) LAST_PASS: this call closes the epoch */;
  readonly exclusive: boolean /* (c) nothing runs concurrently (the single-threaded core) */;
  readonly rollback: { st: CheriRevokeSt; enqueue: number; dequeue: number } /* (c) for revokeAbort */;
  phase: 'stop' | 'stopped' | 'done' /* (k) */;
  failed: number /* (k) errno of a forced copy that failed */;
}

export type RevokeBeginResult =
  | { readonly done: true; readonly errno: number }
  | { readonly done: false; readonly pass: RevokePass };

const isInt = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

/* The answer: td.retobj = CheriRevokeSyscallInfo.  [ internal use only ] */
function reply(td: Thread, s: VmCheriRevokeState, flags: number, errno = 0): number {
  let stats = null;
  if ((flags & CHERI_REVOKE_TAKE_STATS) !== 0) {
    stats = s.stats;
    s.stats = cheriRevokeStatsZero();
  }
  const info: CheriRevokeSyscallInfo = { epochs: { enqueue: s.enqueue, dequeue: s.dequeue }, stats };
  td.retobj = info;
  td.retval = 0;
  return errno;
}

function done(errno: number): RevokeBeginResult {
  return { done: true, errno };
}

/* Opening an epoch: odd; publish dequeue = the even epoch, enqueue = +1 (or +2 if this call closes). */
function openEpoch(s: VmCheriRevokeState, close: boolean, st: CheriRevokeSt): void {
  KASSERT((s.epoch & 1) === 0, () => `cheri_revoke: opening at odd epoch ${s.epoch}`);
  s.dequeue = s.epoch;
  s.epoch++;
  s.enqueue = close ? s.epoch + 1 : s.epoch;
  s.st = st;
}

function closeEpoch(s: VmCheriRevokeState): void {
  KASSERT((s.epoch & 1) === 1, () => `cheri_revoke: closing at even epoch ${s.epoch}`);
  s.epoch++;
  s.enqueue = s.epoch;
  s.dequeue = s.epoch;
  s.st = CHERI_REVOKE_ST_NONE;
  s.visited.clear();
}

function cookie(k: Kernel, vms: Vmspace, worldStopped: boolean, exclusive: boolean): RevokeCookie {
  return vmCheriRevokeCookie(k, vms, { clearTags: cheriRevokeSysctl(k).clearTags, worldStopped, exclusive });
}

/* Load-side closing sweep with the world running (R47 step 3).  [ internal use only ] */
function closeLoadSide(k: Kernel, vms: Vmspace, exclusive: boolean): number {
  const s = vms.revoke;
  s.st = CHERI_REVOKE_ST_LS_CLOSING;
  const c = cookie(k, vms, false, exclusive);
  vmCheriRevokePass(c, 'close-ls');
  vmCheriRevokeCookieDone(c);
  if (c.failed !== 0) {
    s.st = CHERI_REVOKE_ST_LS_INITED;
    return c.failed;
  }
  pmapCapLoadGenUpdateAll(vms.pmap);
  closeEpoch(s);
  return 0;
}

/* Can this vmspace's machine run a load barrier? */
function loadSideSupported(vms: Vmspace): boolean {
  return vms.pmap.mmu.loadGen !== undefined;
}

/*
 * Phase 1 of cheri_revoke(flags, start_epoch).  Errors: EINVAL for non-integer arguments,
 * unknown flags, both FORCE_* flags, or a negative start epoch.  `exclusive`: nothing runs
 * concurrently with the kernel during the whole call (the single-threaded core only; the
 * worker transport passes false), so every sweep may write the tag-keeping revoked form.
 */
export function revokeBegin(
  k: Kernel,
  td: Thread,
  flags: unknown,
  startEpoch: unknown,
  exclusive = false,
): RevokeBeginResult {
  if (!isInt(flags) || !isInt(startEpoch)) return done(k.syserr(td, EINVAL, 'non-integer argument'));
  if ((flags & ~CHERI_REVOKE_KNOWN_FLAGS) !== 0) return done(k.syserr(td, EINVAL, 'unknown flags'));
  if ((flags & CHERI_REVOKE_FORCE_LOAD_SIDE) !== 0 && (flags & CHERI_REVOKE_FORCE_STORE_SIDE) !== 0)
    return done(k.syserr(td, EINVAL, 'both FORCE_LOAD_SIDE and FORCE_STORE_SIDE'));
  if (startEpoch < 0) return done(k.syserr(td, EINVAL, 'negative start epoch'));
  const vms = td.proc.vmspace!;
  const s = vms.revoke;
  const start = (flags & CHERI_REVOKE_IGNORE_START) !== 0 ? s.epoch : startEpoch;
  /* fast out: the caller's epoch has already cleared */
  if (cheriRevokeEpochClears(s.epoch, start)) return done(reply(td, s, flags));
  if (cheriRevokeStBusy(s.st)) {
    if ((flags & CHERI_REVOKE_NO_WAIT_OK) !== 0) return done(reply(td, s, flags));
    return done(ERESTART); /* sleep until the other revoker is done, then re-evaluate */
  }
  if (s.st === CHERI_REVOKE_ST_NONE && (flags & CHERI_REVOKE_ONLY_IF_OPEN) !== 0)
    return done(reply(td, s, flags));
  const close = (flags & CHERI_REVOKE_LAST_PASS) !== 0;
  const rollback = { st: s.st, enqueue: s.enqueue, dequeue: s.dequeue };
  const mkPass = (side: 'store' | 'load'): RevokeBeginResult => ({
    done: false,
    pass: {
      magic: REVOKE_PASS_MAGIC,
      td,
      vms,
      flags,
      side,
      close,
      exclusive,
      rollback,
      phase: 'stop',
      failed: 0,
    },
  });

  if (s.st === CHERI_REVOKE_ST_NONE) {
    let load = cheriRevokeSysctl(k).loadSide;
    if ((flags & CHERI_REVOKE_FORCE_LOAD_SIDE) !== 0) load = true;
    if ((flags & CHERI_REVOKE_FORCE_STORE_SIDE) !== 0) load = false;
    if (load && loadSideSupported(vms)) {
      s.st = CHERI_REVOKE_ST_LS_INITING;
      return mkPass('load');
    }
    /* store-side opening: the concurrent pass, unless a LAST_PASS says LAST_NO_EARLY */
    s.st = CHERI_REVOKE_ST_SS_INITING;
    s.visited.clear();
    let failed = 0;
    if (!close || (flags & CHERI_REVOKE_LAST_NO_EARLY) === 0) {
      const c = cookie(k, vms, false, exclusive);
      vmCheriRevokePass(c, 'pass');
      vmCheriRevokeCookieDone(c);
      failed = c.failed;
    }
    if (failed !== 0) {
      s.st = CHERI_REVOKE_ST_NONE;
      return done(reply(td, s, flags, failed));
    }
    openEpoch(s, close, CHERI_REVOKE_ST_SS_INITED); /* the opening pass's visits belong to it */
    if (!close) return done(reply(td, s, flags));
    s.st = CHERI_REVOKE_ST_SS_LAST;
    return mkPass('store');
  }

  if (s.st === CHERI_REVOKE_ST_SS_INITED) {
    if (!close || (flags & CHERI_REVOKE_LAST_NO_EARLY) === 0) {
      const c = cookie(k, vms, false, exclusive);
      vmCheriRevokePass(c, 'pass'); /* incremental: pages stored to since */
      vmCheriRevokeCookieDone(c);
      if (c.failed !== 0) return done(reply(td, s, flags, c.failed));
    }
    if (!close) return done(reply(td, s, flags));
    s.enqueue = s.epoch + 1;
    s.st = CHERI_REVOKE_ST_SS_LAST;
    return mkPass('store');
  }

  KASSERT(s.st === CHERI_REVOKE_ST_LS_INITED, () => `cheri_revoke: unexpected state ${s.st}`);
  if (!close) return done(reply(td, s, flags)); /* incremental load-side calls are no-ops */
  s.enqueue = s.epoch + 1;
  return done(reply(td, s, flags, closeLoadSide(k, vms, exclusive)));
}

/*
 * Phase 2: every thread of pass.vms is parked; `registerFiles` are their register files
 * (the kernel writes revoked values into them; each write bumps the register's version,
 * so the owner re-decodes).
 */
export function revokeWhileStopped(k: Kernel, pass: RevokePass, registerFiles: readonly CapRegFile[]): void {
  KASSERT(pass.magic === REVOKE_PASS_MAGIC && pass.phase === 'stop', () => 'revokeWhileStopped: bad pass');
  const vms = pass.vms;
  const s = vms.revoke;
  pass.phase = 'stopped';
  if (vms.magic !== VMSPACE_MAGIC) return; /* the process exited meanwhile: revokeEnd answers */
  const c = cookie(k, vms, true, pass.exclusive);
  for (const regs of registerFiles) vmCheriRevokeRegs(c, regs);
  if (pass.side === 'store') {
    vmCheriRevokePass(c, cheriRevokeSysctl(k).finalPassAll ? 'final-all' : 'final-dirty');
    pass.failed = c.failed;
  } else {
    s.visited.clear();
    pmapCapLoadGenNext(vms.pmap); /* arms the barrier: every present PTE is now stale */
    /* a LAST_PASS stays busy (LS_CLOSING) until its revokeEnd has swept: no second closer */
    openEpoch(s, pass.close, pass.close ? CHERI_REVOKE_ST_LS_CLOSING : CHERI_REVOKE_ST_LS_INITED);
  }
  vmCheriRevokeCookieDone(c);
}

/* Phase 3, with the world running again: close (store-side) or sweep and close (load-side LAST). */
export function revokeEnd(k: Kernel, pass: RevokePass): number {
  KASSERT(pass.magic === REVOKE_PASS_MAGIC && pass.phase === 'stopped', () => 'revokeEnd: bad pass');
  pass.phase = 'done';
  pass.magic = 0;
  const vms = pass.vms;
  const s = vms.revoke;
  if (vms.magic !== VMSPACE_MAGIC) return 0; /* the process is gone */
  if (pass.side === 'store') {
    if (pass.failed !== 0) {
      s.st = CHERI_REVOKE_ST_SS_INITED;
      s.enqueue = s.epoch;
      return reply(pass.td, s, pass.flags, pass.failed);
    }
    closeEpoch(s);
    return reply(pass.td, s, pass.flags);
  }
  if (!pass.close) return reply(pass.td, s, pass.flags);
  return reply(pass.td, s, pass.flags, closeLoadSide(k, vms, pass.exclusive));
}

/* Stopping the world failed (R45): roll the state back; the caller gets ERESTART. */
export function revokeAbort(_k: Kernel, pass: RevokePass): number {
  KASSERT(pass.magic === REVOKE_PASS_MAGIC && pass.phase === 'stop', () => 'revokeAbort: bad pass');
  pass.phase = 'done';
  pass.magic = 0;
  const s = pass.vms.revoke;
  if (pass.side === 'store') {
    s.st = CHERI_REVOKE_ST_SS_INITED; /* the epoch the opening pass opened stays open */
    s.enqueue = s.epoch;
  } else {
    s.st = pass.rollback.st;
    s.enqueue = pass.rollback.enqueue;
    s.dequeue = pass.rollback.dequeue;
  }
  return ERESTART;
}

/*
 * cheri_revoke(flags, start_epoch) for the single-threaded core: the three phases back to
 * back, "stopping" the only thread there is (td, whose CPU's register file is scanned).
 */
export function sysCheriRevoke(k: Kernel, td: Thread, flags: unknown, startEpoch: unknown): number {
  const b = revokeBegin(k, td, flags, startEpoch, true);
  if (b.done) return b.errno;
  const regs = td.cpu instanceof HartCpu ? [td.cpu.regs] : [];
  revokeWhileStopped(k, b.pass, regs);
  return revokeEnd(k, b.pass);
}

/*
 * cheri_revoke_get_shadow(flags, arena, length).  The capability checks of R40 (arena
 * tagged: EINVAL; SW_VMEM permission: EPERM) are the guest API's, before this call.
 *   NOVMMAP          arena and arena+length 128-byte aligned (EINVAL), inside the user
 *                    address space (EINVAL): td.retval = the shadow address of the arena's
 *                    first granule, td.retobj = CheriRevokeShadowSlice.  Installs the shadow.
 *   NOVMMAP_ENTIRE   the whole fine shadow.
 *   INFO_STRUCT      td.retobj = CheriRevokeInfo (a snapshot of the published epochs).
 *   OTYPE            EOPNOTSUPP (declared but unused in CheriBSD, not modelled).
 */
export function sysCheriRevokeGetShadow(
  k: Kernel,
  td: Thread,
  flags: unknown,
  arena: unknown,
  length: unknown,
): number {
  if (!isInt(flags)) return k.syserr(td, EINVAL, 'non-integer flags');
  const vms = td.proc.vmspace!;
  switch (flags) {
    case CHERI_REVOKE_SHADOW_INFO_STRUCT: {
      const info: CheriRevokeInfo = {
        base_mem_nomap: VM_CHERI_REVOKE_SHADOW_BASE,
        base_otype: 0,
        epochs: { enqueue: vms.revoke.enqueue, dequeue: vms.revoke.dequeue },
      };
      td.retobj = info;
      td.retval = 0;
      return 0;
    }
    case CHERI_REVOKE_SHADOW_NOVMMAP:
    case CHERI_REVOKE_SHADOW_NOVMMAP_ENTIRE: {
      let a = 0;
      let len = VM_MAX_USER_ADDRESS;
      if (flags === CHERI_REVOKE_SHADOW_NOVMMAP) {
        if (!isInt(arena) || !isInt(length)) return k.syserr(td, EINVAL, 'non-integer arena');
        if (arena < 0 || length <= 0 || arena + length > VM_MAX_USER_ADDRESS)
          return k.syserr(td, EINVAL, 'arena outside the user address space');
        if (arena % CHERI_REVOKE_SHADOW_ALIGN !== 0 || (arena + length) % CHERI_REVOKE_SHADOW_ALIGN !== 0)
          return k.syserr(td, EINVAL, 'arena not 128-byte aligned');
        a = arena;
        len = length;
      }
      const e = vmCheriRevokeShadowInstall(k, vms);
      if (e !== 0) return k.syserr(td, e, 'cannot install the shadow region');
      const slice: CheriRevokeShadowSlice = {
        base: vmCheriRevokeShadowByte(a),
        length: flags === CHERI_REVOKE_SHADOW_NOVMMAP ? len / 128 : VM_CHERI_REVOKE_SHADOW_SIZE,
      };
      td.retobj = slice;
      td.retval = slice.base;
      return 0;
    }
    case CHERI_REVOKE_SHADOW_OTYPE:
      return k.syserr(td, EOPNOTSUPP, 'otype shadow not modelled');
    default:
      return k.syserr(td, EINVAL, 'unknown shadow selector');
  }
}

/*
 * PageFault cause 'cap-load-gen' (R47): a tagged capability load through a page of a stale
 * load generation.  Visit the page (revoke what is painted on it, with this vmspace's
 * shadow), refresh its generation, retry the load.
 */
export function revokeLoadBarrierFault(k: Kernel, td: Thread, va: number): TrapAction {
  const p = td.proc;
  if (p.state !== 'run') return 'killed';
  const vms = p.vmspace!;
  const t0 = performance.now();
  const c = cookie(k, vms, false, false); /* other threads may run: the revoked form is untagged */
  vmCheriRevokeFaultVisit(c, va);
  vmCheriRevokeCookieDone(c);
  vms.revoke.stats.fault_visits++;
  vms.revoke.stats.fault_cycles += Math.round((performance.now() - t0) * 1e6);
  return 'retry';
}

/* R42's check_revoked on 16 memory bytes (tests, the guest library). */
export function cheriRevokeIsRevoked(bytes: Uint8Array, tag: boolean): boolean {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, 16);
  return capIsRevoked(tag, dv.getUint32(0, true), dv.getUint32(4, true));
}

export type { CheriRevokeSt } from '../vm/vm_cheri_revoke_state.js';
