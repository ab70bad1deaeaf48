import { MAP_ANON, PROT_READ, PROT_WRITE } from '@cherisim/kernel';
import test from 'ava';
import { bootKernel, PAGE, sameBytes, tagged } from '../_support/kernel_boot.js';

test('R1: an anonymous private mapping stores and reloads a tagged capability (M1)', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_ANON);
  const c = tagged();
  p.storeCap(va, c);
  const r = p.loadCap(va);
  t.true(r.tag);
  t.true(sameBytes(r.bytes, c.bytes));
  p.store(va + 32, 8, 12345);
  t.is(p.load(va + 32, 8), 12345);
  b.check();
});
