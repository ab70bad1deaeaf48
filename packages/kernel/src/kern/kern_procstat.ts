/*
 * A `procstat -v`-like view of an address space, for the CLI and for debugging.
 * cf. FreeBSD kern_proc.c (kinfo_vmentry) and procstat_vm.c.
 */
import {
  VM_INHERIT_COPY,
  VM_INHERIT_NONE,
  VM_INHERIT_SHARE,
  VM_PROT_EXECUTE,
  VM_PROT_READ,
  VM_PROT_READ_CAP,
  VM_PROT_WRITE,
  VM_PROT_WRITE_CAP,
  type VmProt,
} from '../vm/vm.js';
import { MAP_ENTRY_COW, MAP_ENTRY_NEEDS_COPY } from '../vm/vm_map.js';
import { OBJ_SHARECAP } from '../vm/vm_object.js';
import type { Vmspace } from '../vm/vmspace.js';

export interface KinfoVmentry {
  readonly start: number;
  readonly end: number;
  readonly prot: string /* "rwxRW": data then capability load/store, '-' where absent */;
  readonly maxProt: string;
  readonly resident: number /* pages of the first object */;
  readonly type: string /* object kind, or 'none' before the first fault */;
  readonly flags: string /* C = copy-on-write, N = needs copy, S = OBJ_SHARECAP */;
  readonly inheritance: 'share' | 'copy' | 'none' | 'zero';
}

export function protString(p: VmProt): string {
  return [
    p & VM_PROT_READ ? 'r' : '-',
    p & VM_PROT_WRITE ? 'w' : '-',
    p & VM_PROT_EXECUTE ? 'x' : '-',
    p & VM_PROT_READ_CAP ? 'R' : '-',
    p & VM_PROT_WRITE_CAP ? 'W' : '-',
  ].join('');
}

export function procstatVm(vms: Vmspace): KinfoVmentry[] {
  return vms.map.entries.map((e) => ({
    start: e.start,
    end: e.end,
    prot: protString(e.protection),
    maxProt: protString(e.maxProtection),
    resident: e.object?.pages.size ?? 0,
    type: e.object?.kind ?? 'none',
    flags: [
      e.eflags & MAP_ENTRY_COW ? 'C' : '-',
      e.eflags & MAP_ENTRY_NEEDS_COPY ? 'N' : '-',
      e.object !== null && e.object.flags & OBJ_SHARECAP ? 'S' : '-',
    ].join(''),
    inheritance:
      e.inheritance === VM_INHERIT_SHARE
        ? 'share'
        : e.inheritance === VM_INHERIT_COPY
          ? 'copy'
          : e.inheritance === VM_INHERIT_NONE
            ? 'none'
            : 'zero',
  }));
}
