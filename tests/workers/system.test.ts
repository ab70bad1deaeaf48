import {
  REGIMES,
  type Regime,
  SEGV_STORETAG,
  SIGABRT,
  SIGKILL,
  SIGPROT,
  SIGSEGV,
  TRAPNO_STORE_CAP_PF,
} from '@cherisim/kernel';
import { System, type SystemOptions } from '@cherisim/workers';
import test, { type ExecutionContext } from 'ava';

/* Run a program; afterwards every frame, object and shm object the processes held is free again. */
async function run(t: ExecutionContext, source: string, opts: SystemOptions = {}, entry = 'main') {
  const sys = new System({ physBytes: 8 * 1024 * 1024, ...opts });
  t.teardown(() => sys.shutdown());
  const before = sys.kernel.stats();
  const out = await sys.run({ filename: 'guest.ts', source }, entry);
  const after = sys.kernel.stats();
  t.is(after.framesUsed, before.framesUsed, 'frames released');
  t.is(after.objects, before.objects, 'VM objects released');
  t.is(after.shmObjects, 0, 'shm objects released');
  t.is(after.procs, before.procs, 'processes reaped');
  return out;
}

/* The two-process example of DESIGN.md: does a capability stored by the parent in a shared
   object reach a forked child that maps the object PROT_READ? (R13, R21, R22) */
const designExample = `
import { SHM_ANON, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_CAP, MAP_SHARED } from 'cherisim';
export function main(sys: any) {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_CAP, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, p);
  const pid = sys.fork('child', { fd });
  return sys.waitpid(pid).exitStatus;
}
export function child(sys: any, { fd }: { fd: number }) {
  const q = sys.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  sys.exit(sys.loadCap(q, 0).tag ? 1 : 0);
}
`;

const expectedTagCrossed: Record<Regime, number> = { 'cheribsd-dev': 1, 'cheribsd-strict': 0, pr2225: 0 };

for (const regime of REGIMES) {
  test(`DESIGN example in workers under ${regime}: the child ${expectedTagCrossed[regime] ? 'sees' : 'does not see'} the parent's tag`, async (t) => {
    const out = await run(t, designExample, { policy: { regime } });
    t.is(out.length, 2);
    const [parent, child] = out;
    t.is(child.ppid, parent.pid);
    t.true(child.exited);
    t.is(child.exitStatus, expectedTagCrossed[regime]);
    t.is(parent.exitStatus, expectedTagCrossed[regime]);
  });
}

test('R5: a capability store to a shared mapping without PROT_CAP kills the process with SIGSEGV/SEGV_STORETAG at the address', async (t) => {
  const out = await run(
    t,
    `import { SHM_ANON, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_SHARED } from 'cherisim';
     export function main(sys: any) {
       const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
       sys.ftruncate(fd, PAGE_SIZE);
       const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
       sys.storeCap(p, 32, p);
       return 0;
     }`,
  );
  t.is(out[0].termsig, SIGSEGV);
  t.is(out[0].siginfo?.si_code, SEGV_STORETAG);
  t.is(out[0].siginfo?.si_trapno, TRAPNO_STORE_CAP_PF);
  t.is((out[0].siginfo?.si_addr ?? 0) % 4096, 32, 'si_addr is the faulting address');
});

test('a bounds violation is a SIGPROT with PROT_CHERI_BOUNDS, and ends only that process', async (t) => {
  const out = await run(
    t,
    `import { PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE } from 'cherisim';
     export function main(sys: any) {
       const pid = sys.fork('bad', null);
       const w = sys.waitpid(pid);
       return w.termsig === ${SIGPROT} ? 42 : 1;
     }
     export function bad(sys: any) {
       const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0);
       const small = sys.setBounds(p, 16);
       sys.store(small, 16, 1, 7);
       return 0;
     }`,
  );
  const parent = out.find((o) => o.entry === 'main')!;
  const child = out.find((o) => o.pid !== parent.pid)!;
  t.is(child.termsig, SIGPROT);
  t.is(child.siginfo?.si_code, 1 /* PROT_CHERI_BOUNDS */);
  t.is(parent.exitStatus, 42);
});

test('an uncaught exception in guest code aborts that process with the reason, others go on', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const pid = sys.fork('boom', null);
       sys.waitpid(pid);
       return 3;
     }
     export function boom(sys: any) { throw new Error('kaboom'); }`,
  );
  const child = out.find((o) => o.entry !== 'main')!;
  t.is(child.termsig, SIGABRT);
  t.regex(child.reason ?? '', /kaboom/);
  t.is(out.find((o) => o.entry === 'main')!.exitStatus, 3);
});

test('the watchdog ends an endless loop and releases its process', async (t) => {
  const out = await run(t, `export function main(sys: any) { for (;;) {} }`, { watchdogMs: 300 });
  t.is(out[0].termsig, SIGKILL);
  t.regex(out[0].reason ?? '', /watchdog/);
});

test('threads share their process address space; thread_join returns what the thread returned', async (t) => {
  const out = await run(
    t,
    `import { PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE } from 'cherisim';
     export function main(sys: any) {
       const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0);
       const a = sys.thread_create('worker', { p, slot: 0 });
       const b = sys.thread_create('worker', { p, slot: 1 });
       const ra = sys.thread_join(a);
       const rb = sys.thread_join(b);
       const sum = sys.load(p, 0, 8) + sys.load(p, 8, 8);
       return ra === 1000 && rb === 1001 && sum === 2001 ? 7 : 1;
     }
     export function worker(sys: any, { p, slot }: any) {
       for (let i = 0; i <= 1000 + slot; i++) sys.store(p, slot * 8, 8, i);
       return 1000 + slot;
     }`,
  );
  t.is(out.length, 1);
  t.is(out[0].exitStatus, 7);
});

test('a fault in one thread ends its whole process, threads included', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const a = sys.thread_create('spin', null);
       sys.thread_create('crash', null);
       sys.thread_join(a);
       return 0;
     }
     export function spin(sys: any) { for (;;) sys.getpid(); }
     export function crash(sys: any) {
       const p = sys.mmap(null, 4096, 3, 0x1002, -1, 0);
       sys.load(sys.setBounds(p, 8), 8, 8);
     }`,
  );
  t.is(out[0].termsig, SIGPROT);
});

