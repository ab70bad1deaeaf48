/*
 * CHERI capability-sharing policy: the ONE place that decides which capability
 * permissions a mapping gets, which PROT arguments are refused, what fork and
 * minherit do to capability permissions, and which shm_open flags exist.
 *
 * Everything here is a pure function of its arguments and of the tables below
 * (cheribsd-semantics.md §2 "Which mappings may hold tags" M1–M13 and §3, the
 * PR #2225 ownership model R20–R29).  vm_mmap.ts, vmspace.ts (fork),
 * uipc_shm.ts and sysv_shm.ts ask; they never decide.
 *
 * Regimes (§0.2):
 *   cheribsd-dev     capabilities implied for every R/W mapping whose object can hold tags
 *   cheribsd-strict  no implied capabilities on MAP_SHARED anon/devzero/shm/memfd (S-PORT, #2673)
 *   pr2225           strict + first-vmspace ownership of shm objects, O_SHARECAP, fork strips
 *                    capability permissions of owner-bound shared mappings, minherit limits,
 *                    SysV always shareable  (default)
 * Switches: storeCapFault ('fault' = CheriBSD v9 / Morello, 'strip' = ratified RVY, R5),
 * orphanPolicy (what happens to an shm object whose owner vmspace is gone, R22) and
 * nonOwnerCap (a non-owner's PROT_CAP is refused with EACCES, or mapped without caps, R22).
 */
import { EACCES, EINVAL, ENOTSUP } from '../sys/errno.js';
import {
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_EXCL,
  O_RDONLY,
  O_RDWR,
  O_SHARECAP,
  O_TRUNC,
} from '../sys/fcntl.js';
import {
  _PROT_ALL,
  _PROT_DATA,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_SHARECAP,
  PROT_CAP,
  PROT_EXTRACT,
  PROT_MAX,
  PROT_MAX_EXTRACT,
  PROT_NO_CAP,
  PROT_READ,
  PROT_WRITE,
} from '../sys/mman.js';
import {
  VM_INHERIT_SHARE,
  VM_PROT_CAP,
  VM_PROT_DATA,
  type VmInherit,
  type VmProt,
  vmProtAddCap,
} from '../vm/vm.js';

export type Regime = 'pr2225' | 'cheribsd-strict' | 'cheribsd-dev';
export const REGIMES: readonly Regime[] = ['pr2225', 'cheribsd-strict', 'cheribsd-dev'];
export type StoreCapFault = 'fault' | 'strip';
export type OrphanPolicy = 'none-may-cap' | 'next-opener-becomes-owner';

/* What a non-owner's PROT_CAP request on an owner-bound object gets (R22 [I]: errno unknown). */
export type NonOwnerCap = 'refuse' | 'map-without-cap';

export interface CheriPolicy {
  readonly regime: Regime;
  readonly storeCapFault: StoreCapFault;
  readonly orphanPolicy: OrphanPolicy;
  readonly nonOwnerCap: NonOwnerCap;
}
export const DEFAULT_POLICY: CheriPolicy = {
  regime: 'pr2225',
  storeCapFault: 'fault',
  orphanPolicy: 'none-may-cap',
  nonOwnerCap: 'refuse',
};
export function makePolicy(p: Partial<CheriPolicy> = {}): CheriPolicy {
  const policy = { ...DEFAULT_POLICY, ...p };
  if (!REGIMES.includes(policy.regime)) throw new TypeError(`unknown regime ${String(policy.regime)}`);
  if (policy.storeCapFault !== 'fault' && policy.storeCapFault !== 'strip')
    throw new TypeError(`unknown storeCapFault ${String(policy.storeCapFault)}`);
  if (policy.orphanPolicy !== 'none-may-cap' && policy.orphanPolicy !== 'next-opener-becomes-owner')
    throw new TypeError(`unknown orphanPolicy ${String(policy.orphanPolicy)}`);
  if (policy.nonOwnerCap !== 'refuse' && policy.nonOwnerCap !== 'map-without-cap')
    throw new TypeError(`unknown nonOwnerCap ${String(policy.nonOwnerCap)}`);
  return Object.freeze(policy);
}

/* Backing-object kinds as the policy sees them (§9 item 2). */
export type ObjKind = 'anon' | 'devzero' | 'vnode' | 'shm' | 'memfd' | 'sysv';

