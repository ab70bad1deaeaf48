/*
 * Random system-call sequences for the kernel property test.  Arguments are mostly
 * plausible (addresses inside existing mappings, small descriptors, common flag
 * combinations) with a share of garbage (NaN, negative, huge, wrong types).
 */
import {
  AF_UNIX,
  guestAccess,
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  type Kernel,
  MAP_ANON,
  MAP_EXCL,
  MAP_FIXED,
  MAP_PREFAULT_READ,
  MAP_PRIVATE,
  MAP_SHARED,
  MFD_SHARECAP,
  O_CREAT,
  O_EXCL,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_SHARECAP,
  O_TRUNC,
  PROT_CAP,
  PROT_MAX,
  PROT_NO_CAP,
  PROT_READ,
  PROT_WRITE,
  ProcessTerminated,
  SHM_ANON,
  SignalDelivered,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  syscall,
  VM_PROT_READ_CAP,
  VM_PROT_WRITE_CAP,
  vmMapLookupEntry,
  WNOHANG,
} from '@cherisim/kernel';
import fc from 'fast-check';
import { PAGE, sameBytes, tagged } from './kernel_boot.js';

const CAP = tagged(0x1000, 16);

export type Arg =
  | { k: 'region'; i: number; page: number; off: number }
  | { k: 'fd'; i: number }
  | { k: 'pid'; i: number }
  | { k: 'msg'; base: Arg; len: number; rights: number[] }
  | { k: 'v'; v: unknown };

export interface Step {
  proc: number;
  op: string;
  args: Arg[];
}

const garbage = fc.constantFrom<unknown>(
  Number.NaN,
  -1,
  -4096,
  2 ** 53,
  2 ** 48,
  0.5,
  'x',
  null,
  undefined,
  {},
  [],
);
const v = <T>(a: fc.Arbitrary<T>) =>
  fc.oneof(
    { weight: 9, arbitrary: a.map((x): Arg => ({ k: 'v', v: x })) },
    { weight: 1, arbitrary: garbage.map((x): Arg => ({ k: 'v', v: x })) },
  );
const RW = PROT_READ | PROT_WRITE;

const addr: fc.Arbitrary<Arg> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      k: fc.constant('region' as const),
      i: fc.nat(50),
      page: fc.nat(3),
      off: fc.constantFrom(0, 0, 16, 32, 4080, 7),
    }),
  },
  { weight: 1, arbitrary: v(fc.constantFrom(0, 0x10000, 0x20000000, 0x4000_0000)) },
  { weight: 1, arbitrary: v(fc.integer({ min: 0, max: 2 ** 48 })) },
);
const len = v(
  fc.oneof(
    fc.constantFrom(PAGE, 2 * PAGE, 3 * PAGE, 4 * PAGE, 1, 16, 100),
    fc.integer({ min: 0, max: 2 ** 40 }),
  ),
);
const prot = v(
  fc.oneof(
    fc.constantFrom(
      RW,
      RW | PROT_CAP,
      PROT_READ,
      RW | PROT_NO_CAP,
      PROT_MAX(RW | PROT_CAP) | RW | PROT_NO_CAP,
      0,
      PROT_CAP,
      PROT_MAX(PROT_READ) | RW,
    ),
    fc.integer({ min: 0, max: 0x1fffff }),
  ),
);
const mflags = v(
  fc.oneof(
    fc.constantFrom(
      MAP_ANON,
      MAP_ANON | MAP_PRIVATE,
      MAP_ANON | MAP_SHARED,
      MAP_SHARED,
      MAP_PRIVATE,
      MAP_PRIVATE | MAP_PREFAULT_READ,
      MAP_ANON | MAP_FIXED,
      MAP_SHARED | MAP_FIXED,
      MAP_ANON | MAP_FIXED | MAP_EXCL,
    ),
    fc.integer({ min: 0, max: 0x7ffff }),
  ),
);
const fd: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ k: fc.constant('fd' as const), i: fc.integer({ min: -1, max: 9 }) }) },
  { weight: 1, arbitrary: garbage.map((x): Arg => ({ k: 'v', v: x })) },
);
const off = v(fc.constantFrom(0, 0, PAGE, 1));
const small = (lo: number, hi: number) => v(fc.integer({ min: lo, max: hi }));
const path = v(fc.constantFrom('/a', '/b', '/dev/zero', 'rel', '', '/x/', '/c'));
const shmpath = v(fc.constantFrom<unknown>(SHM_ANON, SHM_ANON, '/s1', '/s2', 'bad', 2));
const oflags = v(
  fc.oneof(
    fc.constantFrom(
      O_RDWR,
      O_RDWR | O_CREAT,
      O_RDONLY,
      O_RDWR | O_CREAT | O_EXCL,
      O_RDWR | O_TRUNC,
      O_RDWR | O_CREAT | O_SHARECAP,
      O_RDWR | O_NONBLOCK,
    ),
    fc.integer({ min: 0, max: 0x3fffff }),
  ),
);
const pid: fc.Arbitrary<Arg> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('pid' as const), i: fc.nat(8) }) },
  { weight: 1, arbitrary: small(-2, 100) },
);
const msg: fc.Arbitrary<Arg> = fc.record({
  k: fc.constant('msg' as const),
  base: addr,
  len: fc.constantFrom(0, 1, 16, 100, 5000),
  rights: fc.array(fc.integer({ min: -1, max: 9 }), { maxLength: 3 }),
});

