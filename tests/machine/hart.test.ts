import {
  AlignmentFault,
  CapabilityFault,
  CapEx,
  CHERI_PERM_EXECUTE,
  CHERI_PERM_GLOBAL,
  CHERI_PERM_LOAD,
  CHERI_PERM_LOAD_CAP,
  CHERI_PERM_STORE,
  CHERI_PERM_STORE_CAP,
  CHERI_PERM_STORE_LOCAL_CAP,
  CHERI_PERMS_ALL,
  capAndPerms,
  capClearTag,
  capSealEntry,
  PAGE_SIZE,
  PageFault,
  PTE_CD,
  PTE_CLG,
  PTE_CR,
  PTE_CW,
  PTE_R,
  PTE_V,
  PTE_W,
} from '@cherisim/machine';
import test from 'ava';
import { boundedCap, PTE_RW_CAP, TestMachine } from '../_support/machine.js';

const BASE = 0x10_0000;

function setup(flags = PTE_RW_CAP, pages = 2) {
  const m = new TestMachine();
  m.map(BASE, pages, flags);
  const h = m.hart();
  h.regs.set(0, boundedCap(BASE, pages * PAGE_SIZE));
  return { m, h };
}

test('data loads and stores of 1, 2, 4 and 8 bytes round-trip through a capability', (t) => {
  const { h } = setup();
  h.store(0, 0, 1, 0xab);
  h.store(0, 2, 2, 0xbeef);
  h.store(0, 4, 4, 0xdeadbeef);
  h.store(0, 8, 8, 2 ** 52 + 12345);
  t.is(h.load(0, 0, 1), 0xab);
  t.is(h.load(0, 2, 2), 0xbeef);
  t.is(h.load(0, 4, 4), 0xdeadbeef);
  t.is(h.load(0, 8, 8), 2 ** 52 + 12345);
  t.is(h.load(0, 0, 4), 0xbeef00ab, 'little-endian: the byte at offset 0 is the low byte');
});

test('a misaligned data access works, even across a page boundary', (t) => {
  const { h } = setup();
  h.store(0, PAGE_SIZE - 3, 8, 0x0001020304050607);
  t.is(h.load(0, PAGE_SIZE - 3, 8), 0x0001020304050607);
  t.is(h.load(0, PAGE_SIZE - 3, 1), 0x07);
  t.is(h.load(0, PAGE_SIZE, 1), 0x04);
});

test('accesses beyond the bounds fault with a length violation at the faulting address', (t) => {
  const { h } = setup();
  h.regs.set(1, boundedCap(BASE + 0x100, 0x20));
  t.is(h.load(1, 0x18, 8), 0);
  const e = t.throws(() => h.load(1, 0x19, 8), { instanceOf: CapabilityFault });
  t.is(e?.exccode, CapEx.LengthViolation);
  t.is(e?.code, 'PROT_CHERI_BOUNDS');
  t.is(e?.vaddr, BASE + 0x119);
  t.is(e?.capIdx, 1);
  t.throws(() => h.store(1, -1, 1, 0), { instanceOf: CapabilityFault });
  t.throws(() => h.storeCap(1, 1, 0x20), { instanceOf: CapabilityFault });
});

test('checks run in CHERI order: tag before seal before permission before bounds', (t) => {
  const { h } = setup();
  const c = boundedCap(BASE, 16, CHERI_PERM_GLOBAL | CHERI_PERM_EXECUTE);
  h.regs.set(1, capClearTag(capSealEntry(c)));
  t.is(t.throws(() => h.load(1, 100, 8), { instanceOf: CapabilityFault })?.exccode, CapEx.TagViolation);
  h.regs.set(1, capSealEntry(c));
  t.is(t.throws(() => h.load(1, 100, 8), { instanceOf: CapabilityFault })?.exccode, CapEx.SealViolation);
  h.regs.set(1, c);
  t.is(
    t.throws(() => h.load(1, 100, 8), { instanceOf: CapabilityFault })?.exccode,
    CapEx.PermitLoadViolation,
  );
  t.is(
    t.throws(() => h.store(1, 100, 8, 1), { instanceOf: CapabilityFault })?.exccode,
    CapEx.PermitStoreViolation,
  );
  h.regs.set(1, boundedCap(BASE, 16));
  t.is(t.throws(() => h.load(1, 100, 8), { instanceOf: CapabilityFault })?.exccode, CapEx.LengthViolation);
});

