/*
 * cheri_revoke(2) / cheri_revoke_get_shadow(2) user ABI.  cf. CheriBSD sys/cheri/revoke.h.
 * Flag values of cheri_revoke are verified (R44); the shadow-space selectors are [assumed]
 * (NOVMMAP 0, OTYPE 1, INFO_STRUCT 3 follow revoke.h's layout; NOVMMAP_ENTIRE is ours).
 */

/* cheri_revoke(2) flags (R44) */
export const CHERI_REVOKE_LAST_PASS = 0x0001; /* finish the epoch, opening one first if needed */
export const CHERI_REVOKE_NO_WAIT_OK = 0x0002; /* may return without progress (another pass is busy) */
export const CHERI_REVOKE_IGNORE_START = 0x0004; /* use "now" instead of the start_epoch argument */
export const CHERI_REVOKE_ONLY_IF_OPEN = 0x0008; /* do nothing unless an epoch is open */
export const CHERI_REVOKE_LAST_NO_EARLY = 0x0010; /* skip the concurrent pre-pass of a LAST_PASS */
export const CHERI_REVOKE_EARLY_SYNC = 0x0020; /* sync capdirty before a non-final pass (always done here) */
export const CHERI_REVOKE_FORCE_LOAD_SIDE = 0x0040; /* open the epoch load-side (Cornucopia Reloaded) */
export const CHERI_REVOKE_FORCE_STORE_SIDE = 0x0080; /* open the epoch store-side (Cornucopia) */
export const CHERI_REVOKE_TAKE_STATS = 0x1000; /* report and reset the counters */
/*
 * [assumed value] Newer kernels: queue the pass to a revoker and return at once with an open
 * epoch (enqueue == dequeue + 1).  Handled by the worker transport, which runs the closing
 * pass in the background; the kernel's own phases never see it.
 */
export const CHERI_REVOKE_ASYNC = 0x2000;
export const CHERI_REVOKE_KNOWN_FLAGS =
  CHERI_REVOKE_LAST_PASS |
  CHERI_REVOKE_NO_WAIT_OK |
  CHERI_REVOKE_IGNORE_START |
  CHERI_REVOKE_ONLY_IF_OPEN |
  CHERI_REVOKE_LAST_NO_EARLY |
  CHERI_REVOKE_EARLY_SYNC |
  CHERI_REVOKE_FORCE_LOAD_SIDE |
  CHERI_REVOKE_FORCE_STORE_SIDE |
  CHERI_REVOKE_TAKE_STATS;

/* cheri_revoke_get_shadow(2) selectors [assumed values] */
export const CHERI_REVOKE_SHADOW_NOVMMAP = 0x00; /* fine shadow slice for an arena: 1 bit per 16 B */
export const CHERI_REVOKE_SHADOW_OTYPE = 0x01; /* otype shadow: declared, unused (EOPNOTSUPP here) */
export const CHERI_REVOKE_SHADOW_INFO_STRUCT = 0x03; /* the info struct: epochs */
export const CHERI_REVOKE_SHADOW_NOVMMAP_ENTIRE = 0x07; /* the whole fine shadow [ours] */

/* Shadow arenas start and end on this boundary, so a slice is whole bytes of shadow (R40). */
export const CHERI_REVOKE_SHADOW_ALIGN = 128;

/* cheri_revoke_epoch_t pair the kernel publishes (R43). */
export interface CheriRevokeEpochs {
  readonly enqueue: number /* label for objects entering quarantine now */;
  readonly dequeue: number /* gate: an object stamped E may leave when clears(dequeue, E) */;
}

/* struct cheri_revoke_info (what CHERI_REVOKE_SHADOW_INFO_STRUCT points at). */
export interface CheriRevokeInfo {
  readonly base_mem_nomap: number /* user VA of the fine shadow (shadow byte of VA 0) */;
  readonly base_otype: number /* otype shadow: not modelled, 0 */;
  readonly epochs: CheriRevokeEpochs;
}

/* struct cheri_revoke_stats (S-REVH names).  Cycle counters are nanoseconds here. */
export interface CheriRevokeStats {
  page_scan_cycles: number;
  fault_cycles: number;
  pages_scan_ro: number /* COW-shared pages checked without a rewrite */;
  pages_scan_rw: number /* pages swept in place */;
  pages_faulted_ro: number;
  pages_faulted_rw: number /* COW-shared pages copied (forced write fault) before their rewrite (R33) */;
  fault_visits: number /* load-barrier faults (R47) */;
  pages_skip_fast: number;
  pages_skip_nofill: number /* not resident */;
  pages_skip: number /* resident, never held a capability (not CAPSTORE/CAPDIRTY) */;
  caps_found: number;
  caps_found_revoked: number;
  caps_cleared: number;
  lines_scan: number;
  pages_mark_clean: number /* CAPSTORE pages demoted to clean */;
  regs_scan: number /* [ours] tagged registers examined */;
  regs_cleared: number /* [ours] registers revoked */;
}

export function cheriRevokeStatsZero(): CheriRevokeStats {
  return {
    page_scan_cycles: 0,
    fault_cycles: 0,
    pages_scan_ro: 0,
    pages_scan_rw: 0,
    pages_faulted_ro: 0,
    pages_faulted_rw: 0,
    fault_visits: 0,
    pages_skip_fast: 0,
    pages_skip_nofill: 0,
    pages_skip: 0,
    caps_found: 0,
    caps_found_revoked: 0,
    caps_cleared: 0,
    lines_scan: 0,
    pages_mark_clean: 0,
    regs_scan: 0,
    regs_cleared: 0,
  };
}

/* struct cheri_revoke_syscall_info: what cheri_revoke(2) returns (td.retobj). */
export interface CheriRevokeSyscallInfo {
  readonly epochs: CheriRevokeEpochs;
  readonly stats: CheriRevokeStats | null /* with CHERI_REVOKE_TAKE_STATS */;
}

/* What cheri_revoke_get_shadow(NOVMMAP*) returns (td.retobj; td.retval = base). */
export interface CheriRevokeShadowSlice {
  readonly base: number /* user VA of the shadow byte for the arena's first granule */;
  readonly length: number /* bytes of shadow */;
}