const OPS: Record<string, fc.Arbitrary<Arg>[]> = {
  mmap: [addr, len, prot, mflags, fd, off],
  munmap: [addr, len],
  mprotect: [addr, len, prot],
  minherit: [addr, len, small(-1, 4)],
  madvise: [addr, len, small(-1, 12)],
  mincore: [addr, len],
  msync: [addr, len, v(fc.constantFrom(0, 1, 2, 3, 8, 8, 10, 16))],
  shm_open: [shmpath, oflags, v(fc.constant(0o600))],
  shm_unlink: [shmpath],
  memfd_create: [v(fc.constant('m')), v(fc.constantFrom(0, 1, MFD_SHARECAP, 0x8))],
  ftruncate: [fd, v(fc.constantFrom(0, 1, PAGE, 3 * PAGE, 100, -1))],
  open: [path, oflags, v(fc.constant(0o644))],
  close: [fd],
  read: [fd, addr, v(fc.constantFrom(0, 1, 16, 100, 5000, -1))],
  write: [fd, addr, v(fc.constantFrom(0, 1, 16, 100, 5000, -1))],
  lseek: [fd, small(-10, PAGE * 2), small(-1, 3)],
  unlink: [path],
  shmget: [
    v(fc.constantFrom(IPC_PRIVATE, IPC_PRIVATE, 7, 8)),
    len,
    v(fc.constantFrom(IPC_CREAT | 0o600, 0, IPC_CREAT)),
  ],
  shmat: [small(0, 5), v(fc.constantFrom(0, 0, 1, 0x5000_0000)), small(0, 0o20000)],
  shmdt: [addr],
  shmctl: [small(0, 5), v(fc.constantFrom(IPC_RMID, 1))],
  pipe: [],
  socketpair: [
    v(fc.constantFrom(AF_UNIX, 2)),
    v(fc.constantFrom(SOCK_STREAM, SOCK_DGRAM, SOCK_DGRAM | SOCK_NONBLOCK, 9)),
    small(0, 1),
  ],
  sendmsg: [fd, msg, v(fc.constantFrom(0, 0x80, 0x20000))],
  recvmsg: [fd, msg, v(fc.constantFrom(0, 0x80))],
  fork: [],
  exit: [small(0, 3)],
  waitpid: [pid, v(fc.constantFrom(0, WNOHANG, 5))],
  getpid: [],
  kill: [pid, small(0, 36)],
  sigaction: [small(0, 36), v(fc.constantFrom<unknown>(0, 1, undefined, 7))],
  load: [addr],
  store: [addr],
  loadCap: [addr],
  storeCap: [addr],
  spawn: [],
  reap: [],
};
const WEIGHT: Record<string, number> = {
  mmap: 6,
  load: 4,
  store: 4,
  loadCap: 3,
  storeCap: 6,
  fork: 2,
  exit: 1,
  spawn: 1,
};

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  ...Object.entries(OPS).map(([op, args]) => ({
    weight: WEIGHT[op] ?? 2,
    arbitrary: fc.record({
      proc: fc.nat(7),
      op: fc.constant(op),
      args: fc.tuple(...args) as fc.Arbitrary<Arg[]>,
    }),
  })),
);

