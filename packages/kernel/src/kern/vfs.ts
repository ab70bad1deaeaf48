/*
 * A flat in-memory file system (tmpfs-like): regular files whose data live in a
 * vnode VM object (OBJ_NOCAP: file pages never hold tags, R1), plus /dev/zero.
 * Names are absolute paths in one directory.  cf. FreeBSD tmpfs / vnode refcounting.
 *
 * List of owners  (k) kernel only   (c) const after creation
 */
import { KASSERT } from '../sys/kassert.js';
import type { VmContext } from '../vm/vm_context.js';
import { OBJ_NOCAP, type VmObject, vmObjectAllocate, vmObjectDeallocate } from '../vm/vm_object.js';

export const VNODE_MAGIC = 0x766e6f64; /* 'vnod' */
export const DEV_ZERO = '/dev/zero';

export interface Vnode {
  magic: number;
  readonly id: number /* (c) */;
  readonly type: 'reg' | 'chr' /* (c) chr = /dev/zero */;
  readonly object: VmObject | null /* (c) file data; null for devices */;
  size: number /* (k) bytes */;
  refCount: number /* (k) the name (while linked) + open files */;
  linked: boolean /* (k) */;
}

export class MemFs {
  readonly names = new Map<string, Vnode>();
  readonly vnodes = new Set<Vnode>(); /* live vnodes, for accounting */
  #nextId = 1;

  constructor() {
    this.names.set(DEV_ZERO, this.#vnode('chr', null));
  }

  #vnode(type: 'reg' | 'chr', object: VmObject | null): Vnode {
    const vp: Vnode = {
      magic: VNODE_MAGIC,
      id: this.#nextId++,
      type,
      object,
      size: 0,
      refCount: 1,
      linked: true,
    };
    this.vnodes.add(vp);
    return vp;
  }

  lookup(path: string): Vnode | undefined {
    return this.names.get(path);
  }

  /* A new empty regular file linked at path (caller checked it is free). */
  create(vm: VmContext, path: string): Vnode {
    const vp = this.#vnode('reg', vmObjectAllocate(vm, 'vnode', 0, OBJ_NOCAP));
    this.names.set(path, vp);
    return vp;
  }

  /* Remove the name; the file lives on while open or mapped. */
  unlink(vm: VmContext, path: string): void {
    const vp = this.names.get(path);
    KASSERT(vp !== undefined, () => `unlink: ${path} missing`);
    this.names.delete(path);
    vp.linked = false;
    this.vrele(vm, vp);
  }

  vref(vp: Vnode): Vnode {
    KASSERT(vp.magic === VNODE_MAGIC && vp.refCount > 0, () => 'vref: dead vnode');
    vp.refCount++;
    return vp;
  }

  vrele(vm: VmContext, vp: Vnode): void {
    KASSERT(vp.magic === VNODE_MAGIC && vp.refCount > 0, () => 'vrele: dead vnode');
    if (--vp.refCount > 0) return;
    if (vp.object !== null) vmObjectDeallocate(vm, vp.object); /* mappings keep their own references */
    vp.magic = 0;
    this.vnodes.delete(vp);
  }
}
