/*
 * Hand-written cases for the cc128 codec, Capability values, derivations, faults, the fast
 * decoder and CheriBSD-style printing.
 */

import assert from 'node:assert/strict';
import {
  CAP_MAX_SEALABLE_OTYPE,
  CAP_NULL,
  CAP_OTYPE_SENTRY,
  CAP_OTYPE_UNSEALED,
  Capability,
  CapabilityFault,
  CapEx,
  CC128_MEM_XOR_MASK,
  CC128_NULL_PESBT,
  CC128_RESET_PESBT,
  CHERI_PERM_EXECUTE,
  CHERI_PERM_GLOBAL,
  CHERI_PERM_LOAD,
  CHERI_PERM_SEAL,
  CHERI_PERM_STORE,
  CHERI_PERM_SW_VMEM,
  CHERI_PERM_UNSEAL,
  CHERI_PERMS_ALL,
  capAlmighty,
  capAndPerms,
  capBuild,
  capClearTag,
  capExToSiCode,
  capIncOffset,
  capIsSubset,
  capNullDerived,
  capSeal,
  capSealEntry,
  capSetAddr,
  capSetBounds,
  capSetBoundsExact,
  capToJson,
  capUnseal,
  cc128ExtractBoundsBits,
  cc128GetAlignmentMask,
  cc128GetRepresentableLength,
  formatCapability,
  PROT_CHERI,
  readVectorRows,
} from '@cherisim/machine';
import test from 'ava';
import fc from 'fast-check';
import { expectedFast, fastDecode, fastDecodeMem, vectorFile } from '../_support/cc128.js';

const TWO_64 = 1n << 64n;
const root = capAlmighty();
/* [0x10000, 0x11000), every permission, cursor at base. */
const page = capSetBoundsExact(capSetAddr(root, 0x10000), 0x1000);

function faultOf(t: import('ava').ExecutionContext, run: () => unknown, exccode: CapEx): CapabilityFault {
  const err = t.throws(run, { instanceOf: CapabilityFault });
  t.is(err?.exccode, exccode);
  return err as CapabilityFault;
}

/* ---- encodings ---- */

test('NULL is all zeros in memory and the XOR mask in its raw form', (t) => {
  t.is(CC128_NULL_PESBT, 0x00001ffffc018004n);
  t.is(CC128_MEM_XOR_MASK, CC128_NULL_PESBT);
  t.deepEqual(CAP_NULL.toMemWords(), [0, 0, 0, 0]);
  t.true(Capability.fromMemWords(0, 0, 0, 0, false).equals(CAP_NULL));
  t.is(CAP_NULL.base, 0n);
  t.is(CAP_NULL.top, TWO_64);
  t.is(CAP_NULL.perms, 0);
  t.false(CAP_NULL.tag);
});

test('the reset capability decodes to base 0, top 2^64, perms 0x78fff, unsealed, tagged', (t) => {
  t.is(root.pesbt, CC128_RESET_PESBT);
  t.is(root.pesbt, 0xffff1ffffc018004n);
  t.true(root.tag);
  t.is(root.base, 0n);
  t.is(root.top, TWO_64);
  t.is(root.length, TWO_64);
  t.is(root.perms, 0x78fff);
  t.is(root.perms, CHERI_PERMS_ALL);
  t.is(root.otype, CAP_OTYPE_UNSEALED);
  t.false(root.isSealed);
  t.is(root.exp, 52);
  t.deepEqual(root.toMemWords(), [0, 0xffff0000, 0, 0]);
});

/* capability-encoding.md §5's examples (identical for v9 and 128r). */
const CRRL_CRAM: readonly [len: bigint, crrl: bigint | undefined, cram: bigint | undefined][] = [
  [0xfffn, 0xfffn, 0xffffffffffffffffn],
  [0x1000n, 0x1000n, 0xfffffffffffffff8n],
  [0x1fffn, 0x2000n, 0xfffffffffffffff0n],
  [0x4001n, 0x4020n, undefined],
  [0x100001n, 0x100800n, undefined],
  [TWO_64 - 1n, 0n, 0xff80000000000000n],
];

