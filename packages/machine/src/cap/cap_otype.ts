/*
 * CHERI ISA v9 object types: 18 bits, with the reserved values counting down from all-ones.
 * cf. ccc cheri_compressed_cap_128.h (CC128_OTYPE_*), Sail cheri_prelude_128.sail
 * (cap_max_otype), CheriBSD sys/riscv/include/cherireg.h (CHERI_OTYPE_*).
 */

export const CAP_OTYPE_BITS = 18;
export const CAP_MAX_REPRESENTABLE_OTYPE = (1 << CAP_OTYPE_BITS) - 1; /* 0x3ffff */

export const CAP_OTYPE_UNSEALED = CAP_MAX_REPRESENTABLE_OTYPE; /* -1: 0x3ffff */
export const CAP_OTYPE_SENTRY = CAP_MAX_REPRESENTABLE_OTYPE - 1; /* -2: 0x3fffe */
export const CAP_OTYPE_INDIRECT_PAIR = CAP_MAX_REPRESENTABLE_OTYPE - 2; /* -3: 0x3fffd */
export const CAP_OTYPE_INDIRECT_SENTRY = CAP_MAX_REPRESENTABLE_OTYPE - 3; /* -4: 0x3fffc */
export const CAP_MIN_RESERVED_OTYPE = CAP_OTYPE_INDIRECT_SENTRY;

/* The largest otype CSeal accepts (Sail cap_max_otype): everything below the reserved ones. */
export const CAP_MAX_SEALABLE_OTYPE = CAP_MIN_RESERVED_OTYPE - 1; /* 0x3fffb */

/* CheriBSD's split of the sealable space: user types have the top bit clear. */
export const CHERI_OTYPE_USER_MIN = 0;
export const CHERI_OTYPE_USER_MAX = (1 << (CAP_OTYPE_BITS - 1)) - 1; /* 0x1ffff */
export const CHERI_OTYPE_KERN_MIN = 1 << (CAP_OTYPE_BITS - 1); /* 0x20000 */
/* As CheriBSD defines it; it overlaps the reserved types, which CSeal refuses anyway. */
export const CHERI_OTYPE_KERN_MAX = CAP_MAX_REPRESENTABLE_OTYPE;

export function otypeIsReserved(otype: number): boolean {
  return otype >= CAP_MIN_RESERVED_OTYPE && otype <= CAP_MAX_REPRESENTABLE_OTYPE;
}

/* 'unsealed', 'sentry', 'indirect-pair', 'indirect-sentry', or the number for a sealing type. */
export function otypeName(otype: number): string {
  switch (otype) {
    case CAP_OTYPE_UNSEALED:
      return 'unsealed';
    case CAP_OTYPE_SENTRY:
      return 'sentry';
    case CAP_OTYPE_INDIRECT_PAIR:
      return 'indirect-pair';
    case CAP_OTYPE_INDIRECT_SENTRY:
      return 'indirect-sentry';
    default:
      return `0x${otype.toString(16)}`;
  }
}
