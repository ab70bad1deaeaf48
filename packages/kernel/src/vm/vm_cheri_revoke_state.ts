/*
 * Per-vmspace revocation state: the epoch clock (R43), the state machine (R45), the shadow
 * bitmap's place (R40) and the counters.  Kept apart from the pass driver so that vmspace.ts
 * (alloc, fork) can hold and copy it without importing the revoker.
 * cf. CheriBSD struct vm_cheri_revoke_info / vm_map's vm_cheri_revoke_st.
 *
 * List of owners  (k) kernel only
 */
import { type CheriRevokeStats, cheriRevokeStatsZero } from '../sys/revoke.js';
import type { VmPage } from './vm_page.js';
import { VM_MAX_USER_ADDRESS } from './vm_param.js';

/*
 * The fine shadow: one bit per 16-byte granule of [0, VM_MAX_USER_ADDRESS), i.e. 2^47 / 128
 * = 2^40 bytes, in a reserved anonymous region just below the top of the user address space.
 * The bit for va is bit (va >> 4) & 7 of byte SHADOW_BASE + (va >> 7) (R40).
 */
export const VM_CHERI_REVOKE_SHADOW_SIZE = VM_MAX_USER_ADDRESS / 128;
export const VM_CHERI_REVOKE_SHADOW_BASE = VM_MAX_USER_ADDRESS - VM_CHERI_REVOKE_SHADOW_SIZE;

/* Odd epoch = a revocation pass is open.  cf. cheri_revoke_epoch_clears(). */
export function cheriRevokeEpochClears(now: number, then: number): boolean {
  return now >= then + (then & 1) + 2;
}

/* vm_cheri_revoke_st (R45) */
export const CHERI_REVOKE_ST_NONE = 0; /* even epoch, idle */
export const CHERI_REVOKE_ST_SS_INITING = 1; /* store-side: opening pass running (epoch even) */
export const CHERI_REVOKE_ST_SS_INITED = 2; /* store-side: epoch open (odd) */
export const CHERI_REVOKE_ST_SS_LAST = 3; /* store-side: world stopped, final pass (odd) */
export const CHERI_REVOKE_ST_LS_INITING = 4; /* load-side: stopping the world to open (even) */
export const CHERI_REVOKE_ST_LS_INITED = 5; /* load-side: epoch open, load barrier armed (odd) */
export const CHERI_REVOKE_ST_LS_CLOSING = 6; /* load-side: background sweep closing (odd) */
export type CheriRevokeSt = 0 | 1 | 2 | 3 | 4 | 5 | 6;

export const CHERI_REVOKE_ST_NAMES = [
  'NONE',
  'SS_INITING',
  'SS_INITED',
  'SS_LAST',
  'LS_INITING',
  'LS_INITED',
  'LS_CLOSING',
] as const;

/* A call is in the middle of a transition: a second revoker waits (or returns with NO_WAIT_OK). */
export function cheriRevokeStBusy(st: CheriRevokeSt): boolean {
  return (
    st === CHERI_REVOKE_ST_SS_INITING ||
    st === CHERI_REVOKE_ST_SS_LAST ||
    st === CHERI_REVOKE_ST_LS_INITING ||
    st === CHERI_REVOKE_ST_LS_CLOSING
  );
}

export interface VmCheriRevokeState {
  epoch: number /* (k) the clock: even idle, odd open */;
  enqueue: number /* (k) published: label for newly quarantined objects */;
  dequeue: number /* (k) published: removal gate */;
  st: CheriRevokeSt /* (k) */;
  shadow: boolean /* (k) the shadow region is installed in the map */;
  /*
   * (k) pages visited in the open epoch: each is demoted at most one step per epoch (R47
   * page states), and under load-side they are the pages whose PTEs get the current load
   * generation (the others are entered stale, so their first capability load traps).
   */
  visited: Set<VmPage>;
  stats: CheriRevokeStats /* (k) since the last TAKE_STATS */;
}

export function vmCheriRevokeStateInit(): VmCheriRevokeState {
  return {
    epoch: 0,
    enqueue: 0,
    dequeue: 0,
    st: CHERI_REVOKE_ST_NONE,
    shadow: false,
    visited: new Set(),
    stats: cheriRevokeStatsZero(),
  };
}

/*
 * fork: the child starts with the parent's revocation state (R43 [I]: a child can finish an
 * epoch its parent opened).  A transition in progress is the caller's, which the child is
 * not: the child gets the stable state it would roll back to.  The child's page tables start
 * empty and its visited set empty, so under an open load-side epoch every page it maps is
 * entered stale and visited on its first capability load.
 */
export function vmCheriRevokeStateForkInto(from: VmCheriRevokeState, to: VmCheriRevokeState): void {
  let st = from.st;
  let epoch = from.epoch;
  if (st === CHERI_REVOKE_ST_SS_INITING || st === CHERI_REVOKE_ST_LS_INITING) st = CHERI_REVOKE_ST_NONE;
  else if (st === CHERI_REVOKE_ST_SS_LAST) st = CHERI_REVOKE_ST_SS_INITED;
  else if (st === CHERI_REVOKE_ST_LS_CLOSING) st = CHERI_REVOKE_ST_LS_INITED;
  if (st === CHERI_REVOKE_ST_NONE && (epoch & 1) === 1) epoch--; /* not reached: INITING is even */
  to.epoch = epoch;
  to.enqueue = from.enqueue;
  to.dequeue = from.dequeue;
  to.st = st;
  to.shadow = from.shadow;
  to.visited = new Set();
  to.stats = cheriRevokeStatsZero();
}

/* pmap hook: enter m with a stale capability load generation (an open load-side epoch has not visited it). */
export function vmCheriRevokeLoadGenStale(s: VmCheriRevokeState, m: VmPage): boolean {
  return (s.st === CHERI_REVOKE_ST_LS_INITED || s.st === CHERI_REVOKE_ST_LS_CLOSING) && !s.visited.has(m);
}