/*
 * One cell of §2: what a mapping gets
 *   implied:  without PROT_CAP/PROT_NO_CAP.  T = cap perms follow data perms, F = none (stores fault)
 *   explicit: with PROT_CAP.  T = granted, F = silently none, E = mmap fails (EACCES),
 *             owner = granted only to the owner vmspace or for an OBJ_SHARECAP object, else EACCES
 *   shareCap: PROT_CAP makes the kernel allocate the object eagerly with OBJ_SHARECAP (R25)
 */
export interface PolicyCell {
  readonly cell: string;
  readonly rule: string;
  readonly implied: 'T' | 'F';
  readonly explicit: 'T' | 'F' | 'E' | 'owner';
  readonly shareCap?: true;
}
type CellKey = `${ObjKind}/${'shared' | 'private'}`;

const C = (
  cell: string,
  rule: string,
  implied: 'T' | 'F',
  explicit: PolicyCell['explicit'],
  shareCap?: true,
) =>
  Object.freeze(shareCap ? { cell, rule, implied, explicit, shareCap } : { cell, rule, implied, explicit });

/* §2 table, column by column. */
export const POLICY_TABLE: Readonly<Record<Regime, Readonly<Record<CellKey, PolicyCell>>>> = {
  'cheribsd-dev': {
    'anon/private': C('M1', 'R2', 'T', 'T'),
    'anon/shared': C('M2', 'R2', 'T', 'T'),
    'devzero/shared': C('M3', 'R2', 'T', 'T'),
    'devzero/private': C('M4', 'R2', 'T', 'T'),
    'vnode/shared': C('M5', 'R1', 'F', 'E'),
    'vnode/private': C('M6', 'R1', 'T', 'T'),
    'shm/shared': C('M7', 'R13', 'T', 'T'),
    'memfd/shared': C('M9', 'R13', 'T', 'T'),
    'shm/private': C('M10', 'R32', 'T', 'T'),
    'memfd/private': C('M10', 'R32', 'T', 'T'),
    'sysv/shared': C('M13', 'R5', 'F', 'F'),
    'sysv/private': C('M13', 'R5', 'F', 'F'),
  },
  'cheribsd-strict': {
    'anon/private': C('M1', 'R2', 'T', 'T'),
    'anon/shared': C('M2', 'R21', 'F', 'T'),
    'devzero/shared': C('M3', 'R21', 'F', 'T'),
    'devzero/private': C('M4', 'R2', 'T', 'T'),
    'vnode/shared': C('M5', 'R1', 'F', 'E'),
    'vnode/private': C('M6', 'R1', 'T', 'T'),
    'shm/shared': C('M7', 'R21', 'F', 'T'),
    'memfd/shared': C('M9', 'R21', 'F', 'T'),
    'shm/private': C('M10', 'R32', 'T', 'T'),
    'memfd/private': C('M10', 'R32', 'T', 'T'),
    'sysv/shared': C('M13', 'R5', 'F', 'F'),
    'sysv/private': C('M13', 'R5', 'F', 'F'),
  },
  pr2225: {
    'anon/private': C('M1', 'R2', 'T', 'T'),
    'anon/shared': C('M2', 'R25', 'F', 'T', true),
    'devzero/shared': C('M3', 'R25', 'F', 'T', true),
    'devzero/private': C('M4', 'R2', 'T', 'T'),
    'vnode/shared': C('M5', 'R1', 'F', 'E'),
    'vnode/private': C('M6', 'R1', 'T', 'T'),
    'shm/shared': C('M7', 'R22', 'F', 'owner'),
    'memfd/shared': C('M9', 'R22', 'F', 'owner'),
    'shm/private': C('M10', 'R32', 'T', 'T'),
    'memfd/private': C('M10', 'R32', 'T', 'T'),
    'sysv/shared': C('M13', 'R26', 'T', 'T'),
    'sysv/private': C('M13', 'R26', 'T', 'T'),
  },
};

export function policyCell(regime: Regime, kind: ObjKind, shared: boolean): PolicyCell {
  return POLICY_TABLE[regime][`${kind}/${shared ? 'shared' : 'private'}`];
}

/* Relation of the calling vmspace to an object's owner binding (R22). */
export type OwnerRelation = 'unbound' | 'caller' | 'other' | 'orphan';

/* ------------------------------------------------------------------------------------------ */
/* PROT argument decoding (R3)                                                                 */

