/* VM rules end to end: R3–R8, R12, R30–R33 (cheribsd-semantics.md §1, §4). */
import {
  INHERIT_NONE,
  INHERIT_SHARE,
  INHERIT_ZERO,
  MAP_ANON,
  MAP_EXCL,
  MAP_FIXED,
  MAP_PRIVATE,
  MAP_SHARED,
  MINCORE_CAPSTORE,
  MINCORE_INCORE,
  MINCORE_MODIFIED,
  MS_INVALIDATE,
  MS_PAGEOUT,
  O_CREAT,
  O_RDWR,
  PROT_CAP,
  PROT_MAX,
  PROT_NO_CAP,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
  ProcessTerminated,
  PTE_CD,
  PTE_CR,
  PTE_CW,
  pmapExtract,
  procstatVm,
  SEGV_ACCERR,
  SEGV_MAPERR,
  SEGV_STORETAG,
  SHM_ANON,
  SIGSEGV,
  SysError,
  TRAPNO_STORE_CAP_PF,
  WTERMSIG,
} from '@cherisim/kernel';
import test from 'ava';
import { bootKernel, PAGE, sameBytes, tagged, untagged } from '../_support/kernel_boot.js';

const RW = PROT_READ | PROT_WRITE;
const errno = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
};

/* Store a tagged cap at va and expect the process to die with SEGV_STORETAG at va. */
function expectStoreTagFault(
  t: import('ava').ExecutionContext,
  b: ReturnType<typeof bootKernel>,
  pid: number,
  va: number,
) {
  const p = b.handle(pid);
  t.throws(() => p.storeCap(va, tagged()), { instanceOf: ProcessTerminated });
  const w = b.handle(1).waitpid(pid)!;
  t.is(WTERMSIG(w.status), SIGSEGV);
  t.is(w.siginfo?.si_code, SEGV_STORETAG);
  t.is(w.siginfo?.si_addr, va);
  t.is(w.siginfo?.si_trapno, TRAPNO_STORE_CAP_PF);
}

for (const regime of ['cheribsd-dev', 'cheribsd-strict', 'pr2225'] as const) {
  test(`R3: vm_mmap_diallowed_prot: the four bad prot combinations give ENOTSUP under ${regime}`, (t) => {
    const p = bootKernel({ regime }).spawn();
    t.is(
      errno(() => p.mmap(0, PAGE, RW | PROT_MAX(PROT_READ), MAP_ANON)),
      'EOPNOTSUPP',
    );
    t.is(
      errno(() => p.mmap(0, PAGE, PROT_READ | PROT_CAP | PROT_MAX(PROT_READ), MAP_ANON)),
      'EOPNOTSUPP',
    );
    t.is(
      errno(() => p.mmap(0, PAGE, PROT_CAP, MAP_ANON)),
      'EOPNOTSUPP',
    );
    t.is(
      errno(() => p.mmap(0, PAGE, PROT_MAX(PROT_CAP), MAP_ANON)),
      'EOPNOTSUPP',
    );
  });

  test(`R5: vm_notag_mmap_no_cap: a tagged store to a PROT_NO_CAP mapping faults with SEGV_STORETAG at the mapping base (${regime})`, (t) => {
    const b = bootKernel({ regime });
    const p = b.spawn();
    const va = p.mmap(0, PAGE, PROT_MAX(RW | PROT_CAP) | RW | PROT_NO_CAP, MAP_ANON);
    expectStoreTagFault(t, b, p.pid, va);
    b.check();
  });

  test(`R4: vm_notag_mprotect_no_cap: mprotect(R|W|PROT_NO_CAP) makes a later capability store fault (${regime})`, (t) => {
    const b = bootKernel({ regime });
    const p = b.spawn();
    const va = p.mmap(0, PAGE, RW, MAP_ANON);
    p.storeCap(va + 16, tagged()); /* page is mapped with cap-store first */
    p.mprotect(va, PAGE, RW | PROT_NO_CAP);
    expectStoreTagFault(t, b, p.pid, va);
  });
}

