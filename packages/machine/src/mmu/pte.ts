/*
 * Page-table entry: one Int32 word.  Flags in the low 8 bits, the frame number above.
 * cf. CHERI-RISC-V Sv39/Sv48 PTEs with the Zcheripte bits CW, CRG (load generation), CD.
 */
export const PTE_V = 0x01; /* valid */
export const PTE_R = 0x02; /* data read */
export const PTE_W = 0x04; /* data write */
export const PTE_X = 0x08; /* execute */
export const PTE_CR = 0x10; /* capability load: without it a loaded tag is cleared (R6) */
export const PTE_CW = 0x20; /* capability store: without it a tagged store page-faults (R5) */
export const PTE_CD = 0x40; /* capability dirty: set by the machine on a tagged store (R8) */
export const PTE_CLG = 0x80; /* capability load generation: compared with the vmspace's (R47) */
export const PTE_FLAGS_MASK = 0xff;
export const PTE_PFN_SHIFT = 8;
export const PTE_MAX_PFN = 2 ** (32 - PTE_PFN_SHIFT) - 1;

export function pteMake(pfn: number, flags: number): number {
  return (pfn << PTE_PFN_SHIFT) | (flags & PTE_FLAGS_MASK) | 0;
}

export function ptePfn(pte: number): number {
  return pte >>> PTE_PFN_SHIFT;
}

/** "V R W X CR CW CD CLG" letters for dumps, '-' where clear. */
export function pteFlagString(pte: number): string {
  const names = ['V', 'R', 'W', 'X', 'CR', 'CW', 'CD', 'G'];
  return names.map((n, i) => ((pte & (1 << i)) !== 0 ? n : '-'.repeat(n.length))).join('');
}