type CapMode = 'implied' | 'cap' | 'nocap';
export interface DecodedProt {
  readonly error: number;
  readonly why: string;
  readonly data: VmProt /* VM_PROT_READ/WRITE/EXECUTE (same bits as PROT_*) */;
  readonly capMode: CapMode;
  readonly maxGiven: boolean;
  readonly maxData: VmProt;
  readonly maxCapMode: CapMode;
}

const decodeFail = (error: number, why: string): DecodedProt => ({
  error,
  why,
  data: 0,
  capMode: 'implied',
  maxGiven: false,
  maxData: 0,
  maxCapMode: 'implied',
});

/*
 * Split a prot argument into data permissions, capability mode and PROT_MAX.
 * R3: prot exceeding PROT_MAX, an explicit cap flag in prot without one in PROT_MAX,
 * PROT_CAP without data permission (in prot or in PROT_MAX) give ENOTSUP.
 */
export function protDecode(prot: number): DecodedProt {
  if (
    !Number.isInteger(prot) ||
    prot < 0 ||
    prot > 0x7fffffff ||
    (prot & ~(_PROT_ALL | PROT_MAX(_PROT_ALL))) !== 0
  )
    return decodeFail(EINVAL, 'unknown PROT bits');
  const p = PROT_EXTRACT(prot);
  const m = PROT_MAX_EXTRACT(prot);
  if ((p & PROT_CAP && p & PROT_NO_CAP) || (m & PROT_CAP && m & PROT_NO_CAP))
    return decodeFail(EINVAL, 'both PROT_CAP and PROT_NO_CAP');
  const capMode: CapMode = p & PROT_CAP ? 'cap' : p & PROT_NO_CAP ? 'nocap' : 'implied';
  const maxGiven = m !== 0;
  const maxCapMode: CapMode = m & PROT_CAP ? 'cap' : m & PROT_NO_CAP ? 'nocap' : 'implied';
  const data = p & _PROT_DATA;
  const maxData = maxGiven ? m & _PROT_DATA : _PROT_DATA;
  if (capMode === 'cap' && (p & (PROT_READ | PROT_WRITE)) === 0)
    return decodeFail(ENOTSUP, 'PROT_CAP without PROT_READ or PROT_WRITE');
  if (maxGiven) {
    if ((data & ~maxData) !== 0) return decodeFail(ENOTSUP, 'prot exceeds PROT_MAX');
    if (capMode !== 'implied' && maxCapMode === 'implied')
      return decodeFail(ENOTSUP, 'explicit capability flag in prot but not in PROT_MAX');
    if (capMode === 'cap' && maxCapMode === 'nocap')
      return decodeFail(ENOTSUP, 'PROT_CAP in prot, PROT_NO_CAP in max');
    if (maxCapMode === 'cap' && (m & (PROT_READ | PROT_WRITE)) === 0)
      return decodeFail(ENOTSUP, 'PROT_MAX(PROT_CAP) without PROT_READ or PROT_WRITE');
  }
  return { error: 0, why: '', data, capMode, maxGiven, maxData, maxCapMode };
}

/* ------------------------------------------------------------------------------------------ */
/* mmap                                                                                        */

export interface MmapCapQuery {
  readonly kind: ObjKind;
  readonly shared: boolean;
  readonly prot: number;
  readonly objShareCap: boolean /* OBJ_SHARECAP on the backing object */;
  readonly owner: OwnerRelation;
}
export interface MmapCapDecision {
  readonly error: number /* 0 or errno */;
  readonly why: string;
  readonly cell: PolicyCell;
  readonly protection: VmProt;
  readonly maxProtection: VmProt;
  readonly setShareCap: boolean /* allocate the object now, flagged OBJ_SHARECAP (R25) */;
}

const capsFor = (data: VmProt): VmProt => vmProtAddCap(data) & VM_PROT_CAP;

function explicitGranted(cell: PolicyCell, q: { objShareCap: boolean; owner: OwnerRelation }): boolean {
  if (cell.explicit === 'T') return true;
  if (cell.explicit === 'owner') return q.objShareCap || q.owner === 'caller' || q.owner === 'unbound';
  return false;
}

/*
 * The grant function of §9 item 5: (policy, object kind, MAP_SHARED/PRIVATE, prot,
 * owner relation, OBJ_SHARECAP) -> protection, max_protection or an errno.
 */
