/* Files, pipes, sockets and shm ownership: R9, R10, R13, R22–R27 and the derived scenarios D1–D7. */
import {
  AF_UNIX,
  INHERIT_SHARE,
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  MAP_ANON,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_SHARECAP,
  MSG_TRUNC,
  O_CREAT,
  O_RDWR,
  O_SHARECAP,
  PROT_CAP,
  PROT_READ,
  PROT_WRITE,
  type ProcHandle,
  type Regime,
  SEEK_SET,
  SHM_ANON,
  SOCK_DGRAM,
  SOCK_STREAM,
  SysError,
  WEXITSTATUS,
  WIFEXITED,
} from '@cherisim/kernel';
import test from 'ava';
import { type Booted, bootKernel, PAGE, sameBytes, tagged } from '../_support/kernel_boot.js';

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

function shmPage(p: ProcHandle, flags = O_RDWR): number {
  const fd = p.shm_open(SHM_ANON, flags);
  p.ftruncate(fd, PAGE);
  return fd;
}

test('R9: shm_open_read_nocaps: read(2) of a shm fd returns the bytes of a stored capability without its tag', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const fd = shmPage(p);
  const m = p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  const c = tagged();
  p.storeCap(m, c);
  const buf = p.mmap(0, PAGE, RW, MAP_ANON);
  t.is(p.read(fd, buf, 16), 16);
  const r = p.loadCap(buf);
  t.false(r.tag);
  t.true(sameBytes(r.bytes, c.bytes));
  b.check();
});

test('R9: shm_open_write_nocaps: write(2) of a tagged capability stores untagged bytes in the object', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const fd = shmPage(p);
  const m = p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  const buf = p.mmap(0, PAGE, RW, MAP_ANON);
  const c = tagged();
  p.storeCap(buf, c);
  t.true(p.loadCap(buf).tag);
  t.is(p.write(fd, buf, 16), 16);
  const r = p.loadCap(m);
  t.false(r.tag);
  t.true(sameBytes(r.bytes, c.bytes));
  b.check();
});

test('R9: read(2)/write(2)/lseek(2) on a regular file round-trip bytes and never tags', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const fd = p.open('/data', O_RDWR | O_CREAT);
  const buf = p.mmap(0, 2 * PAGE, RW, MAP_ANON);
  const c = tagged();
  p.storeCap(buf + 32, c);
  t.is(p.write(fd, buf, 64), 64);
  t.is(p.lseek(fd, 0, SEEK_SET), 0);
  t.is(p.read(fd, buf + PAGE, 64), 64);
  const r = p.loadCap(buf + PAGE + 32);
  t.false(r.tag);
  t.true(sameBytes(r.bytes, c.bytes));
  t.is(p.read(fd, buf, 64), 0, 'EOF');
  b.check();
});

for (const kind of ['pipe', 'stream', 'dgram'] as const) {
  for (const size of [16, 8192]) {
    test(`R10: test_ipc_${kind}_${size === 16 ? 'capsize' : '8k'}_tagstripped: bytes arrive identical, tag clear`, (t) => {
      const b = bootKernel();
      const p = b.spawn();
      const [r, w] =
        kind === 'pipe' ? p.pipe() : p.socketpair(AF_UNIX, kind === 'stream' ? SOCK_STREAM : SOCK_DGRAM);
      const buf = p.mmap(0, 8 * PAGE, RW, MAP_ANON);
      const c = tagged();
      p.storeCap(buf, c);
      const child = p.fork();
      t.is(child.write(w, buf, size), size);
      const got = p.read(r, buf + 4 * PAGE, size);
      t.is(got, size);
      const rc = p.loadCap(buf + 4 * PAGE);
      t.false(rc.tag);
      t.true(sameBytes(rc.bytes, c.bytes));
      b.check();
    });
  }
}

/* vm_shm_open_anon_unix_surprise: parent stores a cap, passes the fd over SCM_RIGHTS; child maps PROT_READ. */
function surprise(b: Booted, childProt: number): boolean {
  const p = b.spawn();
  const [s0, s1] = p.socketpair(AF_UNIX, SOCK_DGRAM);
  const child = p.fork();
  const fd = shmPage(p);
  const m = p.mmap(0, PAGE, RW | (b.k.policy.regime === 'cheribsd-dev' ? 0 : PROT_CAP), MAP_SHARED, fd, 0);
  p.storeCap(m, tagged());
  p.munmap(m, PAGE);
  const buf = p.mmap(0, PAGE, RW, MAP_ANON);
  p.sendmsg(s0, { iov: [{ base: buf, len: 1 }], rights: [fd] });
  const cbuf = child.mmap(0, PAGE, RW, MAP_ANON);
  const res = child.recvmsg(s1, { iov: [{ base: cbuf, len: 1 }] });
  const q = child.mmap(0, PAGE, childProt, MAP_SHARED, res.rights[0], 0);
  const tag = child.loadCap(q).tag;
  child.exit(tag ? 1 : 0);
  const w = p.waitpid(child.pid)!;
  return WIFEXITED(w.status) && WEXITSTATUS(w.status) === 1;
}

