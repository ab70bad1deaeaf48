/*
 * Machine parameters: the one place that owns page and granule sizes.
 * cf. FreeBSD machine/param.h and CheriBSD machine/cherireg.h.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT; /* 4 KiB */
export const PAGE_MASK = PAGE_SIZE - 1;

export const CAP_SIZE = 16; /* bytes in a CHERI-128 capability */
export const CAP_GRANULE_SHIFT = 4;
export const CAP_GRANULE = 1 << CAP_GRANULE_SHIFT; /* one tag bit covers this many bytes */
export const GRANULES_PER_PAGE = PAGE_SIZE / CAP_GRANULE; /* 256 */

/* User virtual addresses fit a JS number exactly; BigInt stays off the hot path. */
export const VA_BITS = 48;
export const VA_LIMIT = 2 ** VA_BITS;

export const DEFAULT_PHYSMEM_BYTES = 256 * 1024 * 1024;