/* Runs steps against a kernel, tracking mapped regions for plausible addresses. */
export class FuzzDriver {
  readonly k: Kernel;
  readonly regions: number[] = [];
  errors = 0;
  steps = 0;

  constructor(k: Kernel) {
    this.k = k;
    for (let i = 0; i < 3; i++) k.spawn('fuzz');
  }

  live(): number[] {
    return [...this.k.procs.values()].filter((p) => p.state === 'run' && p.pid !== 1).map((p) => p.pid);
  }

  resolve(a: Arg, pids: number[]): unknown {
    switch (a.k) {
      case 'v':
        return a.v;
      case 'fd':
        return a.i;
      case 'pid':
        return pids.length === 0 ? 1 : pids[a.i % pids.length];
      case 'region':
        return this.regions.length === 0
          ? 0x20000000
          : this.regions[a.i % this.regions.length] + a.page * PAGE + a.off;
      case 'msg':
        return { iov: [{ base: this.resolve(a.base, pids), len: a.len }], rights: a.rights };
    }
  }

  run(step: Step): void {
    this.steps++;
    let pids = this.live();
    if (step.op === 'spawn' || pids.length === 0) {
      if (this.k.procs.size < 12) this.k.spawn('fuzz');
      return;
    }
    if (step.op === 'reap') {
      syscall(this.k, 1, 'waitpid', [-1, WNOHANG]);
      return;
    }
    if (step.op === 'fork' && this.k.procs.size >= 12) return;
    const pidNow = pids[step.proc % pids.length];
    const args = step.args.map((a) => this.resolve(a, pids));
    const td = this.k.procs.get(pidNow)!.td;
    if (step.op === 'load' || step.op === 'store' || step.op === 'loadCap' || step.op === 'storeCap') {
      const va =
        typeof args[0] === 'number' && Number.isInteger(args[0]) && args[0] >= 0 ? (args[0] as number) : 0;
      const a8 = va - (va % 8);
      const a16 = va - (va % 16);
      try {
        if (step.op === 'load') guestAccess(this.k, td, (cpu) => cpu.load(a8, 8));
        else if (step.op === 'store') guestAccess(this.k, td, (cpu) => cpu.store(a8, 8, 0x5a5a));
        else if (step.op === 'loadCap') guestAccess(this.k, td, (cpu) => cpu.loadCap(a16));
        else {
          const cap = CAP;
          guestAccess(this.k, td, (cpu) => cpu.storeCap(a16, cap), { va: a16, cap });
          /* oracle (R5, R6): the value reloads tagged iff the mapping has cap-store and cap-load */
          const e = vmMapLookupEntry(td.proc.vmspace!.map, a16);
          if (e === null)
            throw new Error(`storeCap at 0x${a16.toString(16)} succeeded outside every mapping`);
          const want = (e.protection & VM_PROT_WRITE_CAP) !== 0 && (e.protection & VM_PROT_READ_CAP) !== 0;
          const got = guestAccess(this.k, td, (cpu) => cpu.loadCap(a16));
          if (got.tag !== want)
            throw new Error(`storeCap/loadCap at 0x${a16.toString(16)}: tag ${got.tag}, want ${want}`);
          if (!sameBytes(got.bytes, cap.bytes)) throw new Error('storeCap/loadCap: bytes differ');
        }
      } catch (e) {
        if (!(e instanceof ProcessTerminated) && !(e instanceof SignalDelivered)) throw e;
      }
      return;
    }
    if (step.op === 'sigaction' && typeof args[1] === 'number' && args[1] === 7) args[1] = () => {};
    const e = syscall(this.k, pidNow, step.op, args);
    if (e !== 0) this.errors++;
    else if (step.op === 'mmap' || step.op === 'shmat') {
      this.regions.push(td.retval);
      if (this.regions.length > 64) this.regions.shift();
    }
    pids = this.live();
  }
}
