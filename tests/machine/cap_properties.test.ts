/*
 * Laws of CHERI capabilities, checked on random capabilities with fast-check:
 * monotonicity of every derivation, the setbounds and CRRL/CRAM laws, representability.
 */

import assert from 'node:assert/strict';
import {
  type Capability,
  CapabilityFault,
  CHERI_PERMS_ALL,
  capAlmighty,
  capAndPerms,
  capIncOffset,
  capSeal,
  capSealEntry,
  capSetAddr,
  capSetBounds,
  capSetBoundsExact,
  capUnseal,
  cc128ComputeEbt,
  cc128GetAlignmentMask,
  cc128GetRepresentableLength,
  cc128IsRepresentableWithAddr,
} from '@cherisim/machine';
import test from 'ava';
import fc from 'fast-check';

const TWO_64 = 1n << 64n;
const MAX64 = TWO_64 - 1n;
const RUNS = { numRuns: 4000 };

/* u64s biased towards the sizes that matter: small, user-VA sized, anything. */
const u64 = fc.oneof(
  fc.bigInt({ min: 0n, max: 1n << 16n }),
  fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
  fc.bigInt({ min: 0n, max: MAX64 }),
);

/* A fraction in [0, 1] as a rational, to pick lengths and offsets inside a range. */
const fraction = fc.oneof(
  fc.constant([0n, 1n] as const),
  fc.constant([1n, 1n] as const),
  fc.bigInt({ min: 0n, max: 1n << 32n }).map((n) => [n, 1n << 32n] as const),
);

function pick(span: bigint, [num, den]: readonly [bigint, bigint]): bigint {
  return (span * num) / den;
}

/* A tagged, unsealed capability with random bounds, address in bounds, random permissions. */
const perms = fc.oneof(fc.constant(CHERI_PERMS_ALL), fc.integer({ min: 0, max: CHERI_PERMS_ALL }));
const taggedCap = fc.tuple(u64, u64, fraction, perms).map(([base, rawLen, where, keep]) => {
  const len = rawLen > TWO_64 - base ? TWO_64 - base : rawLen;
  const bounded = capSetBounds(capSetAddr(capAlmighty(), base), len).cap;
  const span = bounded.top - bounded.base;
  const cursor = span === 0n ? bounded.base : bounded.base + pick(span - 1n, where);
  return capAndPerms(capSetAddr(bounded, cursor), keep);
});

/* A length request relative to the room left above the cursor, sometimes beyond it. */
const lengthFor = (cap: Capability, [num, den]: readonly [bigint, bigint], overshoot: boolean) =>
  pick(cap.top - cap.cursor, [num, den]) + (overshoot ? 1n : 0n);

function noWider(derived: Capability, source: Capability): void {
  if (!derived.tag) return;
  assert.ok(
    derived.base >= source.base,
    `base 0x${derived.base.toString(16)} below 0x${source.base.toString(16)}`,
  );
  assert.ok(
    derived.top <= source.top,
    `top 0x${derived.top.toString(16)} above 0x${source.top.toString(16)}`,
  );
  assert.equal(derived.perms & ~source.perms, 0, 'gained permissions');
}

/* Run a derivation; a CapabilityFault (the ISA trapping) yields no capability at all. */
function derive(run: () => Capability): Capability | undefined {
  try {
    return run();
  } catch (err) {
    if (err instanceof CapabilityFault) return undefined;
    throw err;
  }
}

const DERIVATIONS = ['setBounds', 'setBoundsExact', 'andPerms', 'setAddr', 'incOffset', 'sealEntry'];

