/*
 * The revocation sweep (machine/phys/tag_sweep.ts) and the base decoder it relies on
 * (machine/cap/cc128_base.ts): R40's base keying, R42's revoked forms, stale bits, the
 * statistics, the cost model (data words are read only for tagged granules), and the
 * conditional rewrite against a mutator storing into the frame from another thread.
 */

import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import {
  CAP_OTYPE_UNSEALED,
  CAP_REVOKED_W0_KEEP,
  CAP_REVOKED_W1_KEEP,
  Capability,
  CC128_FAST_BASE,
  CC128_FAST_SLOTS,
  CHERI_PERM_EXECUTE,
  CHERI_PERM_GLOBAL,
  CHERI_PERM_LOAD,
  CHERI_PERM_SEAL,
  CHERI_PERM_SW_VMEM,
  CHERI_PERM_SW0,
  CHERI_PERM_UNSEAL,
  CHERI_PERMS_USERSPACE_DATA,
  capAndPerms,
  capBuild,
  capIsRevoked,
  capSeal,
  capSealEntry,
  capSetAddr,
  capSetBounds,
  cc128BaseFromMemWords,
  cc128DecodeBaseMem,
  cc128DecodeMemInto,
  GRANULES_PER_PAGE,
  granuleClearTagForData,
  granuleLoadCap,
  granuleStoreCap,
  granuleTagged,
  newSweepStats,
  PAGE_SIZE,
  PhysAddressError,
  PhysMem,
  readVectorRows,
  SWEEP_PAGE_DIRTY,
  SWEEP_PAGE_HASCAPS,
  type SweepOptions,
  type SweepStats,
  sweepFrames,
} from '@cherisim/machine';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { doubleFloor, vectorFile } from '../_support/cc128.js';
import { boundedCap } from '../_support/machine.js';
import {
  CTL_ACK,
  CTL_PHASE,
  CTL_VIOLATIONS,
  PHASE_FINAL,
  PHASE_STOP,
  type SweepStressInput,
  type SweepStressResult,
} from '../_support/tag_sweep_worker.js';

const TWO_64 = 1n << 64n;

/* ---- the base decoder ---- */

const words = new Uint32Array(8);
const signed = new Int32Array(words.buffer);
const fastOut = new Float64Array(CC128_FAST_SLOTS);

/* The base through every entry point (u32 and int32 views, words, the full fast decoder); they must agree. */
function baseOf(cap: Capability): number {
  const [w0, w1, w2, w3] = cap.toMemWords();
  words.set([w0, w1, w2, w3], 4);
  const b = cc128DecodeBaseMem(words, 4);
  assert.equal(cc128DecodeBaseMem(signed, 4), b, `int32 view, ${cap}`);
  assert.equal(cc128BaseFromMemWords(w0, w2, w3), b, `words, ${cap}`);
  assert.equal(cc128BaseFromMemWords(w0 | 0, w2 | 0, w3 | 0), b, `int32 words, ${cap}`);
  cc128DecodeMemInto(words, 4, fastOut);
  assert.equal(fastOut[CC128_FAST_BASE], b, `the fast decoder's base, ${cap}`);
  return b;
}

/* What it must be: the exact base below 2^53, the largest double below it above. */
function checkBase(cap: Capability): void {
  const b = baseOf(cap);
  assert.equal(b, doubleFloor(cap.base), `${cap}: base 0x${cap.base.toString(16)}, got 0x${b.toString(16)}`);
  if (cap.base < 2n ** 53n) assert.equal(BigInt(b), cap.base);
  else assert.ok(b >= 2 ** 53);
}

test('the base decoder agrees with the BigInt decoder on every decode vector', (t) => {
  const rows = readVectorRows(vectorFile('decode.jsonl.gz'));
  t.is(rows.length, 6000);
  let exact = 0;
  for (const { value } of rows) {
    const row = value as { in_pesbt: string; in_cursor: string };
    const cap = new Capability(BigInt(row.in_pesbt), BigInt(row.in_cursor), false);
    checkBase(cap);
    if (cap.base < 2n ** 53n) exact++;
  }
  /* These rows are random 64-bit words: nearly all bases are above 2^53 (the other files are not). */
  t.log(`${exact} rows with a base below 2^53 compared exactly, ${6000 - exact} rounded down`);
});

test('the base decoder agrees with the BigInt decoder on the setbounds and representable vectors', (t) => {
  let n = 0;
  let exact = 0;
  for (const file of ['setbounds.jsonl.gz', 'representable.jsonl.gz']) {
    for (const { value } of readVectorRows(vectorFile(file))) {
      const row = value as Record<string, { pesbt: string; addr: string }>;
      for (const c of [row.in, row.out, row.cap]) {
        if (c === undefined) continue;
        const cap = new Capability(BigInt(c.pesbt), BigInt(c.addr), false);
        checkBase(cap);
        n++;
        if (cap.base < 2n ** 53n) exact++;
      }
    }
  }
  t.is(n, 2 * 12000 + 18000);
  t.log(`${exact} of ${n} with a base below 2^53`);
  t.true(exact > 1000);
});

