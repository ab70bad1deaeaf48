/* Processes and signals: fork/exit/waitpid/getpid/kill/sigaction, SIGPROT from machine capability faults. */
import {
  ECHILD,
  type HartCpu,
  MAP_ANON,
  PROT_CAP,
  PROT_CHERI_BOUNDS,
  PROT_CHERI_PERM,
  PROT_CHERI_SEALED,
  PROT_CHERI_TAG,
  PROT_MAX,
  PROT_NO_CAP,
  PROT_READ,
  PROT_WRITE,
  ProcessTerminated,
  SEGV_STORETAG,
  SIG_IGN,
  SIGCHLD,
  SIGKILL,
  SIGPROT,
  SIGSEGV,
  SIGTERM,
  SIGUSR1,
  type Siginfo,
  SignalDelivered,
  SysError,
  TRAPNO_CHERI,
  trapCapabilityFault,
  trapPageFault,
  WEXITSTATUS,
  WIFEXITED,
  WIFSIGNALED,
  WNOHANG,
  WTERMSIG,
} from '@cherisim/kernel';
import * as machine from '@cherisim/machine';
import { capBuild } from '@cherisim/machine';
import test from 'ava';
import { bootKernel, PAGE, tagged } from '../_support/kernel_boot.js';

const RW = PROT_READ | PROT_WRITE;

test('fork/exit/waitpid: the parent reaps the exit status; getpid and getppid name the processes', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const c = p.fork();
  t.is(c.getpid(), c.pid);
  t.is(c.getppid(), p.pid);
  t.not(c.pid, p.pid);
  t.is(p.waitpid(-1, WNOHANG), null);
  c.exit(42);
  const w = p.waitpid(-1)!;
  t.is(w.pid, c.pid);
  t.true(WIFEXITED(w.status));
  t.is(WEXITSTATUS(w.status), 42);
  t.is(w.siginfo, null);
  const e = t.throws(() => p.waitpid(-1), { instanceOf: SysError });
  t.is(e?.errno, ECHILD);
  b.check();
});

test('R5: waitpid reports the terminating SIGSEGV with si_code SEGV_STORETAG, si_addr and si_trapno', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const c = p.fork();
  const va = c.mmap(0, PAGE, PROT_MAX(RW | PROT_CAP) | RW | PROT_NO_CAP, MAP_ANON);
  t.throws(() => c.storeCap(va + 32, tagged()), { instanceOf: ProcessTerminated });
  const w = p.waitpid(c.pid)!;
  t.true(WIFSIGNALED(w.status));
  t.is(WTERMSIG(w.status), SIGSEGV);
  t.is(w.siginfo?.si_signo, SIGSEGV);
  t.is(w.siginfo?.si_code, SEGV_STORETAG);
  t.is(w.siginfo?.si_addr, va + 32);
  b.check();
});

test('SIGPROT: a load through an untagged capability gives PROT_CHERI_TAG; out of bounds gives PROT_CHERI_BOUNDS', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const c1 = p.fork();
  t.throws(() => c1.guest((cpu) => (cpu as HartCpu).hart.load(1, 0x1000, 8)), {
    instanceOf: ProcessTerminated,
  });
  const w1 = p.waitpid(c1.pid)!;
  t.is(WTERMSIG(w1.status), SIGPROT);
  t.is(w1.siginfo?.si_code, PROT_CHERI_TAG);
  t.is(w1.siginfo?.si_trapno, TRAPNO_CHERI);
  const c2 = p.fork();
  const va = c2.mmap(0, PAGE, RW, MAP_ANON);
  t.throws(
    () =>
      c2.guest((cpu) => {
        const h = cpu as HartCpu;
        h.regs.set(1, capBuild(va, 16));
        return h.hart.load(1, 32, 8);
      }),
    { instanceOf: ProcessTerminated },
  );
  const w2 = p.waitpid(c2.pid)!;
  t.is(WTERMSIG(w2.status), SIGPROT);
  t.is(w2.siginfo?.si_code, PROT_CHERI_BOUNDS);
  t.is(w2.siginfo?.si_addr, va + 32);
  b.check();
});

test('sigaction: a handler receives a synchronous fault with its siginfo and the process survives', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const seen: Siginfo[] = [];
  p.sigaction(SIGSEGV, (_sig, info) => seen.push(info));
  const va = p.mmap(0, PAGE, RW | PROT_NO_CAP, MAP_ANON);
  t.throws(() => p.storeCap(va, tagged()), { instanceOf: SignalDelivered });
  t.is(seen.length, 1);
  t.is(seen[0].si_code, SEGV_STORETAG);
  t.is(p.proc.state, 'run');
});

test('sigaction: an ignored SIGSEGV cannot ignore a fault; the default action still terminates', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  p.sigaction(SIGSEGV, SIG_IGN);
  const va = p.mmap(0, PAGE, PROT_READ, MAP_ANON);
  t.throws(() => p.store(va, 1, 1), { instanceOf: ProcessTerminated });
});

