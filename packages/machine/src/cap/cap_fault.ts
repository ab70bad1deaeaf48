/*
 * Capability faults: the traps a CHERI check raises, named by their ISA cause (Sail CapEx)
 * and by the SIGPROT si_code CheriBSD delivers for them.
 *
 * CapEx values: Sail cheri-riscv CapEx encoding (as in QEMU's CheriCapExcCause).
 * si_code values: CheriBSD sys/sys/signal.h, "codes for SIGPROT" (values 1-8 and 11 read
 * there); CapEx → si_code: CheriBSD sys/riscv/cheri/cheri_exception.c cheri_stval_to_sicode().
 * PROT_CHERI_CINVOKE and PROT_CHERI_UNALIGNED_BASE are named by cheri_stval_to_sicode() but
 * their values were not found in the headers available: CINVOKE takes slot 9 (the old
 * PROT_CHERI_CCALL) and UNALIGNED_BASE 12 — both assumed, as in the kernel's sys/signal.ts.
 */

export const CapEx = {
  LengthViolation: 0x01,
  TagViolation: 0x02,
  SealViolation: 0x03,
  TypeViolation: 0x04,
  UserDefViolation: 0x08,
  InexactBounds: 0x0a,
  UnalignedBase: 0x0b,
  GlobalViolation: 0x10,
  PermitExecuteViolation: 0x11,
  PermitLoadViolation: 0x12,
  PermitStoreViolation: 0x13,
  PermitLoadCapViolation: 0x14,
  PermitStoreCapViolation: 0x15,
  PermitStoreLocalCapViolation: 0x16,
  PermitSealViolation: 0x17,
  AccessSystemRegsViolation: 0x18,
  PermitCInvokeViolation: 0x19,
  PermitUnsealViolation: 0x1b,
  PermitSetCIDViolation: 0x1c,
} as const;
export type CapEx = (typeof CapEx)[keyof typeof CapEx];
export type CapExName = keyof typeof CapEx;

/* SIGPROT si_codes. */
export const PROT_CHERI = {
  PROT_CHERI_BOUNDS: 1,
  PROT_CHERI_TAG: 2,
  PROT_CHERI_SEALED: 3,
  PROT_CHERI_TYPE: 4,
  PROT_CHERI_PERM: 5,
  PROT_CHERI_STORETAG: 6,
  PROT_CHERI_IMPRECISE: 7,
  PROT_CHERI_STORELOCAL: 8,
  PROT_CHERI_CINVOKE: 9, // assumed
  PROT_CHERI_SYSREG: 11,
  PROT_CHERI_UNALIGNED_BASE: 12, // assumed
} as const;
export type ProtCheriCode = keyof typeof PROT_CHERI;

const SI_CODE_OF: Readonly<Record<CapEx, ProtCheriCode>> = {
  [CapEx.LengthViolation]: 'PROT_CHERI_BOUNDS',
  [CapEx.TagViolation]: 'PROT_CHERI_TAG',
  [CapEx.SealViolation]: 'PROT_CHERI_SEALED',
  [CapEx.TypeViolation]: 'PROT_CHERI_TYPE',
  [CapEx.UserDefViolation]: 'PROT_CHERI_PERM',
  [CapEx.InexactBounds]: 'PROT_CHERI_IMPRECISE',
  [CapEx.UnalignedBase]: 'PROT_CHERI_UNALIGNED_BASE',
  [CapEx.GlobalViolation]: 'PROT_CHERI_STORELOCAL',
  [CapEx.PermitExecuteViolation]: 'PROT_CHERI_PERM',
  [CapEx.PermitLoadViolation]: 'PROT_CHERI_PERM',
  [CapEx.PermitStoreViolation]: 'PROT_CHERI_PERM',
  [CapEx.PermitLoadCapViolation]: 'PROT_CHERI_PERM',
  [CapEx.PermitStoreCapViolation]: 'PROT_CHERI_PERM',
  [CapEx.PermitStoreLocalCapViolation]: 'PROT_CHERI_STORELOCAL',
  [CapEx.PermitSealViolation]: 'PROT_CHERI_PERM',
  [CapEx.AccessSystemRegsViolation]: 'PROT_CHERI_SYSREG',
  [CapEx.PermitCInvokeViolation]: 'PROT_CHERI_CINVOKE',
  [CapEx.PermitUnsealViolation]: 'PROT_CHERI_PERM',
  [CapEx.PermitSetCIDViolation]: 'PROT_CHERI_PERM',
};

const NAME_OF = new Map<number, CapExName>(
  Object.entries(CapEx).map(([name, code]) => [code, name as CapExName]),
);

/* 'TagViolation' for 0x02; a hex string for a number that is no CapEx. */
export function capExName(exccode: number): string {
  return NAME_OF.get(exccode) ?? `CapEx 0x${exccode.toString(16)}`;
}

/* The SIGPROT si_code name for a cause. cf. CheriBSD cheri_stval_to_sicode(). */
export function capExToSiCode(exccode: CapEx): ProtCheriCode {
  const code = SI_CODE_OF[exccode];
  if (code === undefined) throw new RangeError(`no SIGPROT code for ${capExName(exccode)}`);
  return code;
}

/* capIdx of a fault raised outside any register (e.g. a derivation done by the kernel). */
export const CAP_IDX_NONE = -1;

/*
 * A capability check failed.  Thrown by the machine (checked loads and stores, cap_ops
 * derivations); the kernel turns it into SIGPROT with si_code = PROT_CHERI[code].
 *   code     the si_code name, e.g. 'PROT_CHERI_TAG'
 *   exccode  the ISA cause (CapEx)
 *   capIdx   the faulting capability register, or CAP_IDX_NONE
 *   vaddr    the address accessed; for derivations, the faulting operand's address
 *            (a double: exact below 2^53)
 */
export class CapabilityFault extends Error {
  override name = 'CapabilityFault';
  readonly code: ProtCheriCode;
  readonly exccode: CapEx;
  readonly capIdx: number;
  readonly vaddr: number;

  constructor(exccode: CapEx, capIdx: number, vaddr: number, options?: ErrorOptions) {
    const via = capIdx === CAP_IDX_NONE ? '' : ` via c${capIdx}`;
    super(`${capExName(exccode)}${via} at 0x${vaddr.toString(16)}`, options);
    this.code = capExToSiCode(exccode);
    this.exccode = exccode;
    this.capIdx = capIdx;
    this.vaddr = vaddr;
  }

  /* The numeric SIGPROT si_code. */
  get siCode(): number {
    return PROT_CHERI[this.code];
  }
}

export function capFault(exccode: CapEx, capIdx: number, vaddr: number): CapabilityFault {
  return new CapabilityFault(exccode, capIdx, vaddr);
}