const SURPRISE: [Regime, boolean][] = [
  ['cheribsd-dev', true],
  ['cheribsd-strict', false],
  ['pr2225', false],
];
for (const [regime, leaks] of SURPRISE) {
  test(`R13: vm_shm_open_anon_unix_surprise under ${regime}: a PROT_READ child ${leaks ? 'sees the tag (DEV XFAIL)' : 'does not see the tag'}`, (t) => {
    const b = bootKernel({ regime });
    t.is(surprise(b, PROT_READ), leaks);
    b.check();
  });
}

test('R22: D3: a second process that received the fd over SCM_RIGHTS is refused PROT_CAP (EACCES); D1: the owner may', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const [s0, s1] = p.socketpair(AF_UNIX, SOCK_DGRAM);
  const c = p.fork();
  const fd = shmPage(p);
  t.is(
    errno(() => p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0)),
    'ok',
    'D1',
  );
  const buf = p.mmap(0, PAGE, RW, MAP_ANON);
  p.sendmsg(s0, { iov: [{ base: buf, len: 1 }], rights: [fd] });
  const cbuf = c.mmap(0, PAGE, RW, MAP_ANON);
  const got = c.recvmsg(s1, { iov: [{ base: cbuf, len: 1 }] });
  t.is(
    errno(() => c.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, got.rights[0], 0)),
    'EACCES',
  );
  t.is(
    errno(() => c.mmap(0, PAGE, RW, MAP_SHARED, got.rights[0], 0)),
    'ok',
  );
  b.check();
});

test('R22: D2 and D4: the owner without PROT_CAP faults; a non-owner PROT_READ mapping reads the owner cap untagged', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const q = b.spawn();
  const n = p.shm_open('/d4', O_RDWR | O_CREAT);
  p.ftruncate(n, PAGE);
  const m = p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, n, 0);
  p.storeCap(m, tagged());
  const qn = q.shm_open('/d4', O_RDWR);
  const qm = q.mmap(0, PAGE, PROT_READ, MAP_SHARED, qn, 0);
  t.false(q.loadCap(qm).tag, 'D4 untagged');
  const noCap = p.mmap(0, PAGE, RW, MAP_SHARED, n, 0);
  t.throws(() => p.storeCap(noCap, tagged()));
  t.is(p.proc.state, 'zombie', 'D2 fault');
});

for (const policy of ['none-may-cap', 'next-opener-becomes-owner'] as const) {
  test(`R22: D7: after the owner exits, a third process ${policy === 'none-may-cap' ? 'may not' : 'may'} map with PROT_CAP (${policy})`, (t) => {
    const b = bootKernel({ orphanPolicy: policy });
    const p = b.spawn();
    const n = p.shm_open('/d7', O_RDWR | O_CREAT);
    p.ftruncate(n, PAGE);
    p.exit(0);
    b.handle(1).waitpid(p.pid);
    const q = b.spawn();
    const qn = q.shm_open('/d7', O_RDWR);
    t.is(
      errno(() => q.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, qn, 0)),
      policy === 'none-may-cap' ? 'EACCES' : 'ok',
    );
    b.check();
  });
}

test('R23: fork removes capability permissions from the child copy of an owner-bound shared mapping; the parent keeps them', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const fd = shmPage(p);
  const m = p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  p.storeCap(m, tagged());
  const c = p.fork();
  t.false(c.loadCap(m).tag, 'child loads untagged');
  t.true(p.loadCap(m).tag, 'parent still tagged');
  t.throws(() => c.storeCap(m + 16, tagged()), undefined, 'child cap store faults');
  b.check();
});

test('R31: in DEV the same fork keeps capability permissions in the child (capabilities flow both ways)', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' });
  const p = b.spawn();
  const fd = shmPage(p);
  const m = p.mmap(0, PAGE, RW, MAP_SHARED, fd, 0);
  p.storeCap(m, tagged());
  const c = p.fork();
  t.true(c.loadCap(m).tag);
});

test('R24: D5: an O_SHARECAP object keeps capabilities across fork and lets a non-owner map PROT_CAP', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const fd = p.shm_open('/sc', O_RDWR | O_CREAT | O_SHARECAP);
  p.ftruncate(fd, PAGE);
  const m = p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  p.storeCap(m, tagged());
  const c = p.fork();
  t.true(c.loadCap(m).tag);
  const q = b.spawn();
  const qfd = q.shm_open('/sc', O_RDWR);
  const qm = q.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, qfd, 0);
  t.true(q.loadCap(qm).tag);
  const mfd = q.memfd_create('x', MFD_SHARECAP);
  q.ftruncate(mfd, PAGE);
  t.is(
    errno(() => p.shm_open('/y', O_RDWR | O_CREAT | 0x40)),
    'EINVAL',
    'flags outside the allow-list',
  );
});

