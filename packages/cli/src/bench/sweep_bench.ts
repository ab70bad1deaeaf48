/*
 * Revocation sweep benchmark: sweepFrames (machine/phys/tag_sweep.ts) against the floor of
 * performance.md §2, measured in the same run on the same memory.
 *
 * Memory: a PhysMem of each size; a fraction `density` of its granules, chosen uniformly at
 * random, holds a tagged capability (valid witness) for a heap object in a virtual range as
 * large as memory: 3/4 small objects (16 B - 4 KiB, exponent 0), 1/4 larger ones (8 KiB -
 * 1 MiB, internal exponent), all with the cursor at the base.  The shadow is a bitmap of one
 * bit per 16-byte granule of that range (CheriBSD's fine shadow); `painted` of the
 * capabilities (default 5%) have their base's bit set.
 *
 * Measured, each the median of `reps` timed runs after one warm-up, interleaved:
 *   floor:  a bare tag-plane scan: for each of the same frames, for each non-zero tag word,
 *           for each set bit, read the two cursor words of the granule (= the base here) and
 *           test the shadow bit.  Nothing else: no witness, no decode, no rewrite.
 *   sweep:  sweepFrames with the shadow as its predicate and default options (safe with
 *           mutators running): revokes the painted capabilities by clearing their tags.
 *   stw:    the same with `worldStopped` (the frames are the sweeper's alone): revokes them
 *           in CheriBSD's tagged form with plain stores.
 *           After each of these the revoked granules are restored (words, witness and tag;
 *           not timed), so every run revokes the same set.
 *   sweep0: sweepFrames with a predicate over an all-zero shadow of the same size (its pages
 *           written, so that they are real memory): the same walk and decodes, nothing to
 *           check or rewrite.  sweep - sweep0 is the cost of the painted capabilities'
 *           witness checks and rewrites.
 * Every run's painted count (the floor's hits, each sweep's capsCleared) must equal the
 * number of capabilities whose base was painted (checked, else it throws).
 */
import {
  CAP_GRANULE,
  Capability,
  CHERI_PERM_SW_VMEM,
  CHERI_PERMS_USERSPACE_DATA,
  capAlmighty,
  capAndPerms,
  capSetAddr,
  capSetBounds,
  capWitness,
  cc128DecodeBaseMem,
  GRANULES_PER_PAGE,
  newSweepStats,
  PhysMem,
  sweepFrames,
} from '@cherisim/machine';

export interface SweepBenchOptions {
  /** Physical memory sizes in MiB (default 64, 256, 1024). */
  sizesMiB?: readonly number[];
  /** Fractions of granules holding a capability (default 0.001, 0.01, 0.1). */
  densities?: readonly number[];
  /** Fraction of capabilities whose base is painted (default 0.05). */
  painted?: number;
  /** Timed repetitions per measurement; the median is reported (default 5). */
  reps?: number;
  seed?: number;
}

export interface SweepBenchRow {
  sizeMiB: number;
  density: number;
  taggedGranules: number;
  revokedPerRun: number;
  floorMs: number;
  sweepMs: number;
  stwMs: number /* worldStopped */;
  sweep0Ms: number /* nothing painted */;
  ratio: number /* sweepMs / floorMs: the target is ≤ 1.5 */;
  ratioStw: number /* stwMs / floorMs */;
  ratio0: number /* sweep0Ms / floorMs */;
  taggedPerSec: number /* tagged granules per second, sweep */;
  mibPerSec: number /* MiB of covered memory per second, sweep */;
  floorTaggedPerSec: number;
  floorMibPerSec: number;
}

export interface SweepBenchResult {
  reps: number;
  paintedFraction: number;
  rows: SweepBenchRow[];
}

const MiB = 1024 * 1024;
const VA0 = 2 ** 40; /* the heap's virtual base: high word 0x100, so bases are > 2^32 */
const TAG_WORDS_PER_PAGE = GRANULES_PER_PAGE / 32;
const TWO_32 = 4294967296;

