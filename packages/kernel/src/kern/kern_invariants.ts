/*
 * Whole-kernel invariant check (INVARIANTS), run by the property test after every step:
 *  - every map sorted, disjoint, prot within max (vmMapAssertConsistent);
 *  - every object's reference count equals the references that exist (entries, shadows,
 *    shm/vnode/SysV handles); every resident page points back at its object;
 *  - every PTE lies inside an entry, grants nothing the entry does not allow, maps the
 *    page the entry's object chain holds at that index (writable only if it is the first
 *    object's own page), and has its pv entry;
 *  - frames: used = pages + page-table frames; tags only in pages some cap-store mapping
 *    could have written (PGA_CAPMAYHOLD), never in free frames, page tables or file pages.
 */
import { KASSERT } from '../sys/kassert.js';
import { PAGE_SIZE, PTE_CW, PTE_W, ptePfn } from '../vm/machine_if.js';
import { pmapForEach, pmapPteToProt } from '../vm/pmap.js';
import { MAP_ENTRY_NEEDS_COPY, vmMapAssertConsistent, vmMapLookupEntry } from '../vm/vm_map.js';
import { OBJ_ANON, OBJ_NOCAP, type VmObject, vmObjectLookupChain } from '../vm/vm_object.js';
import { PGA_CAPMAYHOLD } from '../vm/vm_page.js';
import { FILE_MAGIC, type File } from './file.js';
import type { Kernel } from './kernel.js';
import type { ShmFd } from './uipc_shm.js';
import type { UnixSocket } from './uipc_usrreq.js';
import type { Vnode } from './vfs.js';