test('--trace writes NDJSON events: syscalls, the fork, capability stores into shared mappings, exits', async (t) => {
  const { mkdtempSync, readFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const file = join(mkdtempSync(join(tmpdir(), 'cherisim-trace-')), 'trace.ndjson');
  await run(t, designExample, { policy: { regime: 'cheribsd-dev' }, trace: file });
  const events = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  t.true(events.every((e) => typeof e.t === 'number' && typeof e.ev === 'string'));
  t.true(events.some((e) => e.ev === 'syscall' && e.name === 'mmap' && e.errno === 0));
  t.true(events.some((e) => e.ev === 'syscall' && e.name === 'fork'));
  const capStores = events.filter((e) => e.ev === 'cap-store-shared');
  t.is(capStores.length, 1);
  t.is(capStores[0].object, 'shm');
  t.is(events.filter((e) => e.ev === 'exit').length, 2);
});

test('thread_single stops every thread of a process at a safepoint; resume lets them go on', async (t) => {
  const { ProcHandle, vmMapLookupEntry } = await import('@cherisim/kernel');
  const sys = new System({ physBytes: 8 * 1024 * 1024 });
  t.teardown(() => sys.shutdown());
  const pid = sys.start({
    filename: 'count.ts',
    source: `import { PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE, MAP_FIXED } from 'cherisim';
      export function main(sys: any) {
        const p = sys.mmap(sys.setAddr(sys.mmap(null, PAGE_SIZE, 3, MAP_ANON | MAP_PRIVATE, -1, 0), 0x10000000),
          PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE | MAP_FIXED, -1, 0);
        sys.thread_create('count', { p, slot: 1 });
        count(sys, { p, slot: 0 });
      }
      export function count(sys: any, { p, slot }: any) { for (let i = 1; ; i++) sys.store(p, slot * 8, 8, i); }`,
  });
  const proc = new ProcHandle(sys.kernel, sys.kernel.procs.get(pid)!);
  const mapped = () => vmMapLookupEntry(proc.proc.vmspace!.map, 0x10000000) !== null;
  const counters = () => (mapped() ? [0, 8].map((off) => proc.load(0x10000000 + off, 8)) : [0, 0]);
  const deadline = Date.now() + 10_000;
  while (counters().some((c) => c < 1000) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  t.true(
    counters().every((c) => c >= 1000),
    'both threads are running',
  );
  await sys.threadSingle(pid);
  const frozen = counters();
  await new Promise((r) => setTimeout(r, 100));
  t.deepEqual(counters(), frozen, 'no thread runs while the world is stopped');
  sys.threadResume(pid);
  await new Promise((r) => setTimeout(r, 100));
  const later = counters();
  t.true(later[0] > frozen[0] && later[1] > frozen[1], 'both run again');
});

const storeToFreshPage = `
import { SHM_ANON, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_SHARED } from 'cherisim';
export function main(sys: any) {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  sys.storeCap(p, 16, p); /* the page's first access: not present AND no cap-store permission */
  const back = sys.loadCap(p, 16);
  return back.tag ? 1 : back.address === sys.address(p) ? 2 : 3;
}`;

test('R5 store-strip switch: a tagged store to a fresh page without cap-store permission lands untagged', async (t) => {
  const out = await run(t, storeToFreshPage, {
    policy: { regime: 'cheribsd-strict', storeCapFault: 'strip' },
  });
  t.is(out[0].exitStatus, 2, 'stored, with its bytes, without its tag');
  const faulted = await run(t, storeToFreshPage, { policy: { regime: 'cheribsd-strict' } });
  t.is(faulted[0].termsig, SIGSEGV);
});

test('read(2) on a socket answers the byte count', async (t) => {
  const out = await run(
    t,
    `import { AF_UNIX, SOCK_STREAM, PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE } from 'cherisim';
     export function main(sys: any) {
       const [a, b] = sys.socketpair(AF_UNIX, SOCK_STREAM, 0);
       const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0);
       sys.storeBytes(p, 0, [1, 2, 3, 4, 5]);
       sys.write(a, p, 5);
       const n = sys.read(b, sys.incOffset(p, 64), 16);
       return typeof n === 'number' ? n : 99;
     }`,
  );
  t.is(out[0].exitStatus, 5);
});