test('the base decoder agrees with the BigInt decoder on random inputs', (t) => {
  const u64 = fc.bigInt({ min: 0n, max: TWO_64 - 1n });
  /* Pesbts with an internal exponent of 0..56 (the fast path takes E ≤ 18), or none. */
  const withExp = fc
    .tuple(u64, fc.integer({ min: 0, max: 56 }))
    .map(([p, e]) => (p & ~0x1c007n) | (1n << 26n) | BigInt(((e >> 3) << 14) | (e & 7)));
  const noExp = u64.map((p) => p & ~(1n << 26n));
  const cursor = fc.oneof(
    u64,
    fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }) /* user addresses */,
    fc.bigInt({ min: 0n, max: 1n << 20n }) /* near 0: the base may wrap below it */,
    fc.bigInt({ min: (1n << 53n) - (1n << 34n), max: (1n << 53n) + (1n << 34n) }) /* the fast path's edge */,
    fc.bigInt({ min: TWO_64 - (1n << 34n), max: TWO_64 - 1n }) /* near 2^64: it may wrap above it */,
  );
  let fast = 0;
  fc.assert(
    fc.property(fc.oneof(u64, withExp, noExp), cursor, (pesbt, cur) => {
      const cap = new Capability(pesbt, cur, false);
      checkBase(cap);
      if (cap.exp <= 18 && cur < 2n ** 53n && cap.base < 2n ** 53n) fast++;
    }),
    { numRuns: 30000 },
  );
  t.log(`${fast} of 30000 in the fast path's domain`);
  t.true(fast > 3000);
});

test('the base decoder is exact at the edges of its fast path', (t) => {
  /* E = 17..20 (objects around 2 GiB), cursors around 0, 2^53 and 2^64, B and T at their extremes. */
  const cases: Capability[] = [];
  for (const e of [17, 18, 19, 20]) {
    for (const cur of [
      0n,
      0x3fffn,
      1n << 40n,
      (1n << 53n) - 16n,
      1n << 53n,
      (1n << 53n) + 0x1234n,
      TWO_64 - 1n,
    ]) {
      for (const b of [0, 0x7ff, 0x800, 0x1000, 0x3ff8]) {
        const ebt = (1n << 26n) | BigInt(((e >> 3) << 14) | (e & 7)) | BigInt(b & 0x3ff8);
        for (const tBits of [0n, 0x7ffn << 17n])
          cases.push(new Capability(0x00001ffff8000000n | ebt | tBits, cur, false));
      }
    }
  }
  for (const cap of cases) checkBase(cap);
  t.is(cases.length, 4 * 7 * 5 * 2);
});

/* ---- sweeping ---- */

const PAINT = 0x4000_0000; /* a painted 256-byte allocation */
const BIG = 0x5000_0000; /* a painted 64 KiB allocation: its capabilities have an internal exponent */
const PFN = 3;

/* The shadow: one bit per 16-byte granule of virtual address space, keyed by base (R40). */
class Shadow {
  readonly #granules = new Set<number>();
  calls = 0;
  paint(va: number, len: number): this {
    for (let a = va; a < va + len; a += 16) this.#granules.add(Math.floor(a / 16));
    return this;
  }
  readonly test = (base: number): boolean => {
    this.calls++;
    return this.#granules.has(Math.floor(base / 16));
  };
}

const shadow = () => new Shadow().paint(PAINT, 0x100).paint(BIG, 0x10000);

function freshPhys(): PhysMem {
  return new PhysMem({ bytes: 16 * PAGE_SIZE });
}

function put(phys: PhysMem, slot: number, cap: Capability, pfn = PFN): void {
  const [w0, w1, w2, w3] = cap.toMemWords();
  granuleStoreCap(phys.u32, phys.tags, phys.witness, pfn * GRANULES_PER_PAGE + slot, w0, w1, w2, w3);
}

function putData(phys: PhysMem, slot: number, ws: readonly number[], pfn = PFN): void {
  const g = pfn * GRANULES_PER_PAGE + slot;
  granuleClearTagForData(phys.tags, g);
  phys.u32.set(ws, g * 4);
}

/* What a granule holds, as a cap load sees it. */
function get(phys: PhysMem, slot: number, pfn = PFN): { tagged: boolean; words: number[]; cap: Capability } {
  const out = new Uint32Array(4);
  const tagged = granuleLoadCap(phys.u32, phys.tags, phys.witness, pfn * GRANULES_PER_PAGE + slot, out) === 1;
  const [w0, w1, w2, w3] = out;
  return { tagged, words: [w0, w1, w2, w3], cap: Capability.fromMemWords(w0, w1, w2, w3, tagged) };
}

function frameWords(phys: PhysMem, pfn = PFN): number[] {
  return [...phys.u32.subarray(pfn * 1024, (pfn + 1) * 1024)];
}

