/* Helpers for the revocation tests (cheribsd-semantics.md §5, catalogue §7.2). */
import {
  type CapBits,
  CHERI_REVOKE_SHADOW_NOVMMAP,
  type CheriRevokeShadowSlice,
  cheriRevokeCheck,
  cheriRevokeCheckSnapshot,
  cheriRevokeIsRevoked,
  HartCpu,
  type ProcHandle,
  type RevokeCheckReport,
  type RevokeCheckSnapshot,
  vmCheriRevokeShadowByte,
} from '@cherisim/kernel';
import {
  Capability,
  type CapRegFile,
  CHERI_PERM_SW_VMEM,
  CHERI_PERMS_ALL,
  capAndPerms,
  capBuild,
  capSetAddr,
} from '@cherisim/machine';

export function capBits(c: Capability): CapBits {
  const [w0, w1, w2, w3] = c.toMemWords();
  return { bytes: new Uint8Array(new Uint32Array([w0, w1, w2, w3]).buffer), tag: c.tag };
}

export function bitsCap(b: CapBits): Capability {
  const dv = new DataView(b.bytes.buffer, b.bytes.byteOffset, 16);
  return Capability.fromMemWords(
    dv.getUint32(0, true),
    dv.getUint32(4, true),
    dv.getUint32(8, true),
    dv.getUint32(12, true),
    b.tag,
  );
}

/*
 * A tagged capability to [base, base+len) whose cursor is `cursor` (default base), optionally
 * perms-masked; without VMEM, as malloc returns them (VMEM-bearing capabilities are exempt).
 */
export function capTo(base: number, len: number, cursor = base, permsMask?: number): CapBits {
  let c = capBuild(base, len, CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM);
  if (permsMask !== undefined) c = capAndPerms(c, permsMask);
  if (cursor !== base) c = capSetAddr(c, cursor);
  return capBits(c);
}

export function isRevoked(c: CapBits): boolean {
  return cheriRevokeIsRevoked(c.bytes, c.tag);
}

/* A live (tagged, unrevoked) capability. */
export function isLive(c: CapBits): boolean {
  return c.tag && !isRevoked(c);
}

/* Install the shadow for an arena and return its slice. */
export function shadowFor(h: ProcHandle, arena: number, len: number): CheriRevokeShadowSlice {
  return h.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, arena, len) as CheriRevokeShadowSlice;
}

/* Paint (or clear) the shadow bits of every granule of [addr, addr+len) with guest byte stores. */
export function paint(h: ProcHandle, addr: number, len: number, on = true): void {
  const bytes = new Map<number, number>(); /* shadow byte VA -> bit mask */
  for (let g = Math.floor(addr / 16); g < Math.ceil((addr + len) / 16); g++) {
    const va = vmCheriRevokeShadowByte(g * 16);
    bytes.set(va, (bytes.get(va) ?? 0) | (1 << (g % 8)));
  }
  for (const [va, mask] of bytes) {
    const old = h.load(va, 1);
    h.store(va, 1, on ? old | mask : old & ~mask);
  }
}

export function regsOf(h: ProcHandle): CapRegFile[] {
  const cpu = h.proc.td.cpu;
  return cpu instanceof HartCpu ? [cpu.regs] : [];
}

/* The independent checker on h's address space and register file. */
export function checkRevoked(h: ProcHandle, snap?: RevokeCheckSnapshot): RevokeCheckReport {
  return cheriRevokeCheck(h.k, h.proc.vmspace!, regsOf(h), snap);
}

export function snapshot(h: ProcHandle): RevokeCheckSnapshot {
  return cheriRevokeCheckSnapshot(h.k, h.proc.vmspace!, regsOf(h));
}

/* A small deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
