/*
 * Machine benchmark: checked accesses against the raw floor, measured in the same run.
 *   (a) raw:   an 8-byte access as two Uint32Array element accesses over the SAB
 *   (a16) raw: a 16-byte access (four Uint32Array elements): the bytes a capability moves
 *   (b) data:  Hart.load/store of 8 bytes through a capability, with bounds checks and MMU
 *   (c) cap:   Hart.loadCap/storeCap of a tagged capability (16 bytes + tag)
 * Every variant walks the same precomputed address stream (16-byte aligned offsets in a
 * 1 MiB mapping, so it stays cache-resident) and does half loads, half stores.
 */
import {
  CapRegFile,
  capAlmighty,
  capSetAddr,
  capSetBounds,
  Hart,
  MmuControl,
  PAGE_SIZE,
  PageTable,
  PhysMem,
  PTE_CR,
  PTE_CW,
  PTE_R,
  PTE_V,
  PTE_W,
  pteMake,
} from '@cherisim/machine';

export interface MachineBenchResult {
  opsPerRep: number;
  reps: number;
  rawOpsPerSec: number;
  raw16OpsPerSec: number;
  dataOpsPerSec: number;
  capOpsPerSec: number;
  dataRatio: number /* b / a, in time per op */;
  capRatio: number /* c / a */;
  capRatio16: number /* c / a16 */;
}

const REGION = 1 << 20;
const BASE_VA = 0x1000_0000;
const STREAM = 4096;

export function runMachineBench(opts: { ops?: number; reps?: number } = {}): MachineBenchResult {
  const ops = opts.ops ?? 2_000_000;
  const reps = opts.reps ?? 5;
  const phys = new PhysMem({ bytes: 8 * REGION });
  let next = 0;
  const alloc = () => {
    phys.zeroFrame(next);
    return next++;
  };
  const root = alloc();
  const mmu = MmuControl.create(root);
  const pt = new PageTable(phys, root);
  const dataPfn0 = next + 8; /* leave room for directory frames */
  for (let k = 0; k < REGION / PAGE_SIZE; k++)
    pt.enter(BASE_VA + k * PAGE_SIZE, pteMake(dataPfn0 + k, PTE_V | PTE_R | PTE_W | PTE_CR | PTE_CW), alloc);
  const regs = CapRegFile.create(4);
  regs.set(0, capSetBounds(capSetAddr(capAlmighty(), BigInt(BASE_VA)), BigInt(REGION)).cap);
  regs.set(1, capSetBounds(capSetAddr(capAlmighty(), BigInt(BASE_VA + 64)), 64n).cap);
  const hart = new Hart(phys, mmu, regs);

  const offs = new Int32Array(STREAM);
  let x = 0x2545f491;
  for (let i = 0; i < STREAM; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    offs[i] = ((x >>> 0) % (REGION / 16)) * 16;
  }
  const u32 = phys.u32;
  const rawBase = dataPfn0 * PAGE_SIZE;

  const raw = () => {
    let sum = 0;
    for (let i = 0; i < ops; i += 2) {
      const w = (rawBase + offs[i & (STREAM - 1)]) >>> 2;
      u32[w] = i;
      u32[w + 1] = 0;
      const r = (rawBase + offs[(i + 1) & (STREAM - 1)]) >>> 2;
      sum += u32[r] + u32[r + 1];
    }
    return sum;
  };
  const raw16 = () => {
    let sum = 0;
    for (let i = 0; i < ops; i += 2) {
      const w = (rawBase + offs[i & (STREAM - 1)]) >>> 2;
      u32[w] = i;
      u32[w + 1] = 0;
      u32[w + 2] = i;
      u32[w + 3] = 0;
      const r = (rawBase + offs[(i + 1) & (STREAM - 1)]) >>> 2;
      sum += u32[r] + u32[r + 1] + u32[r + 2] + u32[r + 3];
    }
    return sum;
  };
  const data = () => {
    let sum = 0;
    for (let i = 0; i < ops; i += 2) {
      hart.store(0, offs[i & (STREAM - 1)], 8, i);
      sum += hart.load(0, offs[(i + 1) & (STREAM - 1)], 8);
    }
    return sum;
  };
  const cap = () => {
    for (let i = 0; i < ops; i += 2) {
      hart.storeCap(1, 0, offs[i & (STREAM - 1)]);
      hart.loadCap(2, 0, offs[(i + 1) & (STREAM - 1)]);
    }
    return 0;
  };

  const time = (fn: () => number) => {
    fn(); /* warm up: let the JIT optimise */
    const samples: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t0 = process.hrtime.bigint();
      fn();
      samples.push(Number(process.hrtime.bigint() - t0) / ops);
    }
    samples.sort((a, b) => a - b);
    return samples[samples.length >> 1]; /* median ns per op */
  };
  const a = time(raw);
  const a16 = time(raw16);
  const b = time(data);
  const c = time(cap);
  return {
    opsPerRep: ops,
    reps,
    rawOpsPerSec: 1e9 / a,
    raw16OpsPerSec: 1e9 / a16,
    dataOpsPerSec: 1e9 / b,
    capOpsPerSec: 1e9 / c,
    dataRatio: b / a,
    capRatio: c / a,
    capRatio16: c / a16,
  };
}