function sweep(phys: PhysMem, painted: (base: number) => boolean, opts: SweepOptions = {}, pfns = [PFN]) {
  const stats = newSweepStats();
  const flags = sweepFrames(phys, pfns, painted, opts, stats);
  return { stats, flags };
}

function revokedWords(cap: Capability): number[] {
  const [w0, w1, w2, w3] = cap.toMemWords();
  return [(w0 & CAP_REVOKED_W0_KEEP) >>> 0, (w1 & CAP_REVOKED_W1_KEEP) >>> 0, w2, w3];
}

/*
 * The revoked forms (R42).  Tagged (CheriBSD's default): unsealed, no permissions, all else
 * as it was.  Untagged (CHERI_CAPREVOKE_CLEARTAGS): the same bytes without the tag.
 */
function assertRevoked(
  t: ExecutionContext,
  phys: PhysMem,
  slot: number,
  orig: Capability,
  tagged: boolean,
  what: string,
) {
  const now = get(phys, slot);
  t.true(capIsRevoked(now.tagged, now.words[0], now.words[1]), `${what}: check_revoked`);
  if (!tagged) {
    t.false(now.tagged, `${what}: tag cleared`);
    t.deepEqual(now.words, orig.toMemWords(), `${what}: bytes kept`);
    return;
  }
  t.true(now.tagged, `${what}: tag kept`);
  t.deepEqual(now.words, revokedWords(orig), `${what}: words`);
  t.is(now.cap.perms, 0, `${what}: perms`);
  t.is(now.cap.otype, CAP_OTYPE_UNSEALED, `${what}: otype`);
  t.is(now.cap.base, orig.base, `${what}: base`);
  t.is(now.cap.top, orig.top, `${what}: top`);
  t.is(now.cap.cursor, orig.cursor, `${what}: cursor`);
  t.is(now.cap.flags, orig.flags, `${what}: flags`);
}

function assertUntouched(t: ExecutionContext, phys: PhysMem, slot: number, orig: Capability, what: string) {
  const now = get(phys, slot);
  t.true(now.tagged, `${what}: tagged`);
  t.deepEqual(now.words, orig.toMemWords(), `${what}: words`);
  t.false(capIsRevoked(now.tagged, now.words[0], now.words[1]), `${what}: not revoked`);
}

/* Capabilities around the painted allocations, by slot; `painted` says which R40 revokes. */
function population() {
  const a = boundedCap(PAINT, 0x100, CHERI_PERMS_USERSPACE_DATA & ~CHERI_PERM_SW_VMEM);
  const big = boundedCap(BIG, 0x10000, CHERI_PERMS_USERSPACE_DATA & ~CHERI_PERM_SW_VMEM);
  const below = boundedCap(PAINT - 0x100, 0x200, CHERI_PERMS_USERSPACE_DATA & ~CHERI_PERM_SW_VMEM);
  return [
    { slot: 0, painted: true, what: 'the allocation', cap: a },
    { slot: 1, painted: true, what: 'derived, cursor moved to its end', cap: capSetAddr(a, PAINT + 0xf0) },
    {
      slot: 5,
      painted: true,
      what: 'a sub-object',
      cap: capSetBounds(capSetAddr(a, PAINT + 0x40), 0x20).cap,
    },
    {
      slot: 31,
      painted: true,
      what: 'a 64 KiB allocation (exponent > 0)',
      cap: capSetAddr(big, BIG + 0x8000),
    },
    {
      slot: 32,
      painted: false,
      what: 'base below it, cursor in a painted granule',
      cap: capSetAddr(below, PAINT + 0x10),
    },
    { slot: 100, painted: false, what: 'base just past it', cap: boundedCap(PAINT + 0x100, 0x40) },
    {
      slot: 255,
      painted: false,
      what: 'base past it, cursor below its base, in a painted granule',
      cap: capSetAddr(boundedCap(PAINT + 0x100, 0x40), PAINT + 0xf0),
    },
  ];
}

function populate(phys: PhysMem): void {
  for (const p of population()) put(phys, p.slot, p.cap);
}

for (const worldStopped of [false, true])
  test(`the sweep revokes exactly the capabilities whose base is painted (R40)${worldStopped ? ', world stopped' : ''}`, (t) => {
    const phys = freshPhys();
    const sh = shadow();
    for (const p of population()) {
      t.true(p.cap.tag, p.what);
      t.is(sh.test(Number(p.cap.base)), p.painted, `${p.what}: base painted`);
    }
    populate(phys);
    const { stats, flags } = sweep(phys, sh.test, { worldStopped });
    for (const p of population())
      if (p.painted) assertRevoked(t, phys, p.slot, p.cap, worldStopped, p.what);
      else assertUntouched(t, phys, p.slot, p.cap, p.what);
    t.is(stats.capsCleared, 4);
    t.is(stats.capsFound, 7);
    t.is(flags, SWEEP_PAGE_HASCAPS);
  });

