/*
 * An independent checker for revocation (issue item 8).  It shares no scanning code with the
 * revoker (vm/vm_cheri_revoke.ts, machine phys/tag_sweep.ts): it reads the shadow bitmap
 * itself, finds pages through the map entries itself, tests each granule with
 * PhysMem.isTagged (tag bit AND witness), reads its 16 bytes and decodes them with the BigInt
 * Capability class (exact base, perms, otype), and applies R42's definition of revoked
 * itself.  Slow by design; run it after a closed epoch.
 *
 *   cheriRevokeCheck(k, vms, regFiles)
 *       no tagged, unrevoked capability whose base is painted is left anywhere the vmspace
 *       can reach: its map entries whose max protection includes cap-load (through the
 *       object chain, paged-out pages included), the given register files, and under
 *       pr2225 the pages of the shm/memfd objects it owns that are not OBJ_SHARECAP.
 *   cheriRevokeCheckSnapshot(k, vms, regFiles) before the pass, then
 *   cheriRevokeCheck(k, vms, regFiles, snapshot) after it
 *       additionally: every location that held a live capability with an UNPAINTED base
 *       before does not now hold that capability's revoked form (perms 0, unsealed, same
 *       bounds and cursor; or the same bytes untagged under clearTags).
 */
import { Capability, type CapRegFile, CHERI_PERM_SW_VMEM } from '@cherisim/machine';
import { PAGE_SIZE } from '../vm/machine_if.js';
import { VM_PROT_READ_CAP } from '../vm/vm.js';
import { VM_CHERI_REVOKE_SHADOW_BASE } from '../vm/vm_cheri_revoke_state.js';
import { vmMapLookupEntry } from '../vm/vm_map.js';
import { OBJ_DEAD, OBJ_SHARECAP, type VmObject, vmObjectLookupChain } from '../vm/vm_object.js';
import { VM_MAX_USER_ADDRESS } from '../vm/vm_param.js';
import type { Vmspace } from '../vm/vmspace.js';
import type { Kernel } from './kernel.js';

export interface RevokeCheckViolation {
  readonly kind: 'painted-live' | 'unpainted-revoked';
  readonly where: string /* 'va 0x…', 'shm object N page P +off', 'regs[F] cN' */;
  readonly cap: string;
}

export interface RevokeCheckReport {
  readonly ok: boolean;
  readonly violations: readonly RevokeCheckViolation[];
  readonly capsSeen: number /* tagged granules and registers decoded */;
}

/* Live capabilities with unpainted bases, by location, as a pass found them. */
export type RevokeCheckSnapshot = ReadonlyMap<string, Capability>;

const PAGE = PAGE_SIZE;
const MAX_USER = BigInt(VM_MAX_USER_ADDRESS);

/* R42 check_revoked, from the decoded value. */
function isRevokedCap(c: Capability): boolean {
  return !c.tag || (c.perms === 0 && !c.isSealed);
}

function revokedFormOf(after: Capability, before: Capability): boolean {
  if (!after.tag) return after.pesbt === before.pesbt && after.cursor === before.cursor; /* clearTags */
  return (
    after.perms === 0 &&
    !after.isSealed &&
    after.cursor === before.cursor &&
    after.base === before.base &&
    after.top === before.top
  );
}

/* Reading frames through the vmspace's view, independently of the revoker. */
function pageFrameAt(first: VmObject, pindex: number): number {
  const look = vmObjectLookupChain(first, pindex);
  if (look.page !== null) return look.page.pfn;
  if (look.swapped && look.object !== null) {
    let o: VmObject | null = first;
    let idx = pindex;
    while (o !== null && o !== look.object) {
      idx += o.backingOffset;
      o = o.backingObject;
    }
    const slot = look.object.swap.get(idx);
    if (slot !== undefined) return slot.pfn;
  }
  return -1;
}

class Checker {
  readonly k: Kernel;
  readonly vms: Vmspace;
  readonly shadowPages = new Map<number, Uint8Array | null>();
  readonly violations: RevokeCheckViolation[] = [];
  readonly live = new Map<string, Capability>();
  capsSeen = 0;

  constructor(k: Kernel, vms: Vmspace) {
    this.k = k;
    this.vms = vms;
  }

  /* The shadow bit of `base`, read from the shadow region's object. */
  painted(base: bigint): boolean {
    if (base < 0n || base >= MAX_USER || !this.vms.revoke.shadow) return false;
    const byteVa = VM_CHERI_REVOKE_SHADOW_BASE + Number(base / 128n);
    const pageVa = Math.floor(byteVa / PAGE) * PAGE;
    let bytes = this.shadowPages.get(pageVa);
    if (bytes === undefined) {
      bytes = null;
      const e = vmMapLookupEntry(this.vms.map, pageVa);
      if (e !== null && e.object !== null) {
        const pfn = pageFrameAt(e.object, (pageVa - e.start + e.offset) / PAGE);
        if (pfn >= 0) bytes = this.k.vm.phys.phys.readBytes(pfn * PAGE, PAGE);
      }
      this.shadowPages.set(pageVa, bytes);
    }
    if (bytes === null) return false;
    const bit = Number((base / 16n) % 8n);
    return ((bytes[byteVa - pageVa] >> bit) & 1) !== 0;
  }