for (const [len, crrl, cram] of CRRL_CRAM) {
  test(`CRRL and CRAM of 0x${len.toString(16)} are as capability-encoding.md §5 gives them`, (t) => {
    if (crrl !== undefined) t.is(cc128GetRepresentableLength(len), crrl);
    if (cram !== undefined) t.is(cc128GetAlignmentMask(len), cram);
    /* The mask and the length agree: the rounded length is a multiple of the alignment. */
    t.is(cc128GetRepresentableLength(len) & ~cc128GetAlignmentMask(len), 0n);
  });
}

test('a length below 2^12 is encoded without an internal exponent, and 2^12 with one', (t) => {
  t.false(cc128ExtractBoundsBits(capSetBoundsExact(root, 0xfff).pesbt).IE);
  t.true(cc128ExtractBoundsBits(capSetBoundsExact(root, 0x1000).pesbt).IE);
});

/* ---- setAddr / incOffset ---- */

test('setAddr to an unrepresentable address clears the tag and the bounds change', (t) => {
  const moved = capSetAddr(page, 0x1000_0000);
  t.false(moved.tag);
  t.is(moved.cursor, 0x1000_0000n);
  t.not(moved.base, page.base);
});

test('setAddr out of bounds but inside the representable region keeps the tag and bounds', (t) => {
  const moved = capSetAddr(page, 0x11800);
  t.true(moved.tag);
  t.is(moved.base, page.base);
  t.is(moved.top, page.top);
});

test('incOffset moves the address modulo 2^64 and clears the tag when unrepresentable', (t) => {
  t.is(capIncOffset(page, 0x10).cursor, 0x10010n);
  t.true(capIncOffset(page, -0x10).tag);
  const wrapped = capIncOffset(page, -0x20000n);
  t.is(wrapped.cursor, TWO_64 - 0x10000n);
  t.false(wrapped.tag);
});

test('setAddr on the almighty capability keeps it tagged anywhere', (t) => {
  const far = capSetAddr(root, TWO_64 - 1n);
  t.true(far.tag);
  t.is(far.top, TWO_64);
});

/* ---- setBounds ---- */

test('exact setbounds keeps the tag when the bounds are exact', (t) => {
  const c = capSetBoundsExact(capSetAddr(root, 0x20000), 0x100);
  t.true(c.tag);
  t.is(c.base, 0x20000n);
  t.is(c.top, 0x20100n);
});

test('exact setbounds traps with InexactBounds (PROT_CHERI_IMPRECISE) when the bounds are inexact', (t) => {
  const at = capSetAddr(root, 0x12345);
  const err = faultOf(t, () => capSetBoundsExact(at, 0x54321), CapEx.InexactBounds);
  t.is(err.code, 'PROT_CHERI_IMPRECISE');
  t.is(err.siCode, 7);
});

test('rounding setbounds covers the request with wider bounds and reports it inexact', (t) => {
  const { cap, exact } = capSetBounds(capSetAddr(root, 0x12345), 0x54321);
  t.false(exact);
  t.true(cap.tag);
  t.is(cap.cursor, 0x12345n);
  t.true(cap.base < 0x12345n);
  t.true(cap.top > 0x12345n + 0x54321n);
});

test('setbounds outside the source bounds traps with LengthViolation', (t) => {
  faultOf(t, () => capSetBounds(page, 0x1001), CapEx.LengthViolation);
  faultOf(t, () => capSetBounds(capSetAddr(page, 0xfff0), 4), CapEx.LengthViolation);
});

test('setbounds on an untagged capability traps with TagViolation', (t) => {
  faultOf(t, () => capSetBounds(capClearTag(page), 0x10), CapEx.TagViolation);
});

