/*
 * Moving bytes between user memory, kernel buffers and VM objects.  cf. FreeBSD
 * copyin/copyout and uiomove_object.  Every path is a data copy: bytes move, tags
 * never do (R9, R10; CheriBSD PR #1529 switched object uiomove to the no-cap variant).
 * Reading memory returns untagged bytes; writing memory clears the tags of every granule
 * it touches.
 */
import { EFAULT, ENOMEM } from '../sys/errno.js';
import { PAGE_SIZE, PTE_R, PTE_V, PTE_W, ptePfn, VA_LIMIT } from '../vm/machine_if.js';
import { pmapExtract } from '../vm/pmap.js';
import { KERN_SUCCESS } from '../vm/vm.js';
import type { VmContext } from '../vm/vm_context.js';
import { vmFault } from '../vm/vm_fault.js';
import { type VmObject, vmObjectGrabPage, vmObjectPageRemove } from '../vm/vm_object.js';
import type { Vmspace } from '../vm/vmspace.js';

/* Physical address of user va for a read or write, faulting it in; -1 = EFAULT. */
function uaddr(vm: VmContext, vms: Vmspace, va: number, write: boolean): number {
  const need = PTE_V | (write ? PTE_W : PTE_R);
  let pte = pmapExtract(vms.pmap, va - (va % PAGE_SIZE));
  if ((pte & need) !== need) {
    if (vmFault(vm, vms, va, write ? 'write' : 'read') !== KERN_SUCCESS) return -1;
    pte = pmapExtract(vms.pmap, va - (va % PAGE_SIZE));
    if ((pte & need) !== need) return -1;
  }
  return ptePfn(pte) * PAGE_SIZE + (va % PAGE_SIZE);
}

export function validUserRange(va: unknown, len: unknown): boolean {
  return (
    typeof va === 'number' &&
    typeof len === 'number' &&
    Number.isInteger(va) &&
    Number.isInteger(len) &&
    va >= 0 &&
    len >= 0 &&
    va + len <= VA_LIMIT
  );
}

/* copyin: len bytes from user va (untagged), or an errno. */
export function copyin(vm: VmContext, vms: Vmspace, va: number, len: number): Uint8Array | number {
  if (!validUserRange(va, len)) return EFAULT;
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const cur = va + done;
    const n = Math.min(len - done, PAGE_SIZE - (cur % PAGE_SIZE));
    const pa = uaddr(vm, vms, cur, false);
    if (pa < 0) return EFAULT;
    out.set(vm.phys.phys.readBytes(pa, n), done);
    done += n;
  }
  return out;
}

/* copyout: store bytes at user va as data (clears tags), or an errno. */
export function copyout(vm: VmContext, vms: Vmspace, va: number, src: Uint8Array): number {
  if (!validUserRange(va, src.length)) return EFAULT;
  /* fault every page first so that nothing is written when one of them fails */
  for (let cur = va; cur < va + src.length; cur = cur - (cur % PAGE_SIZE) + PAGE_SIZE)
    if (uaddr(vm, vms, cur, true) < 0) return EFAULT;
  let done = 0;
  while (done < src.length) {
    const cur = va + done;
    const n = Math.min(src.length - done, PAGE_SIZE - (cur % PAGE_SIZE));
    const pa = uaddr(vm, vms, cur, true);
    if (pa < 0) return EFAULT;
    vm.phys.phys.writeBytes(pa, src.subarray(done, done + n));
    done += n;
  }
  return 0;
}

/* Read [off, off+len) of an object (holes read as zeros), untagged. */
export function uiomoveObjectRead(vm: VmContext, obj: VmObject, off: number, len: number): Uint8Array {
  const out = new Uint8Array(len);
  let done = 0;
  while (done < len) {
    const cur = off + done;
    const idx = Math.floor(cur / PAGE_SIZE);
    const n = Math.min(len - done, PAGE_SIZE - (cur % PAGE_SIZE));
    const m = obj.pages.get(idx);
    if (m !== undefined) out.set(vm.phys.phys.readBytes(m.pfn * PAGE_SIZE + (cur % PAGE_SIZE), n), done);
    done += n;
  }
  return out;
}

/* Write bytes into an object at off as data (clears tags); ENOMEM when frames run out. */
export function uiomoveObjectWrite(vm: VmContext, obj: VmObject, off: number, src: Uint8Array): number {
  let done = 0;
  while (done < src.length) {
    const cur = off + done;
    const idx = Math.floor(cur / PAGE_SIZE);
    const n = Math.min(src.length - done, PAGE_SIZE - (cur % PAGE_SIZE));
    const m = vmObjectGrabPage(vm, obj, idx);
    if (m === null) return ENOMEM;
    vm.phys.phys.writeBytes(m.pfn * PAGE_SIZE + (cur % PAGE_SIZE), src.subarray(done, done + n));
    m.aflags |= 0x04; /* PGA_MODIFIED */
    done += n;
  }
  return 0;
}

/* Resize an object to `bytes`: pages past the end go (unmapped everywhere), the tail of the last page is zeroed. */
export function objectTruncate(vm: VmContext, obj: VmObject, bytes: number): void {
  const pages = Math.ceil(bytes / PAGE_SIZE);
  vmObjectPageRemove(vm, obj, pages, Number.MAX_SAFE_INTEGER);
  const tail = bytes % PAGE_SIZE;
  if (tail !== 0) {
    const m = obj.pages.get(pages - 1);
    if (m !== undefined) vm.phys.phys.writeBytes(m.pfn * PAGE_SIZE + tail, new Uint8Array(PAGE_SIZE - tail));
  }
  obj.size = pages;
}