test('revoked forms: tag cleared with mutators possibly running, tag kept when the world is stopped', (t) => {
  const forms: [SweepOptions, boolean][] = [
    [{}, false],
    [{ clearTags: true }, false],
    [{ worldStopped: true }, true],
    [{ worldStopped: true, clearTags: true }, false],
    [{ verifyAll: true }, false],
    [{ verifyAll: true, worldStopped: true }, true],
  ];
  const statsSeen = forms.map(([opts, tagged]) => {
    const phys = freshPhys();
    populate(phys);
    const { stats } = sweep(phys, shadow().test, opts);
    for (const p of population())
      if (p.painted) assertRevoked(t, phys, p.slot, p.cap, tagged, `${JSON.stringify(opts)} ${p.what}`);
      else assertUntouched(t, phys, p.slot, p.cap, p.what);
    /* Whatever the form, a second sweep revokes nothing more. */
    t.is(sweep(phys, shadow().test, opts).stats.capsCleared, 0);
    return stats;
  });
  for (const st of statsSeen) t.deepEqual(st, statsSeen[0]);
});

test('the tagged revoked form keeps bounds and cursor, unsealed with no permissions, of any capability (R42)', (t) => {
  const phys = freshPhys();
  const a = boundedCap(PAINT, 0x100);
  const sealer = capSetAddr(
    capBuild(0x1000, 0x100, CHERI_PERM_SEAL | CHERI_PERM_UNSEAL | CHERI_PERM_GLOBAL),
    0x1042,
  );
  const caps = [
    ['all permissions', a],
    ['data permissions', capAndPerms(a, CHERI_PERMS_USERSPACE_DATA)],
    ['a software permission only', capAndPerms(a, CHERI_PERM_SW0)],
    ['sealed', capSeal(a, sealer)],
    ['a sentry', capSealEntry(capAndPerms(a, CHERI_PERM_LOAD | CHERI_PERM_EXECUTE | CHERI_PERM_GLOBAL))],
    ['sealed, no permissions (CheriBSD would skip it: perms == 0)', capSeal(capAndPerms(a, 0), sealer)],
  ] as const;
  for (const [k, [, cap]] of caps.entries()) put(phys, k, cap);
  const { stats } = sweep(phys, shadow().test, { worldStopped: true });
  for (const [k, [what, cap]] of caps.entries()) {
    assertRevoked(t, phys, k, cap, true, what);
    t.true(granuleTagged(phys.u32, phys.tags, phys.witness, PFN * GRANULES_PER_PAGE + k), `${what}: witness`);
    t.is(cc128DecodeBaseMem(phys.u32, (PFN * GRANULES_PER_PAGE + k) * 4), PAINT, `${what}: base`);
  }
  t.is(stats.capsCleared, caps.length);
  /* A second sweep finds them all revoked, and leaves them be. */
  const again = sweep(phys, shadow().test, { verifyAll: true });
  t.is(again.stats.capsFoundRevoked, caps.length);
  t.is(again.stats.capsCleared, 0);
  t.is(again.flags, 0);
});

test('untagged data that looks like a painted capability is left alone', (t) => {
  const phys = freshPhys();
  const a = boundedCap(PAINT, 0x100);
  putData(phys, 7, a.toMemWords()); /* the bytes of a painted capability, stored as data */
  put(phys, 8, a);
  phys.writeBytes(
    (PFN * GRANULES_PER_PAGE + 8) * 16 + 8,
    new Uint8Array([1]),
  ); /* a data store into a capability */
  const before = frameWords(phys);
  for (const opts of [{}, { worldStopped: true }, { verifyAll: true }]) {
    const sh = shadow();
    const { stats, flags } = sweep(phys, sh.test, opts);
    t.deepEqual(frameWords(phys), before);
    t.false(get(phys, 7).tagged);
    t.false(get(phys, 8).tagged);
    t.is(stats.tagBits, 0);
    t.is(sh.calls, 0);
    t.is(flags, 0);
  }
});

/*
 * Stale bits: the tag bit set over bytes that its witness does not match (what a data store
 * racing a capability store can leave).  Made here by writing a word behind the protocol.
 */
function staleBits(phys: PhysMem): void {
  put(phys, 10, boundedCap(PAINT, 0x100));
  phys.u32[(PFN * GRANULES_PER_PAGE + 10) * 4 + 2] += 16; /* cursor moved: base still painted */
  put(phys, 11, boundedCap(PAINT + 0x1000, 0x100));
  phys.u32[(PFN * GRANULES_PER_PAGE + 11) * 4 + 2] += 16; /* unpainted-looking */
}

