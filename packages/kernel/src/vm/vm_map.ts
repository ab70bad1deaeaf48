/*
 * Address maps: a sorted array of disjoint [start, end) entries, each backed by an
 * object at an offset.  cf. FreeBSD sys/vm/vm_map.{h,c}.
 *
 * List of owners  (k) kernel only, during a map operation   (c) const after creation
 */
import { KASSERT } from '../sys/kassert.js';
import { PAGE_SIZE } from './machine_if.js';
import { type Pmap, pmapRemove } from './pmap.js';
import { VM_INHERIT_COPY, VM_INHERIT_ZERO, VM_PROT_ALL, type VmInherit, type VmProt } from './vm.js';
import type { VmContext } from './vm_context.js';
import { VM_OBJECT_MAGIC, type VmObject, vmObjectDeallocate, vmObjectReference } from './vm_object.js';

export const VM_MAP_MAGIC = 0x766d6d70; /* 'vmmp' */

export const MAP_ENTRY_COW = 0x0004; /* private: writes go to a private copy */
export const MAP_ENTRY_NEEDS_COPY = 0x0008; /* the private copy (shadow) is not made yet */

export interface VmMapEntry {
  start: number /* (k) page aligned */;
  end: number /* (k) exclusive */;
  object: VmObject | null /* (k) null until first fault (lazy anonymous memory) */;
  offset: number /* (k) byte offset into object */;
  eflags: number /* (k) MAP_ENTRY_* */;
  protection: VmProt /* (k) VM_PROT_* incl. READ_CAP / WRITE_CAP */;
  maxProtection: VmProt /* (k) ceiling for mprotect / PROT_MAX */;
  inheritance: VmInherit /* (k) applied by vmspaceFork */;
}

export interface VmMap {
  magic: number;
  readonly minOffset: number /* (c) */;
  readonly maxOffset: number /* (c) */;
  readonly entries: VmMapEntry[] /* (k) sorted by start, disjoint */;
  readonly pmap: Pmap /* (c) */;
}

export function vmMapInit(pmap: Pmap, min: number, max: number): VmMap {
  return { magic: VM_MAP_MAGIC, minOffset: min, maxOffset: max, entries: [], pmap };
}