export function mmapCapDecision(policy: CheriPolicy, q: MmapCapQuery): MmapCapDecision {
  const cell = policyCell(policy.regime, q.kind, q.shared);
  const d = protDecode(q.prot);
  const fail = (error: number, why: string): MmapCapDecision => ({
    error,
    why,
    cell,
    protection: 0,
    maxProtection: 0,
    setShareCap: false,
  });
  if (d.error !== 0) return fail(d.error, d.why);
  const granted = explicitGranted(cell, q);
  const silent = cell.explicit === 'owner' && policy.nonOwnerCap === 'map-without-cap';
  const refusal = (): MmapCapDecision =>
    cell.explicit === 'E'
      ? fail(EACCES, `${cell.cell}: PROT_CAP on a MAP_SHARED file mapping (PR #2661)`)
      : fail(EACCES, `${cell.cell}: PROT_CAP on an object owned by another vmspace (R22)`);
  let cur = 0;
  if (d.capMode === 'cap') {
    if (!granted && cell.explicit !== 'F' && !silent) return refusal();
    cur = granted ? capsFor(d.data) : 0;
  } else if (d.capMode === 'implied') {
    cur = cell.implied === 'T' ? capsFor(d.data) : 0;
  }
  let max = 0;
  if (d.maxCapMode === 'cap') {
    if (!granted && cell.explicit !== 'F' && !silent) return refusal();
    max = granted ? capsFor(d.maxData) : 0;
  } else if (d.maxCapMode === 'implied') {
    const ok = d.capMode === 'cap' ? granted : cell.implied === 'T';
    max = ok ? capsFor(d.maxData) : 0;
  }
  const protection = d.data | cur;
  const maxProtection = d.maxData | max;
  return {
    error: 0,
    why: '',
    cell,
    protection,
    maxProtection,
    setShareCap: cell.shareCap === true && d.capMode === 'cap' && granted,
  };
}

/* ------------------------------------------------------------------------------------------ */
/* mprotect (R4)                                                                               */

export interface MprotectDecision {
  readonly error: number;
  readonly why: string;
  readonly protection: VmProt;
  readonly maxProtection: VmProt;
}

/*
 * New protection for one entry.  PROT_NO_CAP removes capability permissions (R4);
 * PROT_CAP asks for them explicitly (EACCES if max_protection lacks them); plain
 * R/W re-implies them iff max_protection carries them (PR #2162).  PROT_MAX may only
 * lower the entry's max_protection.
 */
export function mprotectDecision(entryProt: VmProt, entryMax: VmProt, prot: number): MprotectDecision {
  const d = protDecode(prot);
  const fail = (error: number, why: string) => ({
    error,
    why,
    protection: entryProt,
    maxProtection: entryMax,
  });
  if (d.error !== 0) return fail(d.error, d.why);
  let max = entryMax;
  if (d.maxGiven) {
    const maxCaps = d.maxCapMode === 'nocap' ? 0 : capsFor(d.maxData) & entryMax;
    if ((d.maxData & ~(entryMax & VM_PROT_DATA)) !== 0) return fail(EACCES, 'PROT_MAX above max_protection');
    if (d.maxCapMode === 'cap' && (capsFor(d.maxData) & ~entryMax) !== 0)
      return fail(EACCES, 'PROT_MAX(PROT_CAP) above max_protection');
    max = d.maxData | maxCaps;
  }
  if ((d.data & ~(max & VM_PROT_DATA)) !== 0) return fail(EACCES, 'prot above max_protection');
  let caps = 0;
  if (d.capMode === 'cap') {
    caps = capsFor(d.data);
    if ((caps & ~max) !== 0) return fail(EACCES, 'PROT_CAP but max_protection has no capability permission');
  } else if (d.capMode === 'implied') {
    caps = capsFor(d.data) & max;
  }
  return { error: 0, why: '', protection: d.data | caps, maxProtection: max };
}

/* ------------------------------------------------------------------------------------------ */
/* fork (R23, R30) and minherit (R27)                                                          */

/*
 * Capability permissions a fork child keeps on an inherited entry.  Returns the mask
 * to AND into the child's protection and max_protection.  PR #2225: a VM_INHERIT_SHARE
 * entry of an owner-bound object (shm/memfd, not OBJ_SHARECAP) loses cap-load and
 * cap-store in the child (R23).  Other regimes share as FreeBSD does (R30, R31).
 */