test('stale bits are not capabilities: never rewritten, counted, cleared only when the world is stopped', (t) => {
  for (const [opts, stale, found, cleared] of [
    [{}, 1, 1, 0] /* the painted-looking one is checked; the other is counted from its words */,
    [{ verifyAll: true }, 2, 0, 0],
    [{ verifyAll: true, worldStopped: true }, 2, 0, 2],
    [{ worldStopped: true }, 1, 1, 1],
  ] as const) {
    const phys = freshPhys();
    staleBits(phys);
    const bytes = frameWords(phys);
    const { stats } = sweep(phys, shadow().test, opts);
    const what = JSON.stringify(opts);
    t.deepEqual(frameWords(phys), bytes, `${what}: bytes untouched`);
    t.is(stats.tagBits, 2, what);
    t.is(stats.staleBits, stale, what);
    t.is(stats.capsFound, found, what);
    t.is(stats.capsCleared, 0, what);
    t.is(stats.staleBitsCleared, cleared, what);
    t.is([10, 11].filter((s) => (phys.tags[PFN * 8] & (1 << s)) !== 0).length, 2 - cleared, what);
    t.false(get(phys, 10).tagged, what);
    t.false(get(phys, 11).tagged, what);
  }
});

test('the statistics count frames, lines, bits, capabilities found, already revoked and cleared', (t) => {
  const phys = freshPhys();
  populate(phys);
  put(phys, 40, capAndPerms(boundedCap(PAINT + 0x2000, 0x10), 0), PFN + 1); /* already revoked */
  put(phys, 41, boundedCap(PAINT, 0x10), PFN + 1); /* painted */
  const frames = [PFN, PFN + 1, PFN + 2 /* empty */];
  const first = sweep(phys, shadow().test, { worldStopped: true }, frames);
  const expected: SweepStats = {
    pagesScan: 3,
    tagWordsScan: 24,
    linesScan: 5 /* slots 0-31, 32-63, 96-127 and 224-255 of PFN; 32-63 of PFN + 1 */,
    tagBits: 9,
    capsFound: 8,
    capsFoundRevoked: 1,
    capsCleared: 5,
    staleBits: 0,
    staleBitsCleared: 0,
    rewriteRetries: 0,
    racesLost: 0,
  };
  t.deepEqual(first.stats, expected);
  t.is(first.flags, SWEEP_PAGE_HASCAPS);
  t.deepEqual(sweep(phys, shadow().test, { verifyAll: true }, frames).stats, {
    ...expected,
    capsFound: 3,
    capsFoundRevoked: 6,
    capsCleared: 0,
  });
  /* Per frame: only revoked capabilities left in PFN + 1, nothing in PFN + 2. */
  t.is(sweep(phys, shadow().test, {}, [PFN + 1]).flags, 0);
  t.is(sweep(phys, shadow().test, {}, [PFN + 2]).flags, 0);
  t.is(sweep(phys, shadow().test, {}, [PFN]).flags, SWEEP_PAGE_HASCAPS);
  t.is(first.flags & SWEEP_PAGE_DIRTY, 0);
  /* The tag-clearing form: revoked capabilities are gone from the tag plane. */
  const phys2 = freshPhys();
  populate(phys2);
  sweep(phys2, shadow().test);
  t.like(sweep(phys2, shadow().test, { verifyAll: true }).stats, { linesScan: 3, tagBits: 3, capsFound: 3 });
  /* Stats add up across calls; frames can repeat, and come as any array-like. */
  const stats = newSweepStats();
  sweepFrames(phys, [PFN], shadow().test, {}, stats);
  sweepFrames(phys, new Int32Array([PFN + 1, PFN + 1]), shadow().test, {}, stats);
  t.like(stats, { pagesScan: 3, tagBits: 7 + 2 + 2 });
});

test('a frame outside memory is refused before anything is swept', (t) => {
  const phys = freshPhys();
  put(phys, 0, boundedCap(PAINT, 0x100));
  for (const bad of [phys.nframes, -1, 1.5, Number.NaN]) {
    t.throws(() => sweep(phys, shadow().test, {}, [PFN, bad]), { instanceOf: PhysAddressError });
    t.true(get(phys, 0).tagged, 'nothing revoked');
  }
});

/*
 * The cost model: count every read of the data and witness words through proxies.  A frame
 * without tags costs its 8 tag words and nothing else, however its data looks; a tagged
 * granule costs its 4 data words, and its witness only if its base is painted.
 */
