/*
 * Traps raised by the machine that are not capability faults.  The kernel resolves a
 * PageFault (vm_fault) or turns it into a signal; nothing was written when one is thrown.
 */
export type PageFaultAccess = 'read' | 'write' | 'cap-load' | 'cap-store';
export type PageFaultCause =
  | 'not-present' /* no valid PTE */
  | 'protection' /* PTE lacks R (read) or W (write, cap-store): COW or SEGV_ACCERR */
  | 'cap-store' /* tagged store, PTE lacks CW: cap-write upgrade or SEGV_STORETAG (R5) */
  | 'cap-load-gen'; /* tagged load through a page of a stale load generation (R47) */

export class PageFault extends Error {
  override name = 'PageFault';
  readonly vaddr: number;
  readonly access: PageFaultAccess;
  override readonly cause: PageFaultCause; /* what the kernel must resolve (not a chained error) */

  constructor(vaddr: number, access: PageFaultAccess, cause: PageFaultCause) {
    super(`page fault (${cause}) on ${access} at 0x${vaddr.toString(16)}`);
    this.vaddr = vaddr;
    this.access = access;
    this.cause = cause;
  }
}

/** A misaligned capability access (SIGBUS / BUS_ADRALN in CheriBSD). */
export class AlignmentFault extends Error {
  override name = 'AlignmentFault';
  readonly vaddr: number;
  readonly width: number;

  constructor(vaddr: number, width: number) {
    super(`misaligned ${width}-byte access at 0x${vaddr.toString(16)}`);
    this.vaddr = vaddr;
    this.width = width;
  }
}