/* Index of the first entry with end > va (binary search). */
function firstEndAbove(map: VmMap, va: number): number {
  let lo = 0;
  let hi = map.entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (map.entries[mid].end <= va) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* vm_map_lookup_entry: the entry containing va, or null. */
export function vmMapLookupEntry(map: VmMap, va: number): VmMapEntry | null {
  const i = firstEndAbove(map, va);
  const e = map.entries[i];
  return e !== undefined && e.start <= va ? e : null;
}

/* Entries intersecting [start, end), in order. */
export function vmMapEntriesIn(map: VmMap, start: number, end: number): VmMapEntry[] {
  const out: VmMapEntry[] = [];
  for (let i = firstEndAbove(map, start); i < map.entries.length && map.entries[i].start < end; i++)
    out.push(map.entries[i]);
  return out;
}

/* Is every page of [start, end) mapped? */
export function vmMapRangeMapped(map: VmMap, start: number, end: number): boolean {
  let cur = start;
  for (const e of vmMapEntriesIn(map, start, end)) {
    if (e.start > cur) return false;
    cur = e.end;
  }
  return cur >= end;
}

/* vm_map_findspace: lowest free range of `length` at or above hint, or -1. */
export function vmMapFindSpace(map: VmMap, hint: number, length: number): number {
  const tryFrom = (from: number): number => {
    let cur = Math.max(from, map.minOffset);
    for (let i = firstEndAbove(map, cur); i <= map.entries.length; i++) {
      const e = map.entries[i];
      const gapEnd = e === undefined ? map.maxOffset : e.start;
      if (gapEnd - cur >= length) return cur;
      if (e === undefined) break;
      cur = Math.max(cur, e.end);
    }
    return -1;
  };
  const a = tryFrom(hint);
  return a >= 0 || hint <= map.minOffset ? a : tryFrom(map.minOffset);
}

/* vm_map_insert: link a new entry; the range must be free. */
export function vmMapInsert(map: VmMap, e: VmMapEntry): void {
  KASSERT(
    e.start < e.end && e.start >= map.minOffset && e.end <= map.maxOffset,
    () => `vmMapInsert: bad range 0x${e.start.toString(16)}-0x${e.end.toString(16)}`,
  );
  const i = firstEndAbove(map, e.start);
  const next = map.entries[i];
  KASSERT(
    next === undefined || next.start >= e.end,
    () => `vmMapInsert: overlap at 0x${e.start.toString(16)}`,
  );
  map.entries.splice(i, 0, e);
}

/* Split the entry containing va so that an entry starts at va.  cf. vm_map_clip_start/end. */
export function vmMapClip(map: VmMap, va: number): void {
  const i = firstEndAbove(map, va);
  const e = map.entries[i];
  if (e === undefined || e.start >= va) return;
  const tail: VmMapEntry = { ...e, start: va, offset: e.offset + (va - e.start) };
  if (e.object !== null) vmObjectReference(e.object);
  e.end = va;
  map.entries.splice(i + 1, 0, tail);
}

/* Clip at both ends and return the entries inside [start, end). */
export function vmMapClipRange(map: VmMap, start: number, end: number): VmMapEntry[] {
  vmMapClip(map, start);
  vmMapClip(map, end);
  return vmMapEntriesIn(map, start, end);
}

/* vm_map_delete: remove every mapping in [start, end). */
export function vmMapDelete(vm: VmContext, map: VmMap, start: number, end: number): void {
  const victims = vmMapClipRange(map, start, end);
  if (victims.length === 0) return;
  pmapRemove(map.pmap, start, end);
  for (const e of victims) {
    const i = map.entries.indexOf(e);
    map.entries.splice(i, 1);
    if (e.object !== null) vmObjectDeallocate(vm, e.object);
  }
}

/* A new entry with FreeBSD defaults. */
export function vmMapEntryCreate(
  start: number,
  end: number,
  object: VmObject | null,
  offset: number,
  protection: VmProt,
  maxProtection: VmProt,
  inheritance: VmInherit = VM_INHERIT_COPY,
  eflags = 0,
): VmMapEntry {
  return { start, end, object, offset, eflags, protection, maxProtection, inheritance };
}

/* _vm_map_assert_consistent: sorted, disjoint, page aligned, prot within max, live objects. */
export function vmMapAssertConsistent(map: VmMap): void {
  KASSERT(map.magic === VM_MAP_MAGIC, () => 'vm_map: bad magic');
  let prevEnd = map.minOffset;
  for (const e of map.entries) {
    KASSERT(
      e.start >= prevEnd && e.start < e.end && e.end <= map.maxOffset,
      () => `vm_map: entry 0x${e.start.toString(16)}-0x${e.end.toString(16)} out of order or overlapping`,
    );
    KASSERT(e.start % PAGE_SIZE === 0 && e.end % PAGE_SIZE === 0, () => 'vm_map: unaligned entry');
    KASSERT((e.protection & ~e.maxProtection) === 0, () => 'vm_map: protection exceeds max_protection');
    KASSERT((e.maxProtection & ~VM_PROT_ALL) === 0, () => 'vm_map: unknown protection bits');
    KASSERT(e.inheritance >= 0 && e.inheritance <= VM_INHERIT_ZERO, () => 'vm_map: bad inheritance');
    KASSERT(e.offset % PAGE_SIZE === 0 && e.offset >= 0, () => 'vm_map: unaligned offset');
    if (e.object !== null)
      KASSERT(
        e.object.magic === VM_OBJECT_MAGIC && e.object.refCount > 0,
        () => 'vm_map: entry points at dead object',
      );
    prevEnd = e.end;
  }
}