test('R5: an untagged store of the same bytes to a PROT_NO_CAP mapping is a data write and succeeds', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, PAGE, RW | PROT_NO_CAP, MAP_ANON);
  const c = tagged();
  p.storeCap(va, untagged(c));
  const r = p.loadCap(va);
  t.false(r.tag);
  t.true(sameBytes(r.bytes, c.bytes));
});

test('R5: under the strip switch a tagged store to PROT_NO_CAP memory completes untagged and the process lives', (t) => {
  const b = bootKernel({ storeCapFault: 'strip' });
  const p = b.spawn();
  const va = p.mmap(0, PAGE, RW | PROT_NO_CAP, MAP_ANON);
  const c = tagged();
  p.storeCap(va, c);
  const r = p.loadCap(va);
  t.false(r.tag);
  t.true(sameBytes(r.bytes, c.bytes));
  t.is(p.proc.state, 'run');
  b.check();
});

test('R6: a capability load through a mapping without cap-load permission strips the tag and does not fault', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' });
  const p = b.spawn();
  const fd = p.shm_open(SHM_ANON, O_RDWR);
  p.ftruncate(fd, PAGE);
  const rw = p.mmap(0, PAGE, RW, MAP_SHARED, fd, 0);
  const ro = p.mmap(0, PAGE, PROT_READ | PROT_NO_CAP, MAP_SHARED, fd, 0);
  const c = tagged();
  p.storeCap(rw, c);
  t.true(p.loadCap(rw).tag);
  const r = p.loadCap(ro);
  t.false(r.tag);
  t.true(sameBytes(r.bytes, c.bytes));
  t.is(p.proc.state, 'run');
});

test('R4: mprotect back to R|W from PROT_NONE re-implies capability permissions when max has them (PR #2162)', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, PAGE, PROT_NONE | PROT_MAX(RW), MAP_ANON);
  p.mprotect(va, PAGE, RW);
  p.storeCap(va, tagged());
  t.true(p.loadCap(va).tag);
  t.is(
    errno(() => p.mprotect(va, PAGE, RW | PROT_CAP | PROT_MAX(PROT_READ))),
    'EOPNOTSUPP',
  );
  t.is(
    errno(() => p.mprotect(va + PAGE * 4, PAGE, RW)),
    'ENOMEM',
  );
});

test('R8: vm_capdirty: fresh pages report 0; a data write marks MODIFIED only; a capability store adds CAPSTORE', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, 2 * PAGE, RW, MAP_ANON);
  t.deepEqual([...p.mincore(va, 2 * PAGE)], [0, 0]);
  p.store(va, 8, 42);
  const v0 = p.mincore(va, 2 * PAGE);
  t.truthy(v0[0] & MINCORE_MODIFIED);
  t.falsy(v0[0] & MINCORE_CAPSTORE);
  t.is(v0[1], 0);
  p.storeCap(va + PAGE, tagged());
  const v1 = p.mincore(va, 2 * PAGE);
  t.truthy(v1[1] & MINCORE_INCORE);
  t.truthy(v1[1] & MINCORE_MODIFIED);
  t.truthy(v1[1] & MINCORE_CAPSTORE);
  t.falsy(v1[0] & MINCORE_CAPSTORE);
});

test('R12: tags live with the physical page: a read-only alias of an shm object sees NULL, then the tagged capability', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' });
  const p = b.spawn();
  const fd = p.shm_open(SHM_ANON, O_RDWR);
  p.ftruncate(fd, PAGE);
  const rw = p.mmap(0, PAGE, RW, MAP_SHARED, fd, 0);
  const ro = p.mmap(0, PAGE, PROT_READ, MAP_SHARED, fd, 0);
  t.false(p.loadCap(ro).tag);
  p.storeCap(rw, tagged());
  t.true(p.loadCap(ro).tag);
});

for (const regime of ['cheribsd-dev', 'pr2225'] as const) {
  test(`R32: vm_cow_read: a private copy reads the shared page's tags, and its first write keeps them (${regime})`, (t) => {
    const b = bootKernel({ regime });
    const p = b.spawn();
    const fd = p.shm_open(SHM_ANON, O_RDWR);
    p.ftruncate(fd, PAGE);
    const real = p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
    const copy = p.mmap(0, PAGE, RW, MAP_PRIVATE, fd, 0);
    const c = tagged();
    p.storeCap(real, c);
    t.true(p.loadCap(copy).tag, 'before the copy');
    p.store(copy + 64, 8, 7); /* COW fault: the copy keeps all tags */
    t.true(p.loadCap(copy).tag, 'after the copy');
    p.storeCap(real, untagged(c));
    t.false(p.loadCap(real).tag);
    t.true(p.loadCap(copy).tag, 'the private copy is its own page now');
    b.check();
  });
}