test('kill: SIGTERM terminates by default, SIG_IGN ignores, SIGKILL cannot be caught, bad args give errnos', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const c = p.fork();
  c.sigaction(SIGUSR1, SIG_IGN);
  p.kill(c.pid, SIGUSR1);
  t.is(c.proc.state, 'run');
  p.kill(c.pid, 0);
  p.kill(c.pid, SIGTERM);
  const w = p.waitpid(c.pid)!;
  t.is(WTERMSIG(w.status), SIGTERM);
  t.is(w.siginfo?.si_pid, p.pid);
  const c2 = p.fork();
  t.throws(() => c2.sigaction(SIGKILL, SIG_IGN), { instanceOf: SysError, code: 'EINVAL' });
  p.kill(c2.pid, SIGKILL);
  t.is(WTERMSIG(p.waitpid(c2.pid)!.status), SIGKILL);
  t.throws(() => p.kill(99999, SIGTERM), { instanceOf: SysError, code: 'ESRCH' });
  t.throws(() => p.kill(c2.pid, 1000), { instanceOf: SysError, code: 'EINVAL' });
  t.throws(() => p.sigaction(0), { instanceOf: SysError, code: 'EINVAL' });
});

test('SIGCHLD: a parent handler hears about the child exit; orphans are reaped by init', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const heard: number[] = [];
  p.sigaction(SIGCHLD, (_s, info) => heard.push(info.si_pid));
  const c = p.fork();
  const g = c.fork();
  c.exit(0);
  t.deepEqual(heard, [c.pid]);
  t.is(g.getppid(), 1);
  g.exit(0);
  t.false(b.k.procs.has(g.pid), 'init reaped the orphan');
  p.waitpid(c.pid);
  b.check();
});

test('exit releases descriptors and mappings immediately; a dead process answers ProcessTerminated', (t) => {
  const b = bootKernel();
  const before = b.k.stats();
  const p = b.spawn();
  p.mmap(0, 4 * PAGE, RW, MAP_ANON);
  const va = p.mmap(0, PAGE, RW, MAP_ANON);
  p.store(va, 8, 1);
  p.pipe();
  p.exit(0);
  t.throws(() => p.getpid(), { instanceOf: ProcessTerminated });
  b.handle(1).waitpid(p.pid);
  t.deepEqual(b.k.stats(), before);
});

test('SIGPROT: a load through a capability without LOAD gives PROT_CHERI_PERM; through a sealed one PROT_CHERI_SEALED', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, PAGE, RW, MAP_ANON);
  const cases: [machine.Capability, number][] = [
    [machine.capAndPerms(machine.capBuild(va, 64), machine.CHERI_PERM_STORE), PROT_CHERI_PERM],
    [machine.capSealEntry(machine.capBuild(va, 64)), PROT_CHERI_SEALED],
  ];
  for (const [auth, code] of cases) {
    const c = p.fork();
    t.throws(
      () =>
        c.guest((cpu) => {
          const h = cpu as HartCpu;
          h.regs.set(1, auth);
          return h.hart.load(1, 0, 8);
        }),
      { instanceOf: ProcessTerminated },
    );
    const w = p.waitpid(c.pid)!;
    t.is(WTERMSIG(w.status), SIGPROT);
    t.is(w.siginfo?.si_code, code);
  }
  b.check();
});

test('R5: the worker-facing trap API: a page fault is resolved (retry), a cap-store fault kills or strips per the switch', (t) => {
  for (const sw of ['fault', 'strip'] as const) {
    const b = bootKernel({ storeCapFault: sw });
    const p = b.spawn();
    const va = p.mmap(0, PAGE, RW | PROT_NO_CAP, MAP_ANON);
    const td = p.proc.td;
    t.is(trapPageFault(b.k, td, new machine.PageFault(va, 'write', 'not-present')), 'retry');
    const c = tagged();
    const act = trapPageFault(b.k, td, new machine.PageFault(va, 'cap-store', 'cap-store'), c.bytes);
    if (sw === 'fault') {
      t.is(act, 'killed');
      t.is(p.proc.xsiginfo?.si_code, SEGV_STORETAG);
    } else {
      t.is(act, 'stripped');
      const r = p.loadCap(va);
      t.false(r.tag);
    }
    b.check();
  }
  const b = bootKernel();
  const p = b.spawn();
  t.is(trapCapabilityFault(b.k, p.proc.td, 'PROT_CHERI_BOUNDS', 0x1234), 'killed');
  t.is(p.proc.xsiginfo?.si_code, PROT_CHERI_BOUNDS);
  t.is(trapPageFault(b.k, p.proc.td, new machine.PageFault(0x1000, 'read', 'not-present')), 'killed');
});

test('R30: fork gives the child thread a copy of the parent capability registers', (t) => {
  const b = bootKernel();
  const p = b.spawn();
  const va = p.mmap(0, PAGE, RW, MAP_ANON);
  const cap = capBuild(va, 64);
  p.guest((cpu) => (cpu as HartCpu).regs.set(5, cap));
  const c = p.fork();
  const got = c.guest((cpu) => (cpu as HartCpu).regs.get(5));
  t.true(got.tag);
  t.is(got.cursor, cap.cursor);
  c.guest((cpu) => (cpu as HartCpu).regs.clear(5));
  t.true(p.guest((cpu) => (cpu as HartCpu).regs.get(5)).tag, 'registers are copied, not shared');
});