  examine(where: string, c: Capability, snap: RevokeCheckSnapshot | undefined): void {
    this.capsSeen++;
    const before = snap?.get(where);
    if (before !== undefined && revokedFormOf(c, before) && !before.equals(c))
      this.violations.push({ kind: 'unpainted-revoked', where, cap: before.toString() });
    if (!c.tag || isRevokedCap(c)) return;
    /* VMEM-bearing capabilities (mmap's) are exempt from revocation, as in CheriBSD */
    if (this.painted(c.base) && (c.perms & CHERI_PERM_SW_VMEM) === 0)
      this.violations.push({ kind: 'painted-live', where, cap: c.toString() });
    else this.live.set(where, c);
  }

  frame(pfn: number, label: (off: number) => string, snap: RevokeCheckSnapshot | undefined): void {
    const phys = this.k.vm.phys.phys;
    for (let off = 0; off < PAGE; off += 16) {
      const where = label(off);
      const pa = pfn * PAGE + off;
      if (!phys.isTagged(pa)) {
        /* untagged now: a clearTags revocation of an unpainted capability? */
        const before = snap?.get(where);
        if (before !== undefined) {
          const b = phys.readBytes(pa, 16);
          const dv = new DataView(b.buffer, b.byteOffset, 16);
          const c = Capability.fromMemWords(
            dv.getUint32(0, true),
            dv.getUint32(4, true),
            dv.getUint32(8, true),
            dv.getUint32(12, true),
            false,
          );
          if (revokedFormOf(c, before))
            this.violations.push({ kind: 'unpainted-revoked', where, cap: before.toString() });
        }
        continue;
      }
      const b = phys.readBytes(pa, 16);
      const dv = new DataView(b.buffer, b.byteOffset, 16);
      const c = Capability.fromMemWords(
        dv.getUint32(0, true),
        dv.getUint32(4, true),
        dv.getUint32(8, true),
        dv.getUint32(12, true),
        true,
      );
      this.examine(where, c, snap);
    }
  }

  run(regFiles: readonly CapRegFile[], snap: RevokeCheckSnapshot | undefined): void {
    for (const e of this.vms.map.entries) {
      if (e.object === null || (e.maxProtection & VM_PROT_READ_CAP) === 0) continue;
      const first = e.object;
      const candidates = new Set<number>();
      let o: VmObject | null = first;
      let shift = 0;
      while (o !== null) {
        for (const idx of [...o.pages.keys(), ...o.swap.keys()]) candidates.add(idx - shift);
        shift += o.backingOffset;
        o = o.backingObject;
      }
      const lo = e.offset / PAGE;
      const hi = lo + (e.end - e.start) / PAGE;
      for (const pindex of candidates) {
        if (pindex < lo || pindex >= hi) continue;
        const pfn = pageFrameAt(first, pindex);
        if (pfn < 0) continue;
        const va = e.start + (pindex - lo) * PAGE;
        this.frame(pfn, (off) => `va 0x${(va + off).toString(16)}`, snap);
      }
    }
    if (this.k.policy.regime === 'pr2225') {
      for (const shm of this.k.shmObjects) {
        const obj = shm.object;
        if (obj.owner !== this.vms.id || (obj.flags & (OBJ_SHARECAP | OBJ_DEAD)) !== 0) continue;
        for (const [pindex, m] of obj.pages)
          this.frame(m.pfn, (off) => `shm object ${obj.id} page ${pindex} +${off}`, snap);
        for (const [pindex, slot] of obj.swap)
          this.frame(slot.pfn, (off) => `shm object ${obj.id} page ${pindex} +${off}`, snap);
      }
    }
    regFiles.forEach((regs, f) => {
      for (let i = 0; i < regs.nregs; i++) {
        const c = regs.get(i);
        const where = `regs[${f}] c${i}`;
        if (!c.tag) {
          const before = snap?.get(where);
          if (before !== undefined && revokedFormOf(c, before))
            this.violations.push({ kind: 'unpainted-revoked', where, cap: before.toString() });
          continue;
        }
        this.examine(where, c, snap);
      }
    });
  }
}

/* Check what the vmspace can reach now (see the header). */
export function cheriRevokeCheck(
  k: Kernel,
  vms: Vmspace,
  regFiles: readonly CapRegFile[] = [],
  snapshot?: RevokeCheckSnapshot,
): RevokeCheckReport {
  const ch = new Checker(k, vms);
  ch.run(regFiles, snapshot);
  return { ok: ch.violations.length === 0, violations: ch.violations, capsSeen: ch.capsSeen };
}

/* The live capabilities with unpainted bases, by location, before a pass. */
export function cheriRevokeCheckSnapshot(
  k: Kernel,
  vms: Vmspace,
  regFiles: readonly CapRegFile[] = [],
): RevokeCheckSnapshot {
  const ch = new Checker(k, vms);
  ch.run(regFiles, undefined);
  return ch.live;
}
