/* Accounting: frames, objects, vnodes, shm objects and processes return to their baseline. */
import {
  AF_UNIX,
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  MAP_ANON,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CREAT,
  O_RDWR,
  PROT_CAP,
  PROT_READ,
  PROT_WRITE,
  ProcessTerminated,
  SHM_ANON,
  SIGKILL,
  SOCK_DGRAM,
  WTERMSIG,
} from '@cherisim/kernel';
import test from 'ava';
import { bootKernel, PAGE, tagged } from '../_support/kernel_boot.js';

const RW = PROT_READ | PROT_WRITE;

test('a loop of fork/exit/mmap/munmap/shm_open/close returns the frame allocator and object count to baseline', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  /* a long-lived private region the parent keeps writing: COW chains must collapse */
  const keep = p.mmap(0, 4 * PAGE, RW, MAP_ANON);
  for (let i = 0; i < 4; i++) p.store(keep + i * PAGE, 8, 1);
  const base = b.k.stats();
  for (let i = 0; i < 50; i++) {
    const c = p.fork();
    p.store(keep + (i % 4) * PAGE, 8, i);
    c.store(keep, 8, 1000 + i);
    const a = c.mmap(0, 3 * PAGE, RW, MAP_ANON);
    c.storeCap(a + PAGE, tagged());
    c.munmap(a, PAGE);
    const fd = c.shm_open(SHM_ANON, O_RDWR);
    c.ftruncate(fd, 2 * PAGE);
    const m = c.mmap(0, 2 * PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
    c.storeCap(m, tagged());
    const priv = c.mmap(0, 2 * PAGE, RW, MAP_PRIVATE, fd, 0);
    c.store(priv, 8, 5);
    c.close(fd);
    const named = c.shm_open(`/n${i}`, O_RDWR | O_CREAT);
    c.ftruncate(named, PAGE);
    c.shm_unlink(`/n${i}`);
    const f = c.open(`/f${i}`, O_RDWR | O_CREAT);
    c.write(f, m, 100);
    c.mmap(0, PAGE, PROT_READ, MAP_SHARED, f, 0);
    c.unlink(`/f${i}`);
    const [s0, s1] = c.socketpair(AF_UNIX, SOCK_DGRAM);
    c.sendmsg(s0, { iov: [{ base: m, len: 8 }], rights: [named, f] }); /* in flight at exit */
    c.close(s1);
    const id = c.shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
    c.shmat(id, 0, 0);
    c.shmctl(id, IPC_RMID);
    const [r, w] = c.pipe();
    c.write(w, m, 16);
    c.close(r);
    const g = c.fork();
    g.store(keep + PAGE, 8, 9);
    c.exit(0);
    g.exit(0);
    p.waitpid(c.pid);
    b.check();
  }
  t.deepEqual(b.k.stats(), base);
  t.is(p.load(keep, 8), 48);
  p.exit(0);
  b.handle(1).waitpid(p.pid);
  b.check();
  const end = b.k.stats();
  t.is(end.objects, 0);
  t.is(end.shmObjects, 0);
  t.is(end.sysvSegments, 0);
  t.is(end.vnodes, 1, '/dev/zero only');
  t.is(end.procs, 1, 'init only');
  t.is(end.framesUsed, 2, 'reserved frame 0 + the root page table of init');
});

test('out of memory: a process touching more pages than exist is killed with SIGKILL and every frame comes back', (t) => {
  const b = bootKernel({}, 0.25); /* 64 frames */
  const before = b.k.stats();
  const p = b.spawn();
  const va = p.mmap(0, 128 * PAGE, RW, MAP_ANON);
  let touched = 0;
  try {
    for (; touched < 128; touched++) p.store(va + touched * PAGE, 8, touched);
  } catch (e) {
    t.true(e instanceof ProcessTerminated);
  }
  t.true(touched < 64);
  b.check();
  const w = b.handle(1).waitpid(p.pid)!;
  t.is(WTERMSIG(w.status), SIGKILL);
  t.deepEqual(b.k.stats(), before);
  const q = b.spawn();
  const fd = q.open('/big', O_RDWR | O_CREAT);
  const buf = q.mmap(0, PAGE, RW, MAP_ANON);
  let err = '';
  try {
    for (let i = 0; i < 100; i++) q.write(fd, buf, PAGE);
  } catch (e) {
    err = (e as { code?: string }).code ?? '';
  }
  t.is(err, 'ENOMEM');
  t.throws(() => q.fork(), { code: 'EAGAIN' });
  b.check();
});
