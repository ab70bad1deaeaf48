import { PAGE_SIZE, PTE_R, PTE_V, PTE_W, pteMake, ptePfn, VA_LIMIT } from '@cherisim/machine';
import test from 'ava';
import { TestMachine } from '../_support/machine.js';

test('enter, lookup and remove a PTE anywhere in the 48-bit address space', (t) => {
  const m = new TestMachine();
  for (const va of [0, 0x1000, 0x7fff_ffff_f000, 0x4000_0000_0000, 0x1234_5678_9000]) {
    m.pt.enter(va, pteMake(42, PTE_V | PTE_R), m.allocFrame);
    t.is(ptePfn(m.pt.lookup(va)), 42);
    t.is(m.pt.lookup(va + PAGE_SIZE), 0);
    m.pt.remove(va);
    t.is(m.pt.lookup(va), 0);
  }
});

test('forEach visits present PTEs in the range in address order', (t) => {
  const m = new TestMachine();
  const vas = [0x10_0000_0000, 0x1000, 0x3000, 0x40_0000, 0x10_0000_2000];
  for (const va of vas) m.pt.enter(va, pteMake(7, PTE_V | PTE_W), m.allocFrame);
  const seen: number[] = [];
  m.pt.forEach(0x2000, 0x10_0000_2000, (va) => seen.push(va));
  t.deepEqual(seen, [0x3000, 0x40_0000, 0x10_0000_0000]);
});

test('destroy frees every directory frame it allocated', (t) => {
  const m = new TestMachine();
  const allocated: number[] = [];
  const alloc = () => {
    const pfn = m.allocFrame();
    allocated.push(pfn);
    return pfn;
  };
  m.pt.enter(0x1000, pteMake(3, PTE_V), alloc);
  m.pt.enter(0x7000_0000_0000, pteMake(3, PTE_V), alloc);
  t.is(allocated.length, 6);
  const freed: number[] = [];
  m.pt.destroy((pfn) => freed.push(pfn));
  t.deepEqual(freed.sort(), allocated.sort());
  t.is(m.pt.lookup(0x1000), 0);
});

test('addresses outside the user address space are refused', (t) => {
  const m = new TestMachine();
  t.throws(() => m.pt.lookup(VA_LIMIT), { instanceOf: RangeError });
  t.throws(() => m.pt.enter(-PAGE_SIZE, 0, m.allocFrame), { instanceOf: RangeError });
  t.throws(() => m.pt.lookup(0.5), { instanceOf: RangeError });
});