export function runSweepBench(opts: SweepBenchOptions = {}): SweepBenchResult {
  const sizes = opts.sizesMiB ?? [64, 256, 1024];
  const densities = opts.densities ?? [0.001, 0.01, 0.1];
  const paintedFraction = opts.painted ?? 0.05;
  const reps = opts.reps ?? 5;
  const rows: SweepBenchRow[] = [];
  const tmpl = templateWords();
  for (const sizeMiB of sizes) {
    const bytes = sizeMiB * MiB;
    let phys: PhysMem | undefined = new PhysMem({ bytes });
    const frames = new Int32Array(phys.nframes);
    for (let f = 0; f < frames.length; f++) frames[f] = f;
    const span = bytes; /* the heap's virtual size */
    const shadow = new Uint8Array(span / (CAP_GRANULE * 8));
    /* Written, so that its pages are real memory and not all the kernel's shared zero page. */
    const empty = new Uint8Array(shadow.length).fill(1).fill(0);
    for (const density of densities) {
      phys.tags.fill(0);
      shadow.fill(0);
      const rng = xorshift(
        (opts.seed ?? 0x5eed) ^ Math.imul(sizeMiB, 0x9e3779b1) ^ Math.round(density * 1e6),
      );
      const tagged = fill(phys, density, paintedFraction, span, shadow, tmpl, rng);
      const inShadow = shadowTest(shadow, span);
      const inEmpty = shadowTest(empty, span);
      const saved = collectPainted(phys, frames, inShadow);
      const restore = () => {
        const { u32, tags, witness } = phys!;
        for (let k = 0; k < saved.g.length; k++) {
          const g = saved.g[k];
          u32[g * 4] = saved.w0[k];
          u32[g * 4 + 1] = saved.w1[k];
          witness[g] = saved.wt[k];
          tags[g >>> 5] |= 1 << (g & 31);
        }
      };
      const stats = newSweepStats();
      const runs = {
        floor: [] as number[],
        sweep: [] as number[],
        stw: [] as number[],
        sweep0: [] as number[],
      };
      const timed = (fn: () => void) => {
        const t0 = process.hrtime.bigint();
        fn();
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
      const revoking = (opts: { worldStopped?: boolean }) => () => {
        const before = stats.capsCleared;
        sweepFrames(phys!, frames, inShadow, opts, stats);
        if (stats.capsCleared - before !== saved.g.length)
          throw new Error(`sweep bench: revoked ${stats.capsCleared - before}, expected ${saved.g.length}`);
      };
      for (let r = -1; r < reps; r++) {
        let hits = 0;
        const floorMs = timed(() => {
          hits = floorScan(phys!, frames, shadow, span);
        });
        if (hits !== saved.g.length)
          throw new Error(`sweep bench: the floor found ${hits} painted, expected ${saved.g.length}`);
        const sweepMs = timed(revoking({}));
        restore();
        const stwMs = timed(revoking({ worldStopped: true }));
        restore();
        const sweep0Ms = timed(() => sweepFrames(phys!, frames, inEmpty, {}, stats));
        if (r < 0) continue; /* warm-up */
        runs.floor.push(floorMs);
        runs.sweep.push(sweepMs);
        runs.stw.push(stwMs);
        runs.sweep0.push(sweep0Ms);
      }
      const floorMs = median(runs.floor);
      const sweepMs = median(runs.sweep);
      const stwMs = median(runs.stw);
      const sweep0Ms = median(runs.sweep0);
      rows.push({
        sizeMiB,
        density,
        taggedGranules: tagged,
        revokedPerRun: saved.g.length,
        floorMs,
        sweepMs,
        stwMs,
        sweep0Ms,
        ratio: sweepMs / floorMs,
        ratioStw: stwMs / floorMs,
        ratio0: sweep0Ms / floorMs,
        taggedPerSec: tagged / (sweepMs / 1e3),
        mibPerSec: sizeMiB / (sweepMs / 1e3),
        floorTaggedPerSec: tagged / (floorMs / 1e3),
        floorMibPerSec: sizeMiB / (floorMs / 1e3),
      });
    }
    phys = undefined; /* let the buffers go before the next size */
  }
  return { reps, paintedFraction, rows };
}

/** The result as a table, one line per configuration, for the CLI. */
export function formatSweepBench(res: SweepBenchResult): string[] {
  const ms = (v: number, ratio: number) =>
    `${v.toFixed(2).padStart(8)} ${`${ratio.toFixed(2)}×`.padStart(6)}`;
  const lines = [
    `revocation sweep vs bare tag-plane scan: uniform tags, ${pct(res.paintedFraction)} of them painted, median of ${res.reps} (ms, × floor)`,
    '   memory  tagged  floor ms   sweep (target ≤1.5×)   world-stopped     nothing painted   M tagged/s  GiB/s',
  ];
  for (const r of res.rows)
    lines.push(
      [
        `${r.sizeMiB} MiB`.padStart(9),
        pct(r.density).padStart(7),
        r.floorMs.toFixed(2).padStart(9),
        `  ${ms(r.sweepMs, r.ratio)}      `,
        ms(r.stwMs, r.ratioStw),
        `  ${ms(r.sweep0Ms, r.ratio0)}`,
        (r.taggedPerSec / 1e6).toFixed(1).padStart(12),
        (r.mibPerSec / 1024).toFixed(1).padStart(6),
      ].join(' '),
    );
  return lines;
}

const pct = (f: number) => `${+(f * 100).toPrecision(3)}%`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/* The floor: performance.md §2's scan, on the same frames and shadow; returns the painted hits. */
function floorScan(phys: PhysMem, frames: Int32Array, shadow: Uint8Array, span: number): number {
  const mem = phys.u32;
  const tags = phys.tags;
  let hits = 0;
  for (let f = 0; f < frames.length; f++) {
    const first = frames[f] * TAG_WORDS_PER_PAGE;
    for (let w = first; w < first + TAG_WORDS_PER_PAGE; w++) {
      let t = tags[w];
      while (t !== 0) {
        const low = t & -t;
        t ^= low;
        const i = (w * 32 + (31 - Math.clz32(low))) * 4;
        const off = mem[i + 3] * TWO_32 + mem[i + 2] - VA0;
        if (off >= 0 && off < span && (shadow[off >>> 7] & (1 << ((off >>> 4) & 7))) !== 0) hits++;
      }
    }
  }
  return hits;
}

/* The sweep's predicate: the same shadow test as the floor's. */
function shadowTest(shadow: Uint8Array, span: number): (base: number) => boolean {
  return (base) => {
    const off = base - VA0;
    return off >= 0 && off < span && (shadow[off >>> 7] & (1 << ((off >>> 4) & 7))) !== 0;
  };
}

/*
 * Memory words of a malloc'd data capability (no VMEM: VMEM capabilities are exempt from
 * revocation), to splice bounds bits into (w0 keeps its top 5 bits).
 */
function templateWords(): { w0Top: number; w1: number } {
  const c = capAndPerms(
    capSetBounds(capSetAddr(capAlmighty(), BigInt(VA0)), 64n).cap,
    CHERI_PERMS_USERSPACE_DATA & ~CHERI_PERM_SW_VMEM,
  );
  const [w0, w1] = c.toMemWords();
  return { w0Top: (w0 & 0xf8000000) >>> 0, w1 };
}

const IE_BIT = 1 << 26;
const EBT_MEM_XOR = 0x04018004; /* CC128_MEM_XOR_MASK's bits 26:0 */

/*
 * Put capabilities in a fraction `density` of the granules; paint the base of `painted` of
 * them.  Bounds are encoded exactly with plain numbers (cc128ComputeEbt's exact cases) and the
 * first thousand are checked against the BigInt decoder.  Returns the number placed.
 */
function fill(
  phys: PhysMem,
  density: number,
  painted: number,
  span: number,
  shadow: Uint8Array,
  tmpl: { w0Top: number; w1: number },
  rng: () => number,
): number {
  const { u32, tags, witness } = phys;
  const threshold = Math.floor(density * TWO_32);
  const paintThreshold = Math.floor(painted * TWO_32);
  let placed = 0;
  for (let g = 0; g < phys.ngranules; g++) {
    if (rng() >= threshold) continue;
    const r = rng();
    let base: number;
    let len: number;
    let ebt: number;
    if ((r & 3) !== 0) {
      /* small: exponent 0, any 16-byte aligned base */
      len = 16 * (1 + ((r >>> 2) % 255));
      base = VA0 + 16 * Math.floor((rng() / TWO_32) * ((span - len) / 16));
      ebt = (((base + len) % 4096) << 14) | (base % 16384);
    } else {
      /* large: E = 1..7, length in [2^(E+12), 2^(E+13)), base and top aligned to 2^(E+3) */
      const E = 1 + ((r >>> 2) % 7);
      const unit = 2 ** (E + 3);
      len = unit * (512 + ((r >>> 5) % 512));
      base = VA0 + unit * Math.floor((rng() / TWO_32) * ((span - len) / unit));
      const bottom = Math.floor(base / unit) % 2048;
      const topBits = Math.floor((base + len) / unit) % 2048;
      ebt = IE_BIT | ((((topBits << 3) | (E >>> 3)) & 0xfff) << 14) | (((bottom << 3) | (E & 7)) & 0x3fff);
    }
    const w0 = (tmpl.w0Top | (ebt ^ EBT_MEM_XOR)) >>> 0;
    const w2 = base % TWO_32;
    const w3 = Math.floor(base / TWO_32);
    if (placed < 1000) {
      const cap = Capability.fromMemWords(w0, tmpl.w1, w2, w3, true);
      if (cap.base !== BigInt(base) || cap.top !== BigInt(base + len))
        throw new Error(`sweep bench: bad encoding of [0x${base.toString(16)}, +0x${len.toString(16)})`);
    }
    const i = g * 4;
    u32[i] = w0;
    u32[i + 1] = tmpl.w1;
    u32[i + 2] = w2;
    u32[i + 3] = w3;
    witness[g] = capWitness(w0, tmpl.w1, w2, w3);
    tags[g >>> 5] |= 1 << (g & 31);
    placed++;
    if (rng() < paintThreshold) {
      const sg = (base - VA0) / 16;
      shadow[sg >>> 3] |= 1 << (sg & 7);
    }
  }
  return placed;
}

/* The granules whose capability has a painted base (a base can be shared), with their words. */
function collectPainted(phys: PhysMem, frames: Int32Array, painted: (base: number) => boolean) {
  const g: number[] = [];
  const w0: number[] = [];
  const w1: number[] = [];
  const wt: number[] = [];
  const { u32, tags, witness } = phys;
  for (let f = 0; f < frames.length; f++) {
    for (let w = frames[f] * TAG_WORDS_PER_PAGE; w < (frames[f] + 1) * TAG_WORDS_PER_PAGE; w++) {
      let t = tags[w];
      while (t !== 0) {
        const low = t & -t;
        t ^= low;
        const gi = w * 32 + (31 - Math.clz32(low));
        if (!painted(cc128DecodeBaseMem(u32, gi * 4))) continue;
        g.push(gi);
        w0.push(u32[gi * 4]);
        w1.push(u32[gi * 4 + 1]);
        wt.push(witness[gi]);
      }
    }
  }
  return { g, w0, w1, wt };
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