test('a capability store and load round-trip the capability with its tag', (t) => {
  const { h } = setup();
  const c = boundedCap(BASE + 0x40, 0x40);
  h.regs.set(1, c);
  h.storeCap(1, 0, 0x20);
  h.loadCap(2, 0, 0x20);
  t.true(h.regs.get(2).equals(c));
  t.true(h.regs.get(2).tag);
  t.true(h.phys.isTagged((h.pageTable.lookup(BASE) >>> 8) * PAGE_SIZE + 0x20));
});

for (const [off, width] of [
  [0, 1],
  [15, 1],
  [6, 2],
  [12, 4],
  [8, 8],
] as const) {
  test(`a ${width}-byte data store at granule offset ${off} clears a stored capability's tag`, (t) => {
    const { h } = setup();
    h.regs.set(1, boundedCap(BASE, 64));
    h.storeCap(1, 0, 0x30);
    h.store(0, 0x30 + off, width, 0);
    h.loadCap(2, 0, 0x30);
    t.false(h.regs.get(2).tag);
  });
}

test('storing an untagged capability is a data store', (t) => {
  const { h } = setup();
  h.regs.set(1, boundedCap(BASE, 64));
  h.storeCap(1, 0, 0);
  h.regs.set(3, capClearTag(boundedCap(BASE, 32)));
  h.storeCap(3, 0, 0);
  h.loadCap(2, 0, 0);
  t.false(h.regs.get(2).tag);
  t.is(h.regs.get(2).cursor, h.regs.get(3).cursor);
});

test('a capability load through an authority without LOAD_CAP strips the tag', (t) => {
  const { h } = setup();
  h.regs.set(1, boundedCap(BASE, 64));
  h.storeCap(1, 0, 0x10);
  h.regs.set(4, capAndPerms(h.regs.get(0), CHERI_PERMS_ALL & ~CHERI_PERM_LOAD_CAP));
  h.loadCap(2, 4, 0x10);
  t.false(h.regs.get(2).tag);
  t.is(h.regs.get(2).pesbt, h.regs.get(1).pesbt, 'the bytes still arrive');
});

test('R6: a capability load through a page without PTE_CR strips the tag and does not fault', (t) => {
  const { m, h } = setup();
  h.regs.set(1, boundedCap(BASE, 64));
  h.storeCap(1, 0, 0x10);
  m.protect(BASE, PTE_V | PTE_R | PTE_W);
  h.loadCap(2, 0, 0x10);
  t.false(h.regs.get(2).tag);
  t.is(h.regs.get(2).cursor, h.regs.get(1).cursor);
});

test('R5: a tagged store to a page without PTE_CW page-faults and writes nothing; data stores succeed', (t) => {
  const { m, h } = setup(PTE_V | PTE_R | PTE_W | PTE_CR);
  h.regs.set(1, boundedCap(BASE, 64));
  const e = t.throws(() => h.storeCap(1, 0, 0x40), { instanceOf: PageFault });
  t.is(e?.cause, 'cap-store');
  t.is(e?.vaddr, BASE + 0x40);
  t.is(h.load(0, 0x40, 8), 0);
  h.store(0, 0x40, 8, 7);
  h.regs.set(3, capClearTag(h.regs.get(1)));
  h.storeCap(3, 0, 0x50);
  t.false(m.phys.isTagged((m.pt.lookup(BASE) >>> 8) * PAGE_SIZE + 0x50));
});

test('R8: a tagged store sets the cap-dirty bit of the PTE; data stores do not', (t) => {
  const { m, h } = setup();
  h.store(0, 0, 8, 1);
  t.is(m.pt.lookup(BASE) & PTE_CD, 0);
  h.regs.set(1, boundedCap(BASE, 64));
  h.storeCap(1, 0, PAGE_SIZE);
  t.is(m.pt.lookup(BASE) & PTE_CD, 0);
  t.is(m.pt.lookup(BASE + PAGE_SIZE) & PTE_CD, PTE_CD);
});