export function forkCapMask(
  policy: CheriPolicy,
  inheritance: VmInherit,
  obj: { kind: ObjKind; shareCap: boolean } | null,
): VmProt {
  if (policy.regime !== 'pr2225' || inheritance !== VM_INHERIT_SHARE || obj === null) return ~0;
  if ((obj.kind === 'shm' || obj.kind === 'memfd') && !obj.shareCap) return ~VM_PROT_CAP;
  return ~0;
}

/*
 * minherit(2) on one entry.  PR #2225 (R27): no-op requests are allowed; INHERIT_SHARE
 * only on entries without capability permissions (current or max) or whose object is
 * OBJ_SHARECAP.  The errno for a refusal is not known; we answer EACCES. [I]
 */
export function minheritDecision(
  policy: CheriPolicy,
  entry: { inheritance: VmInherit; protection: VmProt; maxProtection: VmProt },
  objShareCap: boolean,
  inherit: VmInherit,
): { error: number; why: string } {
  if (policy.regime !== 'pr2225' || inherit === entry.inheritance) return { error: 0, why: '' };
  if (
    inherit === VM_INHERIT_SHARE &&
    ((entry.protection | entry.maxProtection) & VM_PROT_CAP) !== 0 &&
    !objShareCap
  )
    return { error: EACCES, why: 'R27: INHERIT_SHARE on a capability-bearing mapping; use mmap(MAP_SHARED)' };
  return { error: 0, why: '' };
}

/* ------------------------------------------------------------------------------------------ */
/* shm objects: flag allow-list (R24), owner binding (R22), SysV (R26)                         */

/* shm_open flags are checked against a positive allow-list (R24). */
export function shmOpenFlagsCheck(
  policy: CheriPolicy,
  flags: number,
  anon: boolean,
): { error: number; why: string } {
  const allowed =
    O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC | (policy.regime === 'pr2225' ? O_SHARECAP : 0);
  if (!Number.isInteger(flags) || flags < 0 || (flags & ~allowed) !== 0)
    return { error: EINVAL, why: 'flag outside the shm_open allow-list' };
  const acc = flags & O_ACCMODE;
  if (acc !== O_RDONLY && acc !== O_RDWR) return { error: EINVAL, why: 'shm_open needs O_RDONLY or O_RDWR' };
  if (anon && acc === O_RDONLY) return { error: EINVAL, why: 'SHM_ANON needs O_RDWR' };
  return { error: 0, why: '' };
}

export function memfdFlagsCheck(policy: CheriPolicy, flags: number): { error: number; why: string } {
  const allowed = MFD_CLOEXEC | MFD_ALLOW_SEALING | (policy.regime === 'pr2225' ? MFD_SHARECAP : 0);
  if (!Number.isInteger(flags) || flags < 0 || (flags & ~allowed) !== 0)
    return { error: EINVAL, why: 'flag outside the memfd_create allow-list' };
  return { error: 0, why: '' };
}

/* Does this regime bind shm/memfd objects to an owner vmspace at all? */
export function shmOwnerBinding(policy: CheriPolicy): boolean {
  return policy.regime === 'pr2225';
}

/*
 * The owner an object has after `opener` opens it (R22): the creator on creation; on a
 * later open, unchanged -- unless the owner is gone and the orphan policy hands the
 * object to the next opener.  Owner ids are vmspace ids, which never recur.
 */
export function shmOwnerAfterOpen(
  policy: CheriPolicy,
  obj: { owner: number; ownerAlive: boolean },
  opener: number,
  creating: boolean,
): number {
  if (!shmOwnerBinding(policy)) return 0;
  if (creating) return opener;
  if (!obj.ownerAlive && policy.orphanPolicy === 'next-opener-becomes-owner') return opener;
  return obj.owner;
}

export function ownerRelation(
  policy: CheriPolicy,
  obj: { owner: number; ownerAlive: boolean },
  caller: number,
): OwnerRelation {
  if (!shmOwnerBinding(policy) || obj.owner === 0) return 'unbound';
  if (!obj.ownerAlive) return 'orphan';
  return obj.owner === caller ? 'caller' : 'other';
}

/* SysV segments are OBJ_SHARECAP under PR #2225 (R26). */
export function sysvShareCap(policy: CheriPolicy): boolean {
  return policy.regime === 'pr2225';
}

/* O_SHARECAP / MFD_SHARECAP exist only under PR #2225 (R24). */
export function shareCapFlagHonoured(policy: CheriPolicy): boolean {
  return policy.regime === 'pr2225';
}
