/* Bad input: every system call answers garbage arguments with an errno, never a host exception. */
import {
  CAP_GRANULE,
  kernelAssertConsistent,
  PAGE_SIZE,
  PTE_CD,
  PTE_CLG,
  PTE_CR,
  PTE_CW,
  PTE_R,
  PTE_V,
  PTE_W,
  PTE_X,
  SYSENT,
  syscall,
} from '@cherisim/kernel';
import * as machine from '@cherisim/machine';
import test from 'ava';
import { bootKernel } from '../_support/kernel_boot.js';

const GARBAGE: unknown[] = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  -1,
  -4096,
  0.5,
  2 ** 53,
  2 ** 63,
  '',
  'x',
  null,
  undefined,
  {},
  [],
  () => 0,
  Symbol('s'),
  10n,
];

test('every system call answers every garbage argument with an errno and the invariants hold', (t) => {
  const b = bootKernel({}, 4);
  const p = b.spawn();
  let calls = 0;
  for (const name of Object.keys(SYSENT)) {
    if (name === 'exit' || name === 'fork') continue;
    for (let pos = 0; pos < 6; pos++) {
      for (const g of GARBAGE) {
        const args: unknown[] = [0x20000000, 4096, 3, 0x1000, -1, 0];
        args[pos] = g;
        const e = syscall(b.k, p.pid, name, args);
        t.true(Number.isInteger(e), `${name} arg ${pos} = ${String(g)}`);
        calls++;
      }
      kernelAssertConsistent(b.k);
    }
    const none = syscall(b.k, p.pid, name, []);
    t.true(Number.isInteger(none));
  }
  t.is(syscall(b.k, p.pid, 'no_such_call', []), 78, 'ENOSYS');
  t.is(syscall(b.k, p.pid, 'toString', []), 78, 'ENOSYS for prototype names');
  t.is(syscall(b.k, 424242, 'getpid', []), 3, 'ESRCH');
  t.true(calls > 1000);
});

test('exit and kill refuse to end init (EPERM)', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  t.is(syscall(b.k, 1, 'exit', [0]), 1);
  t.is(syscall(b.k, p.pid, 'kill', [1, 9]), 1);
  t.is(b.k.init.state, 'run');
});

test('the kernel PTE bits and page constants agree with @cherisim/machine', (t) => {
  t.is(PTE_V, machine.PTE_V);
  t.is(PTE_R, machine.PTE_R);
  t.is(PTE_W, machine.PTE_W);
  t.is(PTE_X, machine.PTE_X);
  t.is(PTE_CR, machine.PTE_CR);
  t.is(PTE_CW, machine.PTE_CW);
  t.is(PTE_CD, machine.PTE_CD);
  t.is(PTE_CLG, machine.PTE_CLG);
  t.is(PAGE_SIZE, machine.PAGE_SIZE);
  t.is(CAP_GRANULE, machine.CAP_GRANULE);
});