test('R30: fork: SHARE shares frames, COPY is copy-on-write with tags, ZERO gives zeros, NONE leaves a hole', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' });
  const p = b.spawn();
  const share = p.mmap(0, PAGE, RW, MAP_ANON);
  const copy = p.mmap(0, PAGE, RW, MAP_ANON);
  const zero = p.mmap(0, PAGE, RW, MAP_ANON);
  const none = p.mmap(0, PAGE, RW, MAP_ANON);
  p.minherit(share, PAGE, INHERIT_SHARE);
  p.minherit(zero, PAGE, INHERIT_ZERO);
  p.minherit(none, PAGE, INHERIT_NONE);
  for (const va of [share, copy, zero, none]) {
    p.store(va, 8, 0x1111);
    p.storeCap(va + 16, tagged());
  }
  const c = p.fork();
  b.check();
  t.is(c.load(share, 8), 0x1111);
  t.true(c.loadCap(copy + 16).tag, 'COW copy carries the tag');
  t.is(c.load(copy, 8), 0x1111);
  t.is(c.load(zero, 8), 0);
  t.false(c.loadCap(zero + 16).tag);
  t.throws(() => c.load(none, 8), { instanceOf: ProcessTerminated });
  t.is(b.handle(p.pid).waitpid(c.pid)?.siginfo?.si_code, SEGV_MAPERR);
  const c2 = p.fork();
  c2.store(share, 8, 0x2222);
  c2.store(copy, 8, 0x3333);
  t.is(p.load(share, 8), 0x2222, 'SHARE: parent sees the child write');
  t.is(p.load(copy, 8), 0x1111, 'COPY: parent does not');
  p.store(copy, 8, 0x4444);
  t.is(c2.load(copy, 8), 0x3333);
  b.check();
});

test('R31: in DEV a MAP_SHARED anon region shares tagged capabilities both ways across fork', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' });
  const p = b.spawn();
  const va = p.mmap(0, PAGE, RW, MAP_ANON | MAP_SHARED);
  const c = p.fork();
  p.storeCap(va, tagged());
  t.true(c.loadCap(va).tag);
  c.storeCap(va + 16, tagged());
  t.true(p.loadCap(va + 16).tag);
});

test('R30: a write to a COW page after fork goes to a private copy; the invariants hold all along', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, 4 * PAGE, RW, MAP_ANON);
  for (let i = 0; i < 4; i++) p.store(va + i * PAGE, 8, i + 1);
  const c = p.fork();
  b.check();
  c.store(va, 8, 100);
  b.check();
  p.store(va + PAGE, 8, 200);
  b.check();
  t.deepEqual(
    [0, 1, 2, 3].map((i) => p.load(va + i * PAGE, 8)),
    [1, 200, 3, 4],
  );
  t.deepEqual(
    [0, 1, 2, 3].map((i) => c.load(va + i * PAGE, 8)),
    [100, 2, 3, 4],
  );
  c.exit(0);
  b.handle(p.pid).waitpid(c.pid);
  b.check();
});

test('R33: msync(MS_INVALIDATE) drops the PTEs but not the pages: the data and tags come back on the next access', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, PAGE, RW, MAP_ANON);
  p.storeCap(va, tagged());
  p.msync(va, PAGE, MS_INVALIDATE);
  t.true(p.loadCap(va).tag);
});