/* ---- sealed capabilities ---- */

const SEALER_BASE = 0x1000;
const sealer = capBuild(SEALER_BASE, 0x100, CHERI_PERM_SEAL | CHERI_PERM_UNSEAL | CHERI_PERM_GLOBAL);
const OTYPE = SEALER_BASE + 0x42;
const typed = capSetAddr(sealer, OTYPE);

test('seal then unseal with the same type gives the original capability back', (t) => {
  const sealed = capSeal(page, typed);
  t.true(sealed.tag);
  t.true(sealed.isSealed);
  t.is(sealed.otype, OTYPE);
  t.is(sealed.base, page.base);
  t.is(sealed.top, page.top);
  t.true(capUnseal(sealed, typed).equals(page));
});

test('unsealing with an authority that lacks GLOBAL strips GLOBAL', (t) => {
  const sealed = capSeal(page, typed);
  const local = capAndPerms(typed, CHERI_PERM_UNSEAL);
  const unsealed = capUnseal(sealed, local);
  t.is(unsealed.perms, page.perms & ~CHERI_PERM_GLOBAL);
});

test('operations on a sealed capability trap with SealViolation', (t) => {
  const sealed = capSeal(page, typed);
  faultOf(t, () => capSetAddr(sealed, 0x10010), CapEx.SealViolation);
  faultOf(t, () => capIncOffset(sealed, 1), CapEx.SealViolation);
  faultOf(t, () => capSetBounds(sealed, 0x10), CapEx.SealViolation);
  faultOf(t, () => capSetBoundsExact(sealed, 0x10), CapEx.SealViolation);
  faultOf(t, () => capAndPerms(sealed, CHERI_PERM_LOAD), CapEx.SealViolation);
  faultOf(t, () => capSeal(sealed, typed), CapEx.SealViolation);
  faultOf(t, () => capSealEntry(sealed), CapEx.SealViolation);
  const err = faultOf(t, () => capSetAddr(sealed, 0x10010, 5), CapEx.SealViolation);
  t.is(err.capIdx, 5);
  t.is(err.code, 'PROT_CHERI_SEALED');
});

test('an untagged sealed capability can still be moved: the result stays untagged', (t) => {
  const moved = capSetAddr(capClearTag(capSeal(page, typed)), 0x10010);
  t.false(moved.tag);
  t.is(moved.cursor, 0x10010n);
});

test('sealing checks the sealer: tag, seal, SEAL permission, bounds and otype range', (t) => {
  faultOf(t, () => capSeal(page, capClearTag(typed)), CapEx.TagViolation);
  faultOf(t, () => capSeal(capClearTag(page), typed), CapEx.TagViolation);
  faultOf(t, () => capSeal(page, capAndPerms(typed, CHERI_PERM_UNSEAL)), CapEx.PermitSealViolation);
  faultOf(t, () => capSeal(page, capSetAddr(sealer, SEALER_BASE + 0x100)), CapEx.LengthViolation);
  const wide = capSetAddr(capAndPerms(root, CHERI_PERM_SEAL), CAP_MAX_SEALABLE_OTYPE + 1);
  faultOf(t, () => capSeal(page, wide), CapEx.LengthViolation);
  t.is(capSeal(page, capSetAddr(wide, CAP_MAX_SEALABLE_OTYPE)).otype, CAP_MAX_SEALABLE_OTYPE);
});

test('unsealing checks the type and the UNSEAL permission', (t) => {
  const sealed = capSeal(page, typed);
  faultOf(t, () => capUnseal(page, typed), CapEx.SealViolation);
  faultOf(t, () => capUnseal(sealed, capSetAddr(typed, OTYPE + 1)), CapEx.TypeViolation);
  faultOf(t, () => capUnseal(sealed, capAndPerms(typed, CHERI_PERM_SEAL)), CapEx.PermitUnsealViolation);
  faultOf(t, () => capUnseal(capSealEntry(page), typed), CapEx.TypeViolation);
});

