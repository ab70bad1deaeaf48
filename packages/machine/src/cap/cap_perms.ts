/*
 * CHERI ISA v9 permission bits, as the GCPERM word reports them: 12 hardware permissions in
 * bits 0-11 and 4 software-defined ("user") permissions in bits 15-18.  In the 128-bit
 * encoding the hardware bits sit at 123:112 and the user bits at 127:124; the GCPERM view
 * (and the `perms` field of the cc128 vectors: 0x78fff for the reset capability) moves the
 * user bits to 15-18.
 * cf. CheriBSD sys/riscv/include/cherireg.h, sys/cheri/cherireg.h; ccc CC128_PERM_*.
 */

export const CHERI_PERM_GLOBAL = 1 << 0;
export const CHERI_PERM_EXECUTE = 1 << 1;
export const CHERI_PERM_LOAD = 1 << 2;
export const CHERI_PERM_STORE = 1 << 3;
export const CHERI_PERM_LOAD_CAP = 1 << 4;
export const CHERI_PERM_STORE_CAP = 1 << 5;
export const CHERI_PERM_STORE_LOCAL_CAP = 1 << 6;
export const CHERI_PERM_SEAL = 1 << 7;
export const CHERI_PERM_INVOKE = 1 << 8; /* CheriBSD: CHERI_PERM_CCALL; ccc: CC128_PERM_CINVOKE */
export const CHERI_PERM_UNSEAL = 1 << 9;
export const CHERI_PERM_ACCESS_SYS_REGS = 1 << 10; /* CheriBSD: CHERI_PERM_SYSTEM_REGS */
export const CHERI_PERM_SET_CID = 1 << 11;

/* Software-defined permissions: no hardware meaning; CheriBSD gives two of them one. */
export const CHERI_PERM_SW0 = 1 << 15;
export const CHERI_PERM_SW1 = 1 << 16;
export const CHERI_PERM_SW2 = 1 << 17;
export const CHERI_PERM_SW3 = 1 << 18;

/* CheriBSD sys/cheri/cherireg.h: SW0 authorises system calls from $pcc. */
export const CHERI_PERM_SYSCALL = CHERI_PERM_SW0;
/*
 * CheriBSD sys/cheri/cherireg.h: SW1 authorises changing the mapping under a capability
 * (mmap MAP_FIXED over it, munmap, mprotect...); historically CHERI_PERM_CHERIABI_VMMAP.
 */
export const CHERI_PERM_SW_VMEM = CHERI_PERM_SW1;

export const CHERI_PERMS_HWALL = 0xfff;
export const CHERI_PERMS_SWALL = CHERI_PERM_SW0 | CHERI_PERM_SW1 | CHERI_PERM_SW2 | CHERI_PERM_SW3;
/* GCPERM of the reset (almighty) capability. */
export const CHERI_PERMS_ALL = CHERI_PERMS_HWALL | CHERI_PERMS_SWALL; /* 0x78fff */

/* The hardware bits sit at GCPERM 0-11, the user bits at 15-18 (ccc CC128_UPERMS_SHFT). */
export const CHERI_UPERMS_SHIFT = 15;
export const CHERI_UPERMS_WIDTH = 4;

/*
 * CheriBSD's userspace permission sets (sys/riscv/include/cherireg.h).  Data capabilities
 * carry SW_VMEM so that mmap can derive from them; code and sealing capabilities do not.
 */
export const CHERI_PERMS_USERSPACE =
  CHERI_PERM_GLOBAL |
  CHERI_PERM_LOAD |
  CHERI_PERM_LOAD_CAP |
  CHERI_PERM_INVOKE |
  (CHERI_PERMS_SWALL & ~CHERI_PERM_SW_VMEM);
export const CHERI_PERMS_USERSPACE_CODE = CHERI_PERMS_USERSPACE | CHERI_PERM_EXECUTE;
export const CHERI_PERMS_USERSPACE_DATA =
  CHERI_PERMS_USERSPACE |
  CHERI_PERM_STORE |
  CHERI_PERM_STORE_CAP |
  CHERI_PERM_STORE_LOCAL_CAP |
  CHERI_PERM_SW_VMEM;
export const CHERI_PERMS_USERSPACE_SEALCAP = CHERI_PERM_GLOBAL | CHERI_PERM_SEAL | CHERI_PERM_UNSEAL;

/* Every permission bit with its name, in bit order. */
export const CHERI_PERM_NAMES: readonly (readonly [bit: number, name: string])[] = [
  [CHERI_PERM_GLOBAL, 'GLOBAL'],
  [CHERI_PERM_EXECUTE, 'EXECUTE'],
  [CHERI_PERM_LOAD, 'LOAD'],
  [CHERI_PERM_STORE, 'STORE'],
  [CHERI_PERM_LOAD_CAP, 'LOAD_CAP'],
  [CHERI_PERM_STORE_CAP, 'STORE_CAP'],
  [CHERI_PERM_STORE_LOCAL_CAP, 'STORE_LOCAL_CAP'],
  [CHERI_PERM_SEAL, 'SEAL'],
  [CHERI_PERM_INVOKE, 'INVOKE'],
  [CHERI_PERM_UNSEAL, 'UNSEAL'],
  [CHERI_PERM_ACCESS_SYS_REGS, 'ACCESS_SYS_REGS'],
  [CHERI_PERM_SET_CID, 'SET_CID'],
  [CHERI_PERM_SW0, 'SW0'],
  [CHERI_PERM_SW1, 'SW1'],
  [CHERI_PERM_SW2, 'SW2'],
  [CHERI_PERM_SW3, 'SW3'],
];

/* Names of the bits set in a GCPERM word, in bit order; unknown bits are left out. */
export function permNames(perms: number): string[] {
  const names: string[] = [];
  for (const [bit, name] of CHERI_PERM_NAMES) if ((perms & bit) !== 0) names.push(name);
  return names;
}
