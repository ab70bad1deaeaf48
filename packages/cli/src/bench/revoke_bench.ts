/*
 * Revocation pause times against heap size and pointer density, for both modes (issue 5):
 * a process with a heap of 64 MiB .. 1 GiB, a fraction of its granules holding capabilities
 * (5 % of them to painted allocations), one LAST_PASS revocation per mode.  Reported per
 * configuration: the stop-the-world pause (what mutators wait for), the work done with the
 * world running (the concurrent pass for store-side, the background sweep for load-side),
 * and capabilities revoked.  Store-side pauses grow with the heap (the final pass revisits
 * it); load-side pauses must not (only registers and a generation flip).
 * Runs the kernel's single-threaded core: the world is this thread, so the pause is the work
 * the transport does between stopping and resuming the threads, not the Atomics hand-shake
 * (that floor is `cherisim bench stw`).
 */
import {
  bindMachine,
  CHERI_REVOKE_FORCE_LOAD_SIDE,
  CHERI_REVOKE_FORCE_STORE_SIDE,
  CHERI_REVOKE_IGNORE_START,
  CHERI_REVOKE_LAST_PASS,
  CHERI_REVOKE_SHADOW_NOVMMAP,
  createKernel,
  type HartCpu,
  MAP_ANON,
  MAP_PRIVATE,
  PROT_CAP,
  PROT_READ,
  PROT_WRITE,
  ProcHandle,
  revokeBegin,
  revokeEnd,
  revokeWhileStopped,
} from '@cherisim/kernel';
import { CHERI_PERM_SW_VMEM, CHERI_PERMS_ALL, capBuild, PhysMem } from '@cherisim/machine';

export interface RevokeBenchRow {
  heapMiB: number;
  density: number;
  mode: 'store' | 'load';
  caps: number;
  pauseMs: number;
  concurrentMs: number;
  capsRevoked: number;
}

const ALLOCS = 64; /* distinct capabilities (64-byte allocations at the heap start) */
const PAINTED = 3; /* ~5 % of them painted */

export function runRevokeBench(
  opts: { sizesMiB?: number[]; densities?: number[]; seed?: number } = {},
): RevokeBenchRow[] {
  const rows: RevokeBenchRow[] = [];
  for (const mib of opts.sizesMiB ?? [64, 256, 1024])
    for (const density of opts.densities ?? [0.001, 0.01, 0.1])
      rows.push(...oneHeap(mib, density, opts.seed ?? 1));
  return rows;
}

function oneHeap(mib: number, density: number, seed: number): RevokeBenchRow[] {
  const heapBytes = mib * 1024 * 1024;
  const phys = new PhysMem({ bytes: heapBytes + Math.max(64 * 1024 * 1024, heapBytes / 8) });
  const k = createKernel({ machine: bindMachine(phys) });
  const p = new ProcHandle(k, k.spawn('bench'));
  const heap = p.mmap(0, heapBytes, PROT_READ | PROT_WRITE | PROT_CAP, MAP_ANON | MAP_PRIVATE);
  const cpu = k.cpuFor(p.proc.td) as HartCpu;
  const hart = cpu.hart;
  const regs = cpu.regs;
  /* registers 0 (AUTH, almighty) and 1 (VAL) are the binding's; caps go through VAL */
  /* malloc'd capabilities: no VMEM (VMEM capabilities are exempt from revocation) */
  const capWords = Array.from({ length: ALLOCS }, (_, i) =>
    capBuild(heap + i * 64, 64, CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM).toMemWords(),
  );
  const shadow = p.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, heap, heapBytes) as { base: number };
  /* paint the 4 granules of each painted allocation: bit g%8 of shadow byte g/8 (R40) */
  for (let i = 0; i < PAINTED; i++)
    for (let g = i * 4; g < i * 4 + 4; g++) {
      const va = shadow.base + Math.floor(g / 8);
      p.store(va, 1, p.load(va, 1) | (1 << (g % 8)));
    }

  /* the granules that hold capabilities: uniform, skipping the allocations themselves */
  const granules = heapBytes / 16;
  const n = Math.floor(granules * density);
  const where = new Float64Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    where[i] = heap + (ALLOCS * 4 + ((x >>> 0) % (granules - ALLOCS * 4))) * 16;
  }
  const fill = (onlyPainted: boolean) => {
    for (let i = 0; i < n; i++) {
      const c = i % ALLOCS;
      if (onlyPainted && c >= PAINTED) continue;
      const w = capWords[c];
      regs.setWords(1, w[0], w[1], w[2], w[3], 1);
      const va = where[i];
      p.guest(() => hart.storeCap(1, 0, va));
    }
  };
  fill(false);
  const rows: RevokeBenchRow[] = [];
  for (const mode of ['store', 'load'] as const) {
    if (mode === 'load') fill(true); /* the store-side pass revoked the painted ones */
    const flags =
      CHERI_REVOKE_LAST_PASS |
      CHERI_REVOKE_IGNORE_START |
      (mode === 'store' ? CHERI_REVOKE_FORCE_STORE_SIDE : CHERI_REVOKE_FORCE_LOAD_SIDE);
    const before = p.proc.vmspace!.revoke.stats.caps_cleared;
    const t0 = performance.now();
    const r = revokeBegin(k, p.proc.td, flags, 0);
    if (r.done) throw new Error(`revokeBegin ended early (errno ${r.errno})`);
    const t1 = performance.now();
    revokeWhileStopped(k, r.pass, [regs]);
    const t2 = performance.now();
    const errno = revokeEnd(k, r.pass);
    const t3 = performance.now();
    if (errno !== 0) throw new Error(`revokeEnd failed (errno ${errno})`);
    rows.push({
      heapMiB: mib,
      density,
      mode,
      caps: n,
      pauseMs: t2 - t1,
      concurrentMs: t1 - t0 + (t3 - t2),
      capsRevoked: p.proc.vmspace!.revoke.stats.caps_cleared - before,
    });
  }
  p.exit(0);
  return rows;
}

export function formatRevokeBench(rows: readonly RevokeBenchRow[]): string[] {
  const out = ['  heap   tagged  mode    caps      pause ms   concurrent ms   revoked'];
  for (const r of rows)
    out.push(
      `${String(r.heapMiB).padStart(5)} MiB ${`${(r.density * 100).toFixed(1)}%`.padStart(6)}  ${r.mode.padEnd(6)} ${String(r.caps).padStart(8)} ${r.pauseMs.toFixed(2).padStart(12)} ${r.concurrentMs.toFixed(2).padStart(15)} ${String(r.capsRevoked).padStart(9)}`,
    );
  return out;
}