test('sealEntry makes a sentry, and needs EXECUTE', (t) => {
  const code = capAndPerms(page, CHERI_PERM_LOAD | CHERI_PERM_EXECUTE);
  const sentry = capSealEntry(code);
  t.true(sentry.isSentry);
  t.is(sentry.otype, CAP_OTYPE_SENTRY);
  t.true(sentry.tag);
  faultOf(t, () => capSealEntry(capAndPerms(page, CHERI_PERM_LOAD)), CapEx.PermitExecuteViolation);
});

/* ---- permissions, subsets, building ---- */

test('andPerms only removes permissions, including the user ones', (t) => {
  const ro = capAndPerms(page, CHERI_PERM_LOAD | CHERI_PERM_SW_VMEM | (1 << 12));
  t.is(ro.perms, CHERI_PERM_LOAD | CHERI_PERM_SW_VMEM);
  t.is(capAndPerms(ro, CHERI_PERMS_ALL).perms, ro.perms);
  faultOf(t, () => capAndPerms(capClearTag(page), CHERI_PERM_LOAD), CapEx.TagViolation);
});

test('a capability derived by setbounds and andPerms is a subset of its source, not the reverse', (t) => {
  const small = capAndPerms(capSetBoundsExact(capSetAddr(page, 0x10100), 0x100), CHERI_PERM_LOAD);
  t.true(capIsSubset(small, page));
  t.false(capIsSubset(page, small));
  t.false(capIsSubset(capClearTag(small), page));
});

test('capBuild makes an exact tagged capability and refuses inexact bounds', (t) => {
  const c = capBuild(0x4000n, 0x2000, CHERI_PERM_LOAD | CHERI_PERM_STORE);
  t.true(c.tag);
  t.deepEqual(
    [c.base, c.top, c.cursor, c.perms],
    [0x4000n, 0x6000n, 0x4000n, CHERI_PERM_LOAD | CHERI_PERM_STORE],
  );
  faultOf(t, () => capBuild(0x4001, 0x12345), CapEx.InexactBounds);
});

/* ---- values ---- */

test('memory words round-trip through fromMemWords, with the tag kept apart', (t) => {
  for (const c of [
    root,
    page,
    CAP_NULL,
    capSeal(page, typed),
    capSetAddr(page, 0x1000_0000),
    capNullDerived(7),
  ]) {
    const words = c.toMemWords();
    for (const w of words) t.true(w >>> 0 === w);
    t.true(Capability.fromMemWords(...words, c.tag).equals(c));
    t.false(Capability.fromMemWords(...words, !c.tag).equals(c));
  }
  const [w0, w1, w2, w3] = page.toMemWords();
  const mem = (BigInt(w1) << 32n) | BigInt(w0);
  t.is(mem, page.pesbt ^ CC128_MEM_XOR_MASK);
  t.is((BigInt(w3) << 32n) | BigInt(w2), page.cursor);
  t.true(Capability.decompressMem(mem, page.cursor, true).equals(page));
});

test('a capability value rejects words that are not 64 or 32 bits', (t) => {
  t.throws(() => new Capability(TWO_64, 0n, false), { instanceOf: RangeError });
  t.throws(() => new Capability(0n, -1n, false), { instanceOf: RangeError });
  t.throws(() => Capability.fromMemWords(2 ** 32, 0, 0, 0, false), { instanceOf: RangeError });
  t.throws(() => capSetAddr(page, 0.5), { instanceOf: RangeError });
});

test('a capability is immutable and exposes its address as a number only when exact', (t) => {
  t.true(Object.isFrozen(page));
  t.is(page.address, 0x10000);
  t.throws(() => capSetAddr(root, 2n ** 60n).address, { instanceOf: RangeError });
  t.is(page.offset, 0n);
  t.is(capSetAddr(page, 0x10010).offset, 0x10n);
});