function countingPhys(phys: PhysMem) {
  const reads = { data: 0, witness: 0 };
  const counting = <T extends Uint32Array>(arr: T, key: 'data' | 'witness'): T =>
    new Proxy(arr, {
      get(target, prop) {
        if (typeof prop === 'string' && /^\d+$/.test(prop)) reads[key]++;
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  const view = Object.create(phys) as PhysMem;
  Object.defineProperty(view, 'u32', { value: counting(phys.u32, 'data') });
  Object.defineProperty(view, 'witness', { value: counting(phys.witness, 'witness') });
  return { view, reads };
}

test('the sweep reads no data of granules without a tag, and 4 words of each tagged one', (t) => {
  const phys = freshPhys();
  /* Fill frame PFN with copies of a painted capability's bytes, as data. */
  const bytes = boundedCap(PAINT, 0x100).toMemWords();
  for (let s = 0; s < GRANULES_PER_PAGE; s++) putData(phys, s, bytes);
  const { view, reads } = countingPhys(phys);
  const sh = shadow();
  const { stats } = sweep(view, sh.test, { verifyAll: true });
  t.deepEqual(reads, { data: 0, witness: 0 });
  t.is(sh.calls, 0);
  t.is(stats.tagWordsScan, 8);
  t.is(stats.linesScan, 0);
  /* Three unpainted capabilities among the data. */
  for (const slot of [3, 64, 65]) put(phys, slot, boundedCap(PAINT + 0x1000 * slot, 0x10));
  sweep(view, sh.test);
  t.deepEqual(reads, { data: 3 * 4, witness: 0 });
  t.is(sh.calls, 3);
  sweep(view, sh.test, { verifyAll: true });
  t.deepEqual(reads, { data: 2 * 3 * 4, witness: 3 });
  /* A painted one: its witness is read too (a world-stopped rewrite needs no Atomics, which a proxy cannot take). */
  put(phys, 66, boundedCap(PAINT, 0x10));
  sweep(view, sh.test, { worldStopped: true });
  t.deepEqual(reads, { data: 2 * 3 * 4 + 4 * 4, witness: 3 + 1 });
  t.true(get(phys, 66).tagged);
  t.is(get(phys, 66).cap.perms, 0);
});

/*
 * The rewrite race, made deterministic: the shadow's predicate (called between the sweep's
 * read of a granule and its rewrite) stores into that granule, as a mutator on another
 * thread could.  What the "mutator" stored must stand.
 */
test('a capability or data stored between the sweep reading a granule and rewriting it stands', (t) => {
  const a = boundedCap(PAINT, 0x100);
  const u = boundedCap(PAINT + 0x1000, 0x100);
  const b = boundedCap(PAINT + 0x10, 0x20);
  const expectData = (ws: number[]) => (p: PhysMem) => {
    t.false(get(p, 9).tagged);
    t.deepEqual(get(p, 9).words, ws);
  };
  const cases: [string, (phys: PhysMem) => void, (phys: PhysMem) => void][] = [
    ['an unpainted capability', (p) => put(p, 9, u), (p) => assertUntouched(t, p, 9, u, 'unpainted')],
    ['data', (p) => putData(p, 9, [1, 2, 3, 4]), expectData([1, 2, 3, 4])],
    [
      "the painted capability's own bytes as data",
      (p) => putData(p, 9, a.toMemWords()),
      expectData(a.toMemWords()),
    ],
    ['its revoked bytes as data', (p) => putData(p, 9, revokedWords(a)), expectData(revokedWords(a))],
    [
      'another painted capability',
      (p) => put(p, 9, b),
      (p) => assertRevoked(t, p, 9, b, false, 'painted again'),
    ],
  ];
  for (const [what, mutate, expect] of cases) {
    const phys = freshPhys();
    put(phys, 9, a);
    const sh = shadow();
    let done = false;
    const racy = (base: number) => {
      const r = sh.test(base);
      if (!done) {
        done = true;
        mutate(phys);
      }
      return r;
    };
    const { stats } = sweep(phys, racy);
    expect(phys);
    t.is(stats.rewriteRetries, 1, what);
    t.is(stats.racesLost, 0, what);
  }
});

test('capIsRevoked is check_revoked: tag clear, or unsealed with no permissions', (t) => {
  const a = boundedCap(PAINT, 0x100);
  const sealer = capSetAddr(capBuild(0x1000, 0x100, CHERI_PERM_SEAL | CHERI_PERM_GLOBAL), 0x1042);
  const is = (c: Capability) => {
    const [w0, w1] = c.toMemWords();
    return capIsRevoked(c.tag, w0, w1);
  };
  t.false(is(a));
  t.true(is(capAndPerms(a, 0)));
  t.false(is(capSeal(capAndPerms(a, 0), sealer)));
  t.false(is(capAndPerms(a, CHERI_PERM_SW0)));
  t.true(is(Capability.fromMemWords(...a.toMemWords(), false)));
  t.true(is(Capability.fromMemWords(0, 0, 0, 0, true))); /* NULL's encoding: no permissions, unsealed */
  const [r0, r1] = revokedWords(a);
  t.true(capIsRevoked(1, r0, r1));
  t.true(capIsRevoked(0, a.toMemWords()[0], a.toMemWords()[1]));
});

/* ---- against a mutator on another thread ---- */

function runWorker(input: SweepStressInput): Promise<SweepStressResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('../_support/tag_sweep_worker.js', import.meta.url), { workerData: input });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Harness {
  violations: string[];
  stats: SweepStats;
  sweeps: number;
  worker: SweepStressResult;
}

/*
 * The frame: 40 hot granules that the worker writes (one whole tag word, so its Atomics on
 * the tag word contend with the sweep's, and 8 more spread out), pre-filled with painted
 * capabilities; the rest holds a fixed mix of painted and unpainted capabilities and data.
 * The main thread sweeps until enough rewrite races have happened (or time is up), then
 * tells the worker to stop storing painted capabilities, waits for its ack, sweeps once
 * more (the FINAL sweep, with the worker still storing unpainted capabilities and data),
 * and stops it.  Then: every painted capability stored before the final sweep started is
 * revoked, and every other granule holds exactly what was last stored there.
 */
async function harness(
  sweepOnce: (phys: PhysMem, painted: (b: number) => boolean) => void,
  stats: SweepStats,
  taggedForm: boolean /* the revoked form to expect: tagged (the naive sweep) or not (the real one, concurrently) */,
  enough: (workerViolations: number) => boolean /* stop sweeping (after 1.5 s at least, 6 s at most) */,
): Promise<Harness> {
  const phys = new PhysMem({ bytes: 16 * PAGE_SIZE });
  const sh = new Shadow().paint(PAINT, 0x1000);
  const sealer = capSetAddr(capBuild(0x1000, 0x100, CHERI_PERM_SEAL | CHERI_PERM_GLOBAL), 0x1077);
  const paintedCaps = [
    ...[0, 1, 2, 3, 4, 5].map((k) =>
      capSetAddr(boundedCap(PAINT + 0x100 * k, 0x100), PAINT + 0x100 * k + 0x10 * k),
    ),
    capSeal(boundedCap(PAINT + 0x800, 0x40), sealer),
    capSetAddr(boundedCap(PAINT + 0xc00, 0x100), PAINT + 0x1000 + 0x40) /* cursor past the painted range */,
  ];
  const unpaintedCaps = [
    ...[0, 1, 2, 3, 4].map((k) => boundedCap(PAINT + 0x2000 + 0x100 * k, 0x100)),
    capSetAddr(boundedCap(PAINT - 0x100, 0x200), PAINT + 0x20) /* cursor in a painted granule */,
    capAndPerms(boundedCap(PAINT + 0x3000, 0x100), CHERI_PERMS_USERSPACE_DATA & ~CHERI_PERM_SW_VMEM),
    capAndPerms(boundedCap(PAINT + 0x3100, 0x100), 0) /* revoked-looking, unpainted */,
  ];
  const pw = paintedCaps.map((c) => c.toMemWords() as number[]);
  const uw = unpaintedCaps.map((c) => c.toMemWords() as number[]);
  const data = [
    ...pw /* byte copies of painted capabilities */,
    ...paintedCaps.map(revokedWords) /* of their revoked forms (w1 = 0) */,
    [0, 0, 0, 0],
    [0xdeadbeef, 0x01234567, 0x89abcdef, 0xffffffff],
  ];
  for (const [k, c] of paintedCaps.entries()) t0Check(c, sh.test, true, k);
  for (const [k, c] of unpaintedCaps.entries()) t0Check(c, sh.test, false, k);
  const hot = [...Array.from({ length: 32 }, (_, k) => 64 + k), 3, 17, 130, 131, 200, 201, 254, 255];
  const init = hot.map((_, k) => pw[k % pw.length]);
  for (const [k, slot] of hot.entries()) put(phys, slot, paintedCaps[k % paintedCaps.length]);
  /* The cold granules: fixed. */
  const cold = [0, 1, 2, 40, 41, 42, 100, 101, 102, 150, 151, 152];
  cold.forEach((slot, k) => {
    if (k % 3 === 0) put(phys, slot, paintedCaps[k % paintedCaps.length]);
    else if (k % 3 === 1) put(phys, slot, unpaintedCaps[k % unpaintedCaps.length]);
    else putData(phys, slot, pw[k % pw.length]);
  });
  const coldBefore = cold.map((slot) => get(phys, slot));
  const ctl = new Int32Array(new SharedArrayBuffer(16));
  const done = runWorker({
    phys: phys.shared(),
    pfn: PFN,
    hot,
    init,
    painted: pw,
    unpainted: uw,
    data,
    ctl: ctl.buffer as SharedArrayBuffer,
    seed: 0x2545f491,
  });
  let sweeps = 0;
  const start = Date.now();
  await sleep(20); /* let the worker start */
  while (
    Date.now() - start < 6000 &&
    (Date.now() - start < 1500 || !enough(Atomics.load(ctl, CTL_VIOLATIONS)))
  ) {
    for (let k = 0; k < 200; k++, sweeps++) sweepOnce(phys, sh.test);
    await new Promise((r) => setImmediate(r));
  }
  Atomics.store(ctl, CTL_PHASE, PHASE_FINAL);
  while (Atomics.load(ctl, CTL_ACK) !== PHASE_FINAL) await sleep(1);
  sweepOnce(phys, sh.test); /* the final sweep */
  sweeps++;
  await sleep(20); /* the worker goes on storing unpainted capabilities and data meanwhile */
  Atomics.store(ctl, CTL_PHASE, PHASE_STOP);
  const worker = await done;
  const violations = [...worker.violations];
  const hex = (ws: number[]) => ws.map((w) => w.toString(16).padStart(8, '0')).join(':');
  /* The final state, exactly. */
  hot.forEach((slot, k) => {
    const now = get(phys, slot);
    const { kind, words } = worker.last[k];
    const want =
      kind === 'unpainted'
        ? { tagged: true, words }
        : kind === 'data'
          ? { tagged: false, words }
          : !taggedForm
            ? { tagged: false, words }
            : {
                tagged: true,
                words: revokedWords(Capability.fromMemWords(words[0], words[1], words[2], words[3], true)),
              };
    if (now.tagged !== want.tagged || hex(now.words) !== hex(want.words))
      violations.push(
        `final: granule ${slot} (last ${kind} ${hex(words)}) holds ${now.tagged ? 'tagged' : 'untagged'} ${hex(now.words)}`,
      );
  });
  cold.forEach((slot, k) => {
    const now = get(phys, slot);
    const was = coldBefore[k];
    const want =
      k % 3 !== 0
        ? { tagged: was.tagged, words: was.words }
        : !taggedForm
          ? { tagged: false, words: was.words }
          : { tagged: true, words: revokedWords(was.cap) };
    if (now.tagged !== want.tagged || hex(now.words) !== hex(want.words))
      violations.push(
        `final: cold granule ${slot} holds ${now.tagged ? 'tagged' : 'untagged'} ${hex(now.words)}`,
      );
  });
  /* Anywhere in the frame: no live painted capability, no revoked unpainted one. */
  for (let slot = 0; slot < GRANULES_PER_PAGE; slot++) {
    const now = get(phys, slot);
    if (!now.tagged) continue;
    const p = sh.test(Number(now.cap.base));
    const r = capIsRevoked(true, now.words[0], now.words[1]);
    if (p && !r) violations.push(`final: granule ${slot} holds a live painted capability ${now.cap}`);
    if (!p && r && now.cap.base !== BigInt(PAINT + 0x3100))
      violations.push(`final: granule ${slot} holds a revoked unpainted capability ${now.cap}`);
  }
  return { violations, stats, sweeps, worker };
}

function t0Check(c: Capability, painted: (b: number) => boolean, want: boolean, k: number): void {
  assert.ok(c.tag, `capability ${k} tagged`);
  assert.equal(painted(Number(c.base)), want, `capability ${k} painted`);
}

for (const opts of [{}, { verifyAll: true }] as SweepOptions[]) {
  test.serial(
    `with a mutator storing into the frame, the painted capabilities are revoked and nothing else changes ${JSON.stringify(opts)}`,
    async (t) => {
      const stats = newSweepStats();
      const h = await harness(
        (phys, painted) => sweepFrames(phys, [PFN], painted, opts, stats),
        stats,
        false,
        () => stats.rewriteRetries >= 200,
      );
      t.log(
        `${h.sweeps} sweeps; worker: ${h.worker.ops} ops, ${h.worker.paintedStores} painted stores, ${h.worker.checks} checks (${h.worker.transientMismatches} transient); sweep: ${stats.capsCleared} revoked, ${stats.rewriteRetries} rewrite races, ${stats.racesLost} lost, ${stats.staleBits} stale`,
      );
      t.deepEqual(h.violations, []);
      /* Meaningful only if the races really happened. */
      t.true(stats.capsCleared > 1000, `revoked ${stats.capsCleared}`);
      t.true(stats.rewriteRetries > 0, `rewrite races ${stats.rewriteRetries}`);
      t.true(h.worker.checks > 10000);
    },
  );
}

/*
 * The harness can fail: a sweep that rewrites unconditionally (read, decide, granuleStoreCap
 * the revoked value) loses the mutator's stores that land between its read and its write.
 */
test.serial('the concurrent check catches a sweep that rewrites without comparing', async (t) => {
  const stats = newSweepStats();
  const out = new Uint32Array(4);
  const naive = (phys: PhysMem, painted: (b: number) => boolean) => {
    for (let slot = 0; slot < GRANULES_PER_PAGE; slot++) {
      const g = PFN * GRANULES_PER_PAGE + slot;
      if (granuleLoadCap(phys.u32, phys.tags, phys.witness, g, out) === 0) continue;
      if (capIsRevoked(true, out[0], out[1]) || !painted(cc128DecodeBaseMem(out, 0))) continue;
      const w0 = (out[0] & CAP_REVOKED_W0_KEEP) >>> 0;
      const w1 = (out[1] & CAP_REVOKED_W1_KEEP) >>> 0;
      granuleStoreCap(phys.u32, phys.tags, phys.witness, g, w0, w1, out[2], out[3]);
      stats.capsCleared++;
    }
  };
  const h = await harness(naive, stats, true, (violations) => violations > 0);
  t.log(`${h.violations.length} violations, e.g. ${h.violations[0]}`);
  t.true(h.violations.length > 0);
});