test('no derivation yields a tagged capability wider or more permissive than its source', (t) => {
  /* How often each derivation produced a tagged result: a property that never runs proves nothing. */
  const tagged: Record<string, number> = { seal: 0, unseal: 0 };
  for (const name of DERIVATIONS) tagged[name] = 0;
  fc.assert(
    fc.property(
      taggedCap,
      fraction,
      fc.boolean(),
      u64,
      fc.integer(),
      taggedCap,
      (cap, f, over, addr, mask, other) => {
        const len = lengthFor(cap, f, over);
        const results: (Capability | undefined)[] = [
          derive(() => capSetBounds(cap, len).cap),
          derive(() => capSetBoundsExact(cap, len)),
          derive(() => capAndPerms(cap, mask)),
          derive(() => capSetAddr(cap, addr)),
          derive(() => capIncOffset(cap, addr - cap.cursor)),
          derive(() => capSealEntry(cap)),
        ];
        results.forEach((r, i) => {
          if (!r) return;
          noWider(r, cap);
          if (r.tag) tagged[DERIVATIONS[i]]++;
        });
        /* Sealing with another capability as the sealer, then unsealing. */
        const sealer = derive(() => capSetAddr(other, (other.base + (other.cursor & 0xffffn)) & MAX64));
        const sealed = sealer && derive(() => capSeal(cap, sealer));
        if (sealed) {
          noWider(sealed, cap);
          tagged.seal++;
          const unsealed = derive(() => capUnseal(sealed, sealer));
          if (unsealed) {
            noWider(unsealed, cap);
            tagged.unseal++;
          }
        }
      },
    ),
    RUNS,
  );
  t.log(tagged);
  for (const [name, n] of Object.entries(tagged)) t.true(n > 0, `${name} never produced a tagged capability`);
});

test('a tagged setbounds result covers the request, is exact iff it equals it, and is representable', (t) => {
  fc.assert(
    fc.property(taggedCap, fraction, (cap, f) => {
      const len = lengthFor(cap, f, false);
      const { cap: r, exact } = capSetBounds(cap, len);
      assert.ok(r.tag);
      assert.equal(r.cursor, cap.cursor);
      assert.ok(r.base <= cap.cursor && r.top >= cap.cursor + len);
      assert.equal(exact, r.base === cap.cursor && r.top === cap.cursor + len);
      /* Its own bounds re-encode exactly, to the same bounds bits. */
      const ebt = cc128ComputeEbt(r.base, r.top);
      assert.ok(ebt.exact);
      assert.equal(ebt.ebt, r.pesbt & 0x7ffffffn);
      /* The exact form succeeds exactly when rounding was not needed. */
      const viaExact = derive(() => capSetBoundsExact(cap, len));
      assert.equal(viaExact !== undefined, exact);
      if (viaExact) assert.ok(viaExact.equals(r));
    }),
    RUNS,
  );
  t.pass();
});

test('a base aligned with CRAM(len) and a length of CRRL(len) give exact bounds', (t) => {
  fc.assert(
    fc.property(u64, u64, (len, rawBase) => {
      const mask = cc128GetAlignmentMask(len);
      const crrl = cc128GetRepresentableLength(len);
      assert.equal(crrl & ~mask, 0n);
      const base = rawBase & mask;
      if (crrl === 0n && len !== 0n) return; // CRRL wrapped: the length rounds up to 2^64
      assert.ok(crrl >= len);
      if (base + crrl > TWO_64) return;
      assert.ok(cc128ComputeEbt(base, base + crrl).exact);
      assert.ok(capSetBounds(capSetAddr(capAlmighty(), base), crrl).exact);
    }),
    RUNS,
  );
  t.pass();
});

test('every address inside the bounds is representable, and setAddr there keeps tag and bounds', (t) => {
  fc.assert(
    fc.property(taggedCap, fraction, (cap, f) => {
      const span = cap.top - cap.base;
      if (span === 0n) return;
      const addr = cap.base + pick(span - 1n, f);
      assert.ok(cc128IsRepresentableWithAddr(cap.pesbt, cap.cursor, addr));
      const moved = capSetAddr(cap, addr);
      assert.ok(moved.tag);
      assert.equal(moved.base, cap.base);
      assert.equal(moved.top, cap.top);
    }),
    RUNS,
  );
  t.pass();
});

test('setAddr keeps base and top exactly when the new address is representable, else drops the tag', (t) => {
  fc.assert(
    fc.property(taggedCap, u64, (cap, addr) => {
      const representable = cc128IsRepresentableWithAddr(cap.pesbt, cap.cursor, addr);
      const moved = capSetAddr(cap, addr);
      assert.equal(moved.tag, representable);
      assert.equal(moved.cursor, addr);
      if (representable) {
        assert.equal(moved.base, cap.base);
        assert.equal(moved.top, cap.top);
      }
    }),
    RUNS,
  );
  t.pass();
});