/* ---- faults ---- */

test('every CapEx maps to the SIGPROT si_code CheriBSD delivers for it', (t) => {
  const expected: Record<number, keyof typeof PROT_CHERI> = {
    [CapEx.LengthViolation]: 'PROT_CHERI_BOUNDS',
    [CapEx.TagViolation]: 'PROT_CHERI_TAG',
    [CapEx.SealViolation]: 'PROT_CHERI_SEALED',
    [CapEx.TypeViolation]: 'PROT_CHERI_TYPE',
    [CapEx.InexactBounds]: 'PROT_CHERI_IMPRECISE',
    [CapEx.PermitLoadViolation]: 'PROT_CHERI_PERM',
    [CapEx.PermitStoreCapViolation]: 'PROT_CHERI_PERM',
    [CapEx.PermitSealViolation]: 'PROT_CHERI_PERM',
    [CapEx.PermitUnsealViolation]: 'PROT_CHERI_PERM',
    [CapEx.PermitStoreLocalCapViolation]: 'PROT_CHERI_STORELOCAL',
    [CapEx.GlobalViolation]: 'PROT_CHERI_STORELOCAL',
    [CapEx.AccessSystemRegsViolation]: 'PROT_CHERI_SYSREG',
  };
  for (const [ex, code] of Object.entries(expected)) t.is(capExToSiCode(Number(ex) as CapEx), code);
  for (const ex of Object.values(CapEx)) t.true(capExToSiCode(ex) in PROT_CHERI);
  t.deepEqual(
    [PROT_CHERI.PROT_CHERI_BOUNDS, PROT_CHERI.PROT_CHERI_TAG, PROT_CHERI.PROT_CHERI_IMPRECISE],
    [1, 2, 7],
  );
});

test('a capability fault names its cause, register and address', (t) => {
  const err = new CapabilityFault(CapEx.TagViolation, 3, 0x1234);
  t.is(err.message, 'TagViolation via c3 at 0x1234');
  t.is(err.name, 'CapabilityFault');
  t.is(err.code, 'PROT_CHERI_TAG');
  t.true(err instanceof Error);
});

/* ---- the fast decoder ---- */

test('the fast decoder agrees with the BigInt decoder on every decode vector', (t) => {
  const rows = readVectorRows(vectorFile('decode.jsonl.gz'));
  t.is(rows.length, 6000);
  let below53 = 0;
  for (const { value } of rows) {
    const row = value as { in_pesbt: string; in_cursor: string };
    const cap = new Capability(BigInt(row.in_pesbt), BigInt(row.in_cursor), false);
    const fast = fastDecode(cap.pesbt, cap.cursor);
    const want = expectedFast(cap);
    if (cap.top < 2n ** 53n) {
      below53++;
      /* exact, not just within rounding */
      t.is(BigInt(fast.base), cap.base);
      t.is(BigInt(fast.top), cap.top);
    }
    if (
      fast.base !== want.base ||
      fast.top !== want.top ||
      fast.perms !== want.perms ||
      fast.otype !== want.otype ||
      fast.exp !== want.exp
    )
      t.fail(
        `${row.in_pesbt} @ ${row.in_cursor}: fast ${JSON.stringify(fast)}, want ${JSON.stringify(want)}`,
      );
  }
  t.log(`${below53} rows with top < 2^53 compared exactly`);
  t.pass();
});

test('the fast decoder agrees with the BigInt decoder on the setbounds and representable vectors', (t) => {
  let n = 0;
  for (const file of ['setbounds.jsonl.gz', 'representable.jsonl.gz']) {
    for (const { value } of readVectorRows(vectorFile(file))) {
      const row = value as Record<string, { pesbt: string; addr: string }>;
      for (const c of [row.in, row.out, row.cap]) {
        if (c === undefined) continue;
        const cap = new Capability(BigInt(c.pesbt), BigInt(c.addr), false);
        t.deepEqual(fastDecode(cap.pesbt, cap.cursor), expectedFast(cap));
        t.deepEqual(fastDecodeMem(cap), expectedFast(cap));
        n++;
      }
    }
  }
  t.is(n, 2 * 12000 + 18000);
});