test('R3: mmap argument validation answers errnos, not exceptions', (t) => {
  const p = bootKernel().spawn();
  t.is(
    errno(() => p.mmap(0, PAGE, RW, MAP_ANON | MAP_SHARED | MAP_PRIVATE)),
    'EINVAL',
  );
  t.is(
    errno(() => p.mmap(0, 0, RW, MAP_ANON)),
    'EINVAL',
  );
  t.is(
    errno(() => p.mmap(0, PAGE, RW, MAP_ANON, 3, 0)),
    'EINVAL',
  );
  t.is(
    errno(() => p.mmap(0, PAGE, RW, MAP_SHARED, 42, 0)),
    'EBADF',
  );
  t.is(
    errno(() => p.mmap(123, PAGE, RW, MAP_ANON | MAP_FIXED)),
    'EINVAL',
  );
  t.is(
    errno(() => p.mmap(0, PAGE, RW, MAP_ANON | MAP_EXCL)),
    'EINVAL',
  );
  t.is(
    errno(() => p.mmap(0, 2 ** 50, RW, MAP_ANON)),
    'ENOMEM',
  );
  t.is(
    errno(() => p.mmap(Number.NaN, PAGE, RW, MAP_ANON)),
    'EINVAL',
  );
  const [r] = p.pipe();
  t.is(
    errno(() => p.mmap(0, PAGE, PROT_READ, MAP_SHARED, r, 0)),
    'ENODEV',
  );
  const fd = p.open('/x', O_RDWR | O_CREAT);
  p.close(fd);
  const ro = p.open('/x', 0);
  t.is(
    errno(() => p.mmap(0, PAGE, RW, MAP_SHARED, ro, 0)),
    'EACCES',
  );
  const va = p.mmap(0x4000_0000, PAGE, RW, MAP_ANON | MAP_FIXED);
  t.is(va, 0x4000_0000);
  t.is(
    errno(() => p.mmap(va, PAGE, RW, MAP_ANON | MAP_FIXED | MAP_EXCL)),
    'ENOMEM',
  );
  t.is(
    errno(() => p.munmap(va + 1, PAGE)),
    'EINVAL',
  );
  t.is(
    errno(() => p.minherit(va, PAGE, 9)),
    'EINVAL',
  );
  t.is(
    errno(() => p.madvise(va, PAGE, 99)),
    'EINVAL',
  );
  t.is(
    errno(() => p.msync(va, PAGE, 0x3)),
    'EINVAL',
  );
  t.is(
    errno(() => p.mincore(va + 8 * PAGE, PAGE)),
    'ENOMEM',
  );
});

test('R3: a data write to a read-only mapping gives SIGSEGV/SEGV_ACCERR; an unmapped access SEGV_MAPERR', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, PAGE, PROT_READ, MAP_ANON);
  t.throws(() => p.store(va, 4, 1), { instanceOf: ProcessTerminated });
  const w = b.handle(1).waitpid(p.pid)!;
  t.is(WTERMSIG(w.status), SIGSEGV);
  t.is(w.siginfo?.si_code, SEGV_ACCERR);
  t.is(w.siginfo?.si_addr, va);
});

test('R30: a private mapping shared with a fork child by INHERIT_SHARE stays coherent across a later COW copy', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' });
  const p = b.spawn();
  const fd = p.shm_open(SHM_ANON, O_RDWR);
  p.ftruncate(fd, PAGE);
  const sh = p.mmap(0, PAGE, RW, MAP_SHARED, fd, 0);
  p.store(sh, 8, 1);
  const pr = p.mmap(0, PAGE, RW, MAP_PRIVATE, fd, 0);
  p.minherit(pr, PAGE, INHERIT_SHARE);
  const c = p.fork();
  t.is(c.load(pr, 8), 1, 'child maps the shm page read-only through the shared shadow');
  p.store(pr, 8, 2); /* COW copy into the shadow both share */
  b.check();
  t.is(c.load(pr, 8), 2, 'the child sees the copy, not the stale backing page');
});