test('R24: O_SHARECAP is not a valid shm_open flag outside pr2225', (t) => {
  const p = bootKernel({ regime: 'cheribsd-strict' }).spawn();
  t.is(
    errno(() => p.shm_open('/z', O_RDWR | O_CREAT | O_SHARECAP)),
    'EINVAL',
  );
});

test('R25: MAP_ANON|MAP_SHARED|PROT_CAP stays capability-shareable with fork children under pr2225', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const m = p.mmap(0, PAGE, RW | PROT_CAP, MAP_ANON | MAP_SHARED);
  const c = p.fork();
  c.storeCap(m, tagged());
  t.true(p.loadCap(m).tag);
});

test('R26: SysV segments stay capability-shareable across fork under pr2225; IPC_RMID frees at the last detach', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const id = p.shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
  const va = p.shmat(id, 0, 0);
  const c = p.fork();
  c.storeCap(va, tagged());
  t.true(p.loadCap(va).tag);
  p.shmctl(id, IPC_RMID);
  t.is(b.k.stats().sysvSegments, 1);
  p.shmdt(va);
  c.exit(0);
  p.waitpid(c.pid);
  t.is(b.k.stats().sysvSegments, 0);
  t.is(
    errno(() => p.shmdt(va)),
    'EINVAL',
  );
  b.check();
});

test('R27: minherit(INHERIT_SHARE) on a capability-bearing private mapping is refused under pr2225, allowed in DEV', (t) => {
  const pr = bootKernel().spawn();
  const a = pr.mmap(0, PAGE, RW, MAP_ANON);
  t.is(
    errno(() => pr.minherit(a, PAGE, INHERIT_SHARE)),
    'EACCES',
  );
  const sh = pr.mmap(0, PAGE, RW, MAP_ANON | MAP_SHARED);
  t.is(
    errno(() => pr.minherit(sh, PAGE, INHERIT_SHARE)),
    'ok',
    'no-op',
  );
  const dev = bootKernel({ regime: 'cheribsd-dev' }).spawn();
  const d = dev.mmap(0, PAGE, RW, MAP_ANON);
  t.is(
    errno(() => dev.minherit(d, PAGE, INHERIT_SHARE)),
    'ok',
  );
});

test('R10: SCM_RIGHTS over a stream socket passes a file; a dgram shorter buffer truncates with MSG_TRUNC', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const [a, z] = p.socketpair(AF_UNIX, SOCK_DGRAM);
  const buf = p.mmap(0, PAGE, RW, MAP_ANON);
  p.sendmsg(a, { iov: [{ base: buf, len: 100 }] });
  const r = p.recvmsg(z, { iov: [{ base: buf, len: 10 }] });
  t.is(r.bytes, 10);
  t.is(r.flags & MSG_TRUNC, MSG_TRUNC);
  const [s, u] = p.socketpair(AF_UNIX, SOCK_STREAM);
  const f = p.open('/pass', O_RDWR | O_CREAT);
  p.sendmsg(s, { iov: [{ base: buf, len: 4 }], rights: [f] });
  p.close(f);
  const got = p.recvmsg(u, { iov: [{ base: buf, len: 4 }] });
  t.is(got.rights.length, 1);
  t.is(p.write(got.rights[0], buf, 4), 4);
  t.is(
    errno(() => p.recvmsg(u, { iov: [{ base: buf, len: 4 }] })),
    'EAGAIN',
    'would block',
  );
  p.close(s);
  t.is(p.recvmsg(u, { iov: [{ base: buf, len: 4 }] }).bytes, 0, 'EOF after close');
  t.is(
    errno(() => p.sendmsg(u, { iov: [{ base: buf, len: 4 }] }, 0x20000)),
    'EPIPE',
  );
  b.check();
});

test('R9: a MAP_PRIVATE mapping of an shm object is a copy: the owner and a private mapper diverge after a write', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const fd = shmPage(p);
  const sh = p.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  const pr = p.mmap(0, PAGE, RW, MAP_PRIVATE, fd, 0);
  p.store(sh, 8, 1);
  t.is(p.load(pr, 8), 1);
  p.store(pr, 8, 2);
  t.is(p.load(sh, 8), 1);
  b.check();
});

test('R10: read(2) on a socket answers a byte count, with no recvmsg result object left behind', (t) => {
  const b = bootKernel();
  const p = b.spawn('sock');
  const [a, c] = p.socketpair(AF_UNIX, SOCK_STREAM);
  const buf = p.mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE);
  p.store(buf, 8, 0x0102030405);
  t.is(p.write(a, buf, 8), 8);
  t.is(p.read(c, buf + 64, 16), 8);
  t.is(p.proc.td.retobj, null);
});