export function kernelAssertConsistent(k: Kernel): void {
  const vm = k.vm;
  const refs = new Map<VmObject, number>();
  const addRef = (o: VmObject | null) => {
    if (o !== null) refs.set(o, (refs.get(o) ?? 0) + 1);
  };
  let ptes = 0;
  const spaces = [...k.procs.values()].filter((p) => p.state === 'run' && p.vmspace !== null);
  for (const p of spaces) {
    const vms = p.vmspace!;
    vmMapAssertConsistent(vms.map);
    KASSERT(vm.liveVmspaces.has(vms.id), () => `pid ${p.pid}: vmspace ${vms.id} not live`);
    for (const e of vms.map.entries) addRef(e.object);
    pmapForEach(vms.pmap, (va, pte) => {
      ptes++;
      const e = vmMapLookupEntry(vms.map, va);
      KASSERT(e !== null, () => `pid ${p.pid}: PTE at 0x${va.toString(16)} outside every entry`);
      const granted = pmapPteToProt(pte);
      KASSERT(
        (granted & ~e.protection) === 0,
        () =>
          `pid ${p.pid}: PTE at 0x${va.toString(16)} grants 0x${granted.toString(16)} > entry 0x${e.protection.toString(16)}`,
      );
      const m = vm.phys.pageOf(ptePfn(pte));
      KASSERT(m !== undefined, () => `pid ${p.pid}: PTE at 0x${va.toString(16)} maps a non-page frame`);
      KASSERT(e.object !== null, () => `pid ${p.pid}: PTE in an entry without object`);
      const look = vmObjectLookupChain(e.object, (va - e.start + e.offset) / PAGE_SIZE);
      KASSERT(
        look.page === m,
        () => `pid ${p.pid}: PTE at 0x${va.toString(16)} maps a page the object chain does not hold`,
      );
      if (pte & PTE_W)
        KASSERT(
          look.depth === 0 && (e.eflags & MAP_ENTRY_NEEDS_COPY) === 0,
          () => `pid ${p.pid}: writable PTE at 0x${va.toString(16)} on a copy-on-write page`,
        );
      if (pte & PTE_CW)
        KASSERT(
          (m.object!.flags & OBJ_NOCAP) === 0 && (m.aflags & PGA_CAPMAYHOLD) !== 0,
          () => `pid ${p.pid}: cap-store PTE at 0x${va.toString(16)} on a page that may not hold tags`,
        );
      KASSERT(
        m.pv.some((pv) => pv.pmap === vms.pmap && pv.va === va),
        () => `pid ${p.pid}: pv entry missing for 0x${va.toString(16)}`,
      );
    });
  }
  for (const o of vm.objects) {
    addRef(o.backingObject);
    for (const s of o.shadows) KASSERT(s.backingObject === o, () => `object ${o.id}: stale shadow link`);
  }
  /* open files: descriptors + in-flight SCM_RIGHTS; vnodes and shm objects: names + files */
  const fileRefs = new Map<File, number>();
  const addFile = (f: File) => fileRefs.set(f, (fileRefs.get(f) ?? 0) + 1);
  const sockets = new Set<UnixSocket>();
  for (const p of spaces) for (const f of p.fd?.files ?? []) if (f !== null) addFile(f);
  const seen = new Set<File>();
  const walk = (f: File) => {
    if (seen.has(f)) return;
    seen.add(f);
    if (f.socket !== null && !sockets.has(f.socket)) {
      sockets.add(f.socket);
      for (const m of f.socket.rcv)
        for (const r of m.rights) {
          addFile(r);
          walk(r);
        }
    }
  };
  for (const f of [...fileRefs.keys()]) walk(f);
  const vnodeRefs = new Map<Vnode, number>();
  const shmRefs = new Map<ShmFd, number>();
  for (const [f, n] of fileRefs) {
    KASSERT(f.magic === FILE_MAGIC, () => 'descriptor refers to a closed file');
    KASSERT(f.refCount === n, () => `file (${f.type}): refCount ${f.refCount} but ${n} references exist`);
    if (f.vnode !== null) vnodeRefs.set(f.vnode, (vnodeRefs.get(f.vnode) ?? 0) + 1);
    if (f.shm !== null) shmRefs.set(f.shm, (shmRefs.get(f.shm) ?? 0) + 1);
  }
  for (const vp of k.fs.vnodes) {
    const want = (vnodeRefs.get(vp) ?? 0) + (vp.linked ? 1 : 0);
    /* files held only by unreachable in-flight cycles are not counted: allow more, never fewer */
    KASSERT(
      vp.refCount >= want && vp.refCount > 0,
      () => `vnode ${vp.id}: refCount ${vp.refCount} < ${want}`,
    );
  }
  for (const shm of k.shmObjects) {
    const want = (shmRefs.get(shm) ?? 0) + (shm.path !== null ? 1 : 0);
    KASSERT(shm.refCount >= want && shm.refCount > 0, () => `shm object: refCount ${shm.refCount} < ${want}`);
    if (shm.path !== null)
      KASSERT(k.shmNames.get(shm.path) === shm, () => `shm ${shm.path} not in the namespace`);
    addRef(shm.object);
  }
  for (const vp of k.fs.vnodes) addRef(vp.object);
  for (const seg of k.sysv.segs.values()) addRef(seg.object);
  let pages = 0;
  let pv = 0;
  let swap = 0;
  for (const o of vm.objects) {
    for (const [idx, slot] of o.swap) {
      swap++;
      KASSERT(
        vm.phys.frameUse(slot.pfn) === 'swap' && vm.phys.refCount(slot.pfn) === 1,
        () => `object ${o.id}: swap slot ${slot.pfn} is not a swap frame`,
      );
      KASSERT(!o.pages.has(idx), () => `object ${o.id}: page ${idx} both resident and swapped`);
      KASSERT((o.flags & OBJ_ANON) !== 0, () => `object ${o.id}: a non-anonymous object was paged out`);
    }
    KASSERT(
      (refs.get(o) ?? 0) === o.refCount,
      () => `object ${o.id} (${o.kind}): refCount ${o.refCount} but ${refs.get(o) ?? 0} references exist`,
    );
    for (const [idx, m] of o.pages) {
      pages++;
      pv += m.pv.length;
      KASSERT(m.object === o && m.pindex === idx, () => `object ${o.id}: page ${idx} points elsewhere`);
      KASSERT(
        vm.phys.pageOf(m.pfn) === m && vm.phys.refCount(m.pfn) === 1,
        () => `frame ${m.pfn}: descriptor mismatch`,
      );
      const tags = vm.phys.phys.frameTagCount(m.pfn);
      if (tags > 0) {
        KASSERT(
          (o.flags & OBJ_NOCAP) === 0,
          () => `object ${o.id} (${o.kind}) is OBJ_NOCAP but frame ${m.pfn} holds tags`,
        );
        KASSERT(
          (m.aflags & PGA_CAPMAYHOLD) !== 0,
          () => `frame ${m.pfn} holds ${tags} tags but no mapping could have stored one`,
        );
      }
    }
  }
  for (const r of refs.keys()) KASSERT(vm.objects.has(r), () => `reference to dead object ${r.id}`);
  KASSERT(pv === ptes, () => `pv entries ${pv} != PTEs ${ptes}`);
  let ptable = 0;
  for (let pfn = 0; pfn < vm.phys.nframes; pfn++) {
    const use = vm.phys.frameUse(pfn);
    if (use === 'ptable') ptable++;
    if (use !== 'page' && use !== 'swap' && pfn > 0 && vm.phys.phys.frameTagCount(pfn) > 0)
      KASSERT(false, () => `frame ${pfn} (${use}) holds tags`);
  }
  KASSERT(
    vm.phys.usedCount === pages + ptable + swap + 1,
    () =>
      `frames in use ${vm.phys.usedCount} != pages ${pages} + page tables ${ptable} + swap ${swap} + reserved 1`,
  );
}