test('R15: Varnish-style persistence: a MAP_PRIVATE file mapping keeps pointers but persists nothing to the file', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const fd = p.open('/persist', O_RDWR | O_CREAT);
  p.ftruncate(fd, PAGE);
  const priv = p.mmap(0, PAGE, RW, MAP_PRIVATE, fd, 0);
  p.storeCap(priv, tagged());
  p.store(priv + 64, 8, 77);
  t.true(p.loadCap(priv).tag);
  const q = b.spawn();
  const qfd = q.open('/persist', O_RDWR);
  const qm = q.mmap(0, PAGE, PROT_READ, MAP_SHARED, qfd, 0);
  t.is(q.load(qm + 64, 8), 0, 'nothing reached the file');
  t.false(q.loadCap(qm).tag);
  const shared = p.mmap(0, PAGE, RW, MAP_SHARED, fd, 0);
  p.store(shared + 64, 8, 78);
  t.is(q.load(qm + 64, 8), 78, 'a MAP_SHARED data write does reach it');
  t.throws(() => p.storeCap(shared, tagged()), { instanceOf: ProcessTerminated });
  b.check();
});

test('R7: pmap turns VM_PROT_READ_CAP/WRITE_CAP into PTE_CR/PTE_CW; the machine sets PTE_CD on a tagged store', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const capva = p.mmap(0, PAGE, RW, MAP_ANON);
  const nocap = p.mmap(0, PAGE, RW | PROT_NO_CAP, MAP_ANON);
  p.store(capva, 8, 1);
  p.store(nocap, 8, 1);
  const pmap = p.proc.vmspace!.pmap;
  const a = pmapExtract(pmap, capva);
  const n = pmapExtract(pmap, nocap);
  t.truthy(a & PTE_CR);
  t.truthy(a & PTE_CW);
  t.falsy(a & PTE_CD);
  t.falsy(n & PTE_CR);
  t.falsy(n & PTE_CW);
  p.storeCap(capva + 16, tagged());
  t.truthy(pmapExtract(pmap, capva) & PTE_CD);
});

test('R1: procstat shows each entry with data and capability permissions, current and max', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const a = p.mmap(0, 2 * PAGE, RW, MAP_ANON);
  const n = p.mmap(0, PAGE, RW | PROT_NO_CAP, MAP_ANON);
  const s = p.mmap(0, PAGE, RW | PROT_CAP, MAP_ANON | MAP_SHARED);
  p.store(a, 8, 1);
  const rows = procstatVm(p.proc.vmspace!);
  t.deepEqual(
    rows.map((r) => [r.start, r.prot, r.maxProt, r.type, r.flags, r.inheritance, r.resident]),
    [
      [a, 'rw-RW', 'rwxRW', 'anon', 'C--', 'copy', 1],
      [n, 'rw---', 'rwxRW', 'none', 'C--', 'copy', 0],
      [s, 'rw-RW', 'rwxRW', 'anon', '--S', 'share', 0],
    ],
  );
});

test('R11: vm_swap: private anonymous pages paged out with msync(MS_PAGEOUT) come back with every tag and byte', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const n = 16;
  const va = p.mmap(0, n * PAGE, RW, MAP_ANON);
  const slots: { va: number; cap: ReturnType<typeof tagged> }[] = [];
  for (let i = 0; i < n * 8; i++) {
    const at = va + i * (PAGE / 8);
    const c = i % 3 === 0 ? untagged(tagged(0x1000 + i * 16, 16)) : tagged(0x1000 + i * 16, 16);
    p.storeCap(at, c);
    slots.push({ va: at, cap: c });
  }
  const used = b.k.stats().framesUsed;
  p.msync(va, n * PAGE, MS_PAGEOUT);
  b.check();
  t.deepEqual([...p.mincore(va, n * PAGE)], new Array(n).fill(0), 'nothing in core');
  t.is(b.k.stats().framesUsed, used, 'pages moved to swap frames');
  let mismatches = 0;
  for (const s of slots) {
    const r = p.loadCap(s.va);
    if (r.tag !== s.cap.tag || !sameBytes(r.bytes, s.cap.bytes)) mismatches++;
  }
  t.is(mismatches, 0);
  b.check();
  /* a COW page shared with a fork child can be paged out and read back by both */
  const c = p.fork();
  p.msync(va, PAGE, MS_PAGEOUT);
  t.true(c.loadCap(slots[1].va).tag);
  t.true(p.loadCap(slots[1].va).tag);
  c.exit(0);
  p.waitpid(c.pid);
  p.exit(0);
  b.handle(1).waitpid(p.pid);
  b.check();
  t.is(b.k.stats().framesUsed, 2, 'swap frames are released at exit');
});
