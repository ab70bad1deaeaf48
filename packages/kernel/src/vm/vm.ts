/*
 * Machine-independent VM types and codes.  cf. FreeBSD sys/vm/vm.h,
 * sys/vm/vm_param.h; CheriBSD adds the two capability protections.
 * The numeric values of READ_CAP/WRITE_CAP and KERN_MEM_PROT_FAILURE are ours.
 */
export type VmProt = number;
export const VM_PROT_NONE = 0x00;
export const VM_PROT_READ = 0x01;
export const VM_PROT_WRITE = 0x02;
export const VM_PROT_EXECUTE = 0x04;
export const VM_PROT_READ_CAP = 0x10; /* may load tagged capabilities */
export const VM_PROT_WRITE_CAP = 0x20; /* may store tagged capabilities */
export const VM_PROT_DATA = VM_PROT_READ | VM_PROT_WRITE | VM_PROT_EXECUTE;
export const VM_PROT_CAP = VM_PROT_READ_CAP | VM_PROT_WRITE_CAP;
export const VM_PROT_ALL = VM_PROT_DATA | VM_PROT_CAP;

/* Capability permissions implied by data permissions: load with READ, store with WRITE. */
export function vmProtAddCap(prot: VmProt): VmProt {
  let p = prot;
  if (prot & VM_PROT_READ) p |= VM_PROT_READ_CAP;
  if (prot & VM_PROT_WRITE) p |= VM_PROT_WRITE_CAP;
  return p;
}

export type VmInherit = number;
export const VM_INHERIT_SHARE = 0;
export const VM_INHERIT_COPY = 1;
export const VM_INHERIT_NONE = 2;
export const VM_INHERIT_ZERO = 3;
export const VM_INHERIT_DEFAULT = VM_INHERIT_COPY;

export const KERN_SUCCESS = 0;
export const KERN_INVALID_ADDRESS = 1;
export const KERN_PROTECTION_FAILURE = 2;
export const KERN_NO_SPACE = 3;
export const KERN_INVALID_ARGUMENT = 4;
export const KERN_FAILURE = 5;
export const KERN_RESOURCE_SHORTAGE = 6;
export const KERN_NOT_RECEIVER = 7;
export const KERN_NO_ACCESS = 8;
export const KERN_OUT_OF_BOUNDS = 9;
export const KERN_RESTART = 10;
export const KERN_MEM_PROT_FAILURE = 11; /* CheriBSD: -> EPROT */
/* vm_fault only: a tagged store hit a mapping without VM_PROT_WRITE_CAP (R5). */
export const KERN_CAP_STORE_FAILURE = 12;
