/*
 * M12 (catalogue #19 vm_shm_largepage_basic): a shm_create_largepage object mapped
 * MAP_SHARED keeps tags at the start, the middle and the last 4 KiB of its large page under
 * cheribsd-dev; under cheribsd-strict and pr2225 it behaves as M7 (PROT_CAP needed, R21).
 */
import {
  MAP_SHARED,
  O_CREAT,
  O_RDWR,
  PROT_CAP,
  PROT_READ,
  PROT_WRITE,
  ProcessTerminated,
  type Regime,
  SEGV_STORETAG,
  SHM_ANON,
  SHM_LARGEPAGE_SIZES,
  SIGSEGV,
  SysError,
  WTERMSIG,
} from '@cherisim/kernel';
import test from 'ava';
import { bootKernel, tagged } from '../_support/kernel_boot.js';

const LP = SHM_LARGEPAGE_SIZES[1]; /* 2 MiB */
const OFFSETS = [0, LP / 2, LP - 4096];

const cases: [Regime, boolean, 'T' | 'F'][] = [
  ['cheribsd-dev', false, 'T'],
  ['cheribsd-dev', true, 'T'],
  ['cheribsd-strict', false, 'F'],
  ['cheribsd-strict', true, 'T'],
  ['pr2225', false, 'F'],
  ['pr2225', true, 'T'],
];

for (const [regime, cap, want] of cases) {
  test(`M12 R21 under ${regime}${cap ? ' with PROT_CAP' : ''}: a large-page shm mapping ${want === 'T' ? 'keeps tags at start, middle and end' : 'faults on a capability store'}`, (t) => {
    const b = bootKernel({ regime }, 16);
    const p = b.spawn('lp');
    const fd = p.shm_create_largepage(SHM_ANON, O_RDWR | O_CREAT, 1);
    p.ftruncate(fd, LP);
    const base = p.mmap(0, LP, PROT_READ | PROT_WRITE | (cap ? PROT_CAP : 0), MAP_SHARED, fd, 0);
    const c = tagged();
    if (want === 'F') {
      t.throws(() => p.storeCap(base, c), { instanceOf: ProcessTerminated });
      const w = b.handle(1).waitpid(p.pid)!;
      t.is(WTERMSIG(w.status), SIGSEGV);
      t.is(w.siginfo!.si_code, SEGV_STORETAG);
      t.is(w.siginfo!.si_addr, base);
      return;
    }
    for (const off of OFFSETS) p.storeCap(base + off, c);
    for (const off of OFFSETS) t.true(p.loadCap(base + off).tag, `tag at +0x${off.toString(16)}`);
    b.check();
  });
}

test('M12: a large-page object is sized and mapped only in whole large pages; psind 0 is refused', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' }, 16);
  const p = b.spawn('lp');
  t.throws(() => p.shm_create_largepage(SHM_ANON, O_RDWR | O_CREAT, 0), {
    instanceOf: SysError,
    code: 'EINVAL',
  });
  const fd = p.shm_create_largepage(SHM_ANON, O_RDWR | O_CREAT, 1);
  t.throws(() => p.ftruncate(fd, LP + 4096), { instanceOf: SysError, code: 'EINVAL' });
  p.ftruncate(fd, 2 * LP);
  t.throws(() => p.mmap(0, 4096, PROT_READ, MAP_SHARED, fd, 0), { instanceOf: SysError, code: 'EINVAL' });
  t.throws(() => p.mmap(0, LP, PROT_READ, MAP_SHARED, fd, 4096), { instanceOf: SysError, code: 'EINVAL' });
  t.true(p.mmap(0, LP, PROT_READ, MAP_SHARED, fd, LP) > 0);
});