test('the fast decoder agrees with the BigInt decoder on random inputs', (t) => {
  const u64 = fc.bigInt({ min: 0n, max: TWO_64 - 1n });
  /* Bias towards small exponents and addresses, where user capabilities live. */
  const smallCursor = fc.bigInt({ min: 0n, max: (1n << 48n) - 1n });
  /* Just above 2^53, where the doubles stop being exact and rounding must be directed. */
  const roundingCursor = fc.bigInt({ min: 1n << 52n, max: 1n << 58n });
  const smallExpPesbt = fc
    .tuple(u64, fc.integer({ min: 0, max: 40 }))
    .map(([p, e]) => (p & ~0x1c007n) | BigInt(((e >> 3) << 14) | (e & 7)));
  fc.assert(
    fc.property(fc.oneof(u64, smallExpPesbt), fc.oneof(u64, smallCursor, roundingCursor), (pesbt, cursor) => {
      const cap = new Capability(pesbt, cursor, false);
      const want = expectedFast(cap);
      assert.deepEqual(fastDecode(pesbt, cursor), want);
      assert.deepEqual(fastDecodeMem(cap), want);
    }),
    { numRuns: 20000 },
  );
  t.pass();
});

test('the fast decoder is exact for the almighty capability and the page capability', (t) => {
  t.deepEqual(fastDecode(root.pesbt, root.cursor), {
    base: 0,
    top: 2 ** 64,
    perms: 0x78fff,
    otype: CAP_OTYPE_UNSEALED,
    exp: 52,
  });
  const f = fastDecode(page.pesbt, page.cursor);
  t.deepEqual([f.base, f.top], [0x10000, 0x11000]);
});

/* ---- printing ---- */

test('%#p prints capabilities as CheriBSD does', (t) => {
  t.is(formatCapability(root), '0x0 [rwxRW,0x0-0xffffffffffffffff]');
  t.is(formatCapability(page), '0x10000 [rwxRW,0x10000-0x11000]');
  t.is(
    formatCapability(capAndPerms(capSetAddr(page, 0x10010), CHERI_PERM_LOAD)),
    '0x10010 [r,0x10000-0x11000]',
  );
  t.is(formatCapability(capClearTag(page)), '0x10000 [rwxRW,0x10000-0x11000] (invalid)');
  t.is(formatCapability(capSeal(page, typed)), '0x10000 [rwxRW,0x10000-0x11000] (sealed)');
  const sentry = capSealEntry(capAndPerms(page, CHERI_PERM_LOAD | CHERI_PERM_EXECUTE));
  t.is(formatCapability(sentry), '0x10000 [rx,0x10000-0x11000] (sentry)');
  t.is(formatCapability(capClearTag(sentry)), '0x10000 [rx,0x10000-0x11000] (invalid,sentry)');
  t.is(formatCapability(capAndPerms(page, 0)), '0x10000 [,0x10000-0x11000]');
});

test('%#p prints a NULL-derived capability as its address alone', (t) => {
  t.is(formatCapability(CAP_NULL), '0x0');
  t.is(formatCapability(capNullDerived(0x1234)), '0x1234');
});

test('the JSON form of a decoded vector row is that row', (t) => {
  const row = readVectorRows(vectorFile('decode.jsonl.gz'))[0].value as Record<string, unknown>;
  const cap = new Capability(BigInt(row.in_pesbt as string), BigInt(row.in_cursor as string), false);
  const { in_pesbt: _p, in_cursor: _c, ...fields } = row;
  t.deepEqual({ ...capToJson(cap) }, fields);
});
