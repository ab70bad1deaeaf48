/*
 * CHERI capability derivations, as the CHERI-RISC-V v9 instructions perform them (Sail
 * cheri_insts.sail): each returns a new Capability and never widens bounds or permissions.
 *
 * How a violation shows (the rule of this file):
 *   - where v9 traps, the op throws a CapabilityFault with the Sail cause and the same check
 *     order (tag, seal, permission, bounds...).  E.g. CSeal with an untagged sealer →
 *     TagViolation; CSetBoundsExact with inexact bounds → InexactBounds (PROT_CHERI_IMPRECISE);
 *     CSetAddr on a tagged sealed capability → SealViolation.
 *   - where v9 clears the tag, the op returns an untagged result: setAddr/incOffset to an
 *     unrepresentable address (the bounds are then whatever the bits decode to there).
 * The non-trapping, tag-clearing forms of ccc live in cc128.ts (cc128Setbounds).
 *
 * capIdx arguments only label a fault (CapabilityFault.capIdx); the default is CAP_IDX_NONE.
 */
import { CAP_IDX_NONE, CapabilityFault, CapEx } from './cap_fault.js';
import {
  CAP_MAX_SEALABLE_OTYPE,
  CAP_OTYPE_SENTRY,
  CAP_OTYPE_UNSEALED,
  otypeIsReserved,
} from './cap_otype.js';
import {
  CHERI_PERM_EXECUTE,
  CHERI_PERM_GLOBAL,
  CHERI_PERM_SEAL,
  CHERI_PERM_UNSEAL,
  CHERI_PERMS_ALL,
} from './cap_perms.js';
import { Capability } from './capability.js';
import {
  CC128_MAX_ADDR,
  CC128_NULL_PESBT,
  CC128_RESET_PESBT,
  cc128IsRepresentableWithAddr,
  cc128Setbounds,
  cc128SetOtype,
  cc128SetPerms,
} from './cc128.js';

/* An address, length or offset: a bigint, or a number that is a safe integer. */
export type CapInt = bigint | number;

