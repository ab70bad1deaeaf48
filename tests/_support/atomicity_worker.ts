/*
 * One thread of the capability-atomicity stress test: alternates tagged capability stores,
 * 8-byte data stores and capability loads on a few shared granules, and checks every tagged
 * value it loads against the set of capabilities that any thread ever stored.
 */
import { parentPort, workerData } from 'node:worker_threads';
import {
  CAP_GRANULE,
  CapRegFile,
  granuleClearTagForData,
  granuleLoadCap,
  granuleStoreCap,
  Hart,
  MmuControl,
  PhysMem,
  type PhysMemShared,
  REG_TAG,
  REG_W0,
  REG_W1,
  REG_W2,
  REG_W3,
  REG_WORDS,
} from '@cherisim/machine';

export interface StressInput {
  phys: PhysMemShared;
  mmu: SharedArrayBuffer;
  authWords: number[] /* memory words of a capability covering the hot granules */;
  myCaps: number[][] /* memory words of the capabilities this thread stores */;
  allCaps: number[][] /* every capability any thread stores */;
  dataValues: number[] /* 8-byte data values this thread stores */;
  granules: number /* hot granules, 16 bytes apart from offset 0 of auth */;
  ops: number;
  seed: number;
  start: SharedArrayBuffer /* Int32 barrier: all threads begin together */;
  threads: number;
  /* 'hart': every access through Hart (checks + MMU); 'granule': the bare protocol functions in
     a tight loop, which makes races between the four word writes far more frequent. */
  level: 'hart' | 'granule';
  pa: number /* physical address of granule 0 (for the 'granule' level) */;
  midStoreSpins: number /* 'granule' level: busy-wait this long inside every cap store */;
}

export interface StressResult {
  taggedLoads: number;
  untaggedLoads: number;
  violations: string[];
}

const input = workerData as StressInput;
const regs = CapRegFile.create(4);
const hart = new Hart(new PhysMem({ shared: input.phys }), new MmuControl(input.mmu), regs);
const [a0, a1, a2, a3] = input.authWords;
regs.setWords(0, a0, a1, a2, a3, 1);
const known = input.allCaps;
const R2 = 2 * REG_WORDS; /* register 2 receives the loads */
const result: StressResult = { taggedLoads: 0, untaggedLoads: 0, violations: [] };

const start = new Int32Array(input.start);
Atomics.add(start, 0, 1);
while (Atomics.load(start, 0) < input.threads) {
  /* spin: every thread enters the hot loop at the same moment */
}

const phys = hart.phys;
const g0 = input.pa / CAP_GRANULE;
const out = new Uint32Array(4);
let sink = 0;
const midStore =
  input.midStoreSpins > 0
    ? () => {
        for (let k = 0; k < input.midStoreSpins; k++) sink = (sink + k) | 0;
      }
    : undefined;

function check(tagged: number, w0: number, w1: number, w2: number, w3: number, off: number) {
  if (tagged === 0) {
    result.untaggedLoads++;
    return;
  }
  result.taggedLoads++;
  let ok = false;
  for (const k of known) if (k[0] === w0 && k[1] === w1 && k[2] === w2 && k[3] === w3) ok = true;
  if (!ok && result.violations.length < 10)
    result.violations.push(
      `tagged value ${[w0, w1, w2, w3].map((w) => w.toString(16)).join(':')} at +${off}`,
    );
}

let x = input.seed >>> 0 || 1;
for (let i = 0; i < input.ops && input.level === 'granule'; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  const g = g0 + (x % input.granules);
  const op = (x >>> 8) % 4;
  if (op === 0) {
    const c = input.myCaps[(x >>> 12) % input.myCaps.length];
    granuleStoreCap(phys.u32, phys.tags, phys.witness, g, c[0], c[1], c[2], c[3], midStore);
  } else if (op === 1) {
    const v = input.dataValues[(x >>> 12) % input.dataValues.length];
    granuleClearTagForData(phys.tags, g);
    const w = g * 4 + ((x >>> 16) & 1) * 2;
    phys.u32[w] = v >>> 0;
    phys.u32[w + 1] = Math.floor(v / 2 ** 32) >>> 0;
  } else {
    const tagged = granuleLoadCap(phys.u32, phys.tags, phys.witness, g, out);
    check(tagged, out[0], out[1], out[2], out[3], (g - g0) * 16);
  }
}
for (let i = 0; i < input.ops && input.level === 'hart'; i++) {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  const off = (x % input.granules) * 16;
  const op = (x >>> 8) % 4;
  if (op === 0) {
    const c = input.myCaps[(x >>> 12) % input.myCaps.length];
    regs.setWords(1, c[0], c[1], c[2], c[3], 1);
    hart.storeCap(1, 0, off);
  } else if (op === 1) {
    hart.store(0, off + ((x >>> 16) & 1) * 8, 8, input.dataValues[(x >>> 12) % input.dataValues.length]);
  } else {
    hart.loadCap(2, 0, off);
    const r = regs.u32;
    check(r[R2 + REG_TAG], r[R2 + REG_W0], r[R2 + REG_W1], r[R2 + REG_W2], r[R2 + REG_W3], off);
  }
}
parentPort!.postMessage({ ...result, sink });