test('page faults name the address and cause: not present, and write to a read-only page', (t) => {
  const { m, h } = setup(PTE_V | PTE_R, 1);
  h.regs.set(0, boundedCap(BASE, 4 * PAGE_SIZE));
  const w = t.throws(() => h.store(0, 8, 4, 1), { instanceOf: PageFault });
  t.is(w?.cause, 'protection');
  t.is(w?.access, 'write');
  const n = t.throws(() => h.load(0, PAGE_SIZE + 8, 4), { instanceOf: PageFault });
  t.is(n?.cause, 'not-present');
  t.is(n?.vaddr, BASE + PAGE_SIZE + 8);
  m.map(BASE + PAGE_SIZE, 1);
  t.is(h.load(0, PAGE_SIZE + 8, 4), 0, 'after the kernel maps the page the access succeeds');
});

test('a TLB shootdown makes a downgraded PTE take effect at the next access', (t) => {
  const { m, h } = setup();
  h.store(0, 0, 4, 1);
  m.protect(BASE, PTE_V | PTE_R);
  t.throws(() => h.store(0, 0, 4, 2), { instanceOf: PageFault });
  t.is(h.load(0, 0, 4), 1);
});

test('capability accesses must be 16-byte aligned', (t) => {
  const { h } = setup();
  h.regs.set(1, boundedCap(BASE, 64));
  t.throws(() => h.storeCap(1, 0, 8), { instanceOf: AlignmentFault });
  t.throws(() => h.loadCap(2, 0, 4), { instanceOf: AlignmentFault });
});

test('storing a local (non-GLOBAL) capability needs STORE_LOCAL_CAP', (t) => {
  const { h } = setup();
  h.regs.set(1, capAndPerms(boundedCap(BASE, 64), CHERI_PERMS_ALL & ~CHERI_PERM_GLOBAL));
  h.regs.set(4, capAndPerms(h.regs.get(0), CHERI_PERMS_ALL & ~CHERI_PERM_STORE_LOCAL_CAP));
  const e = t.throws(() => h.storeCap(1, 4, 0), { instanceOf: CapabilityFault });
  t.is(e?.exccode, CapEx.PermitStoreLocalCapViolation);
  h.storeCap(1, 0, 0);
  h.regs.set(5, boundedCap(BASE, 64));
  h.storeCap(5, 4, 16);
  t.pass();
});

test('storing a tagged capability needs STORE_CAP; storing data does not', (t) => {
  const { h } = setup();
  h.regs.set(1, boundedCap(BASE, 64));
  h.regs.set(4, capAndPerms(h.regs.get(0), CHERI_PERM_LOAD | CHERI_PERM_STORE | CHERI_PERM_GLOBAL));
  t.is(
    t.throws(() => h.storeCap(1, 4, 0), { instanceOf: CapabilityFault })?.exccode,
    CapEx.PermitStoreCapViolation,
  );
  h.store(4, 0, 8, 3);
  t.is(h.load(4, 0, 8), 3);
  t.truthy(CHERI_PERM_STORE_CAP);
  t.truthy(CHERI_PERM_STORE);
});

test('R47: a tagged load through a page of a stale load generation traps; untagged loads do not', (t) => {
  const { m, h } = setup();
  h.regs.set(1, boundedCap(BASE, 64));
  h.storeCap(1, 0, 0x10);
  h.store(0, 0x20, 8, 5);
  m.mmu.loadGen = 1;
  const e = t.throws(() => h.loadCap(2, 0, 0x10), { instanceOf: PageFault });
  t.is(e?.cause, 'cap-load-gen');
  h.loadCap(2, 0, 0x20);
  t.false(h.regs.get(2).tag);
  m.protect(BASE, PTE_RW_CAP | PTE_CLG);
  h.loadCap(2, 0, 0x10);
  t.true(h.regs.get(2).tag);
  t.truthy(PTE_CR | PTE_CW);
});

test('register numbers outside the file are refused', (t) => {
  const { h } = setup();
  t.throws(() => h.load(99, 0, 1), { instanceOf: RangeError });
  t.throws(() => h.loadCap(-1, 0, 0), { instanceOf: RangeError });
});