function toBigInt(value: CapInt, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} ${value} is not a safe integer`);
  return BigInt(value);
}

function toAddress(value: CapInt, what: string): bigint {
  const v = toBigInt(value, what);
  if (v < 0n || v > CC128_MAX_ADDR)
    throw new RangeError(`${what} 0x${v.toString(16)} is not a 64-bit address`);
  return v;
}

function fault(exccode: CapEx, capIdx: number, cap: Capability): CapabilityFault {
  return new CapabilityFault(exccode, capIdx, Number(cap.cursor));
}

function requireTaggedUnsealed(cap: Capability, capIdx: number): void {
  if (!cap.tag) throw fault(CapEx.TagViolation, capIdx, cap);
  if (cap.isSealed) throw fault(CapEx.SealViolation, capIdx, cap);
}

/* Whether [addr, addr + size) lies in the capability's bounds (Sail inCapBounds). */
function inCapBounds(cap: Capability, addr: bigint, size: bigint): boolean {
  return addr >= cap.base && addr + size <= cap.top;
}

/* The NULL capability: untagged, no permissions, bounds [0, 2^64), address 0. All zeros in memory. */
export const CAP_NULL = new Capability(CC128_NULL_PESBT, 0n, false);

const CAP_ALMIGHTY = new Capability(CC128_RESET_PESBT, 0n, true);

/* The reset capability: tagged, base 0, top 2^64, every permission, unsealed. */
export function capAlmighty(): Capability {
  return CAP_ALMIGHTY;
}

/* A NULL-derived (integer) capability holding addr: what CFromPtr of 0 / int-to-cap gives. */
export function capNullDerived(addr: CapInt): Capability {
  return new Capability(CC128_NULL_PESBT, toAddress(addr, 'address'), false);
}

export function capClearTag(cap: Capability): Capability {
  return cap.tag ? new Capability(cap.pesbt, cap.cursor, false) : cap;
}

/*
 * CSetAddr: move the cursor.  The tag is cleared when the bounds would not survive the move.
 * Traps (SealViolation) when cap is tagged and sealed.
 */
export function capSetAddr(cap: Capability, addr: CapInt, capIdx = CAP_IDX_NONE): Capability {
  if (cap.tag && cap.isSealed) throw fault(CapEx.SealViolation, capIdx, cap);
  const newAddr = toAddress(addr, 'address');
  const representable = cc128IsRepresentableWithAddr(cap.pesbt, cap.cursor, newAddr);
  return new Capability(cap.pesbt, newAddr, cap.tag && representable);
}

/* CIncOffset: add a (possibly negative) delta to the cursor, modulo 2^64; as capSetAddr otherwise. */
export function capIncOffset(cap: Capability, delta: CapInt, capIdx = CAP_IDX_NONE): Capability {
  if (cap.tag && cap.isSealed) throw fault(CapEx.SealViolation, capIdx, cap);
  const newAddr = (cap.cursor + toBigInt(delta, 'offset')) & CC128_MAX_ADDR;
  return capSetAddr(cap, newAddr, capIdx);
}

export interface CapSetBoundsResult {
  readonly cap: Capability;
  readonly exact: boolean; // the bounds are exactly [cursor, cursor + length)
}

function setBounds(cap: Capability, length: CapInt, capIdx: number): CapSetBoundsResult {
  const len = toBigInt(length, 'length');
  if (len < 0n) throw new RangeError(`length ${len} is negative`);
  requireTaggedUnsealed(cap, capIdx);
  if (!inCapBounds(cap, cap.cursor, len)) throw fault(CapEx.LengthViolation, capIdx, cap);
  const r = cc128Setbounds(cap.pesbt, cap.cursor, cap.tag, len);
  return { cap: new Capability(r.pesbt, r.cursor, r.tag), exact: r.exact };
}

/*
 * CSetBounds: bounds [cursor, cursor + length), rounded outwards to the nearest representable
 * ones (never beyond the source's bounds, which the request must lie within).
 */
export function capSetBounds(cap: Capability, length: CapInt, capIdx = CAP_IDX_NONE): CapSetBoundsResult {
  return setBounds(cap, length, capIdx);
}

/* CSetBoundsExact: as capSetBounds, but traps with InexactBounds when rounding is needed. */
export function capSetBoundsExact(cap: Capability, length: CapInt, capIdx = CAP_IDX_NONE): Capability {
  const r = setBounds(cap, length, capIdx);
  if (!r.exact) throw fault(CapEx.InexactBounds, capIdx, cap);
  return r.cap;
}

/* CAndPerm: keep only the permissions in mask (a GCPERM word: user perms in bits 15-18). */
export function capAndPerms(cap: Capability, mask: number, capIdx = CAP_IDX_NONE): Capability {
  requireTaggedUnsealed(cap, capIdx);
  return new Capability(cc128SetPerms(cap.pesbt, cap.perms & mask), cap.cursor, true);
}

/*
 * CSeal: seal cap with otype = sealer's address.  The sealer must be tagged, unsealed, carry
 * SEAL, and have its address in bounds and ≤ CAP_MAX_SEALABLE_OTYPE.
 */
export function capSeal(
  cap: Capability,
  sealer: Capability,
  capIdx = CAP_IDX_NONE,
  sealerIdx = CAP_IDX_NONE,
): Capability {
  if (!cap.tag) throw fault(CapEx.TagViolation, capIdx, cap);
  if (!sealer.tag) throw fault(CapEx.TagViolation, sealerIdx, sealer);
  if (cap.isSealed) throw fault(CapEx.SealViolation, capIdx, cap);
  if (sealer.isSealed) throw fault(CapEx.SealViolation, sealerIdx, sealer);
  if ((sealer.perms & CHERI_PERM_SEAL) === 0) throw fault(CapEx.PermitSealViolation, sealerIdx, sealer);
  if (!inCapBounds(sealer, sealer.cursor, 1n)) throw fault(CapEx.LengthViolation, sealerIdx, sealer);
  if (sealer.cursor > BigInt(CAP_MAX_SEALABLE_OTYPE)) throw fault(CapEx.LengthViolation, sealerIdx, sealer);
  return new Capability(cc128SetOtype(cap.pesbt, Number(sealer.cursor)), cap.cursor, true);
}

/*
 * CUnseal: unseal cap with an unsealer whose address is cap's otype.  The result keeps GLOBAL
 * only if both had it.
 */
export function capUnseal(
  cap: Capability,
  unsealer: Capability,
  capIdx = CAP_IDX_NONE,
  unsealerIdx = CAP_IDX_NONE,
): Capability {
  if (!cap.tag) throw fault(CapEx.TagViolation, capIdx, cap);
  if (!unsealer.tag) throw fault(CapEx.TagViolation, unsealerIdx, unsealer);
  if (!cap.isSealed) throw fault(CapEx.SealViolation, capIdx, cap);
  if (unsealer.isSealed) throw fault(CapEx.SealViolation, unsealerIdx, unsealer);
  if (otypeIsReserved(cap.otype)) throw fault(CapEx.TypeViolation, capIdx, cap);
  if (unsealer.cursor !== BigInt(cap.otype)) throw fault(CapEx.TypeViolation, unsealerIdx, unsealer);
  if ((unsealer.perms & CHERI_PERM_UNSEAL) === 0)
    throw fault(CapEx.PermitUnsealViolation, unsealerIdx, unsealer);
  if (!inCapBounds(unsealer, unsealer.cursor, 1n)) throw fault(CapEx.LengthViolation, unsealerIdx, unsealer);
  const keepGlobal = (unsealer.perms & CHERI_PERM_GLOBAL) !== 0;
  const perms = keepGlobal ? cap.perms : cap.perms & ~CHERI_PERM_GLOBAL;
  const pesbt = cc128SetPerms(cc128SetOtype(cap.pesbt, CAP_OTYPE_UNSEALED), perms);
  return new Capability(pesbt, cap.cursor, true);
}

/* CSealEntry: make a sentry (a sealed entry point, unsealed by jumping to it). Needs EXECUTE. */
export function capSealEntry(cap: Capability, capIdx = CAP_IDX_NONE): Capability {
  requireTaggedUnsealed(cap, capIdx);
  if ((cap.perms & CHERI_PERM_EXECUTE) === 0) throw fault(CapEx.PermitExecuteViolation, capIdx, cap);
  return new Capability(cc128SetOtype(cap.pesbt, CAP_OTYPE_SENTRY), cap.cursor, true);
}

/*
 * CTestSubset(b, a): a has the same tag as b, bounds within b's and no permission b lacks.
 * The otype is ignored, as in Sail.
 */
export function capIsSubset(a: Capability, b: Capability): boolean {
  return a.tag === b.tag && a.base >= b.base && a.top <= b.top && (a.perms & ~b.perms) === 0;
}

/*
 * A tagged capability for [base, base + length) with the given permissions, derived from the
 * almighty one, cursor at base.  The bounds must be exactly representable (round them first
 * with cc128GetRepresentableLength / cc128GetAlignmentMask): otherwise this throws a
 * CapabilityFault with InexactBounds.
 */
export function capBuild(base: CapInt, length: CapInt, perms: number = CHERI_PERMS_ALL): Capability {
  const at = capSetAddr(CAP_ALMIGHTY, base);
  return capAndPerms(capSetBoundsExact(at, length), perms);
}
