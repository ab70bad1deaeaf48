/*
 * #26 cheri_revoke_lib and #27 cheri_revoke_lib_fork (catalogue §7.2, §6 fixture sizes):
 * 4096 self-referential 16-byte capabilities; repeatedly paint a random chunk (1-1024 caps),
 * revoke (once = LAST_PASS; split = open, then LAST_PASS), and check with paranoia 2 that
 * every capability in the chunk is revoked and none outside; then clear the shadow and
 * restore.  Store-side and load-side, through the single-threaded driver and through the
 * transport's phase API (mutators assumed running: tag-clearing sweeps).  The independent
 * checker runs after every closed epoch, with a snapshot taken before the pass.
 * Seed: CHERISIM_REVOKE_SEED (default 1337, as the upstream test).
 */
import {
  CHERI_REVOKE_FORCE_LOAD_SIDE,
  CHERI_REVOKE_FORCE_STORE_SIDE,
  CHERI_REVOKE_IGNORE_START,
  CHERI_REVOKE_LAST_PASS,
  type CheriRevokeSyscallInfo,
  MAP_ANON,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  type ProcHandle,
  revokeBegin,
  revokeEnd,
  revokeWhileStopped,
  SysError,
  sysCheriRevoke,
} from '@cherisim/kernel';
import { CHERI_PERM_SW_VMEM, CHERI_PERMS_ALL } from '@cherisim/machine';
import test, { type ExecutionContext } from 'ava';
import { bootKernel, PAGE } from '../_support/kernel_boot.js';
import {
  capTo,
  checkRevoked,
  isLive,
  isRevoked,
  paint,
  regsOf,
  rng,
  shadowFor,
  snapshot,
} from '../_support/kernel_revoke.js';

const SEED = Number(process.env.CHERISIM_REVOKE_SEED ?? 1337);
const NCAPS = 4096;
const ITERS = 6;
const PERMS = CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM;

type Side = 'store' | 'load';
type Mode = 'once' | 'split';
type Driver = 'core' | 'phases';

function revoke(h: ProcHandle, driver: Driver, flags: number, start: number): CheriRevokeSyscallInfo {
  const td = h.proc.td;
  let e: number;
  if (driver === 'core') e = sysCheriRevoke(h.k, td, flags, start);
  else {
    const b = revokeBegin(h.k, td, flags, start);
    if (b.done) e = b.errno;
    else {
      revokeWhileStopped(h.k, b.pass, regsOf(h));
      e = revokeEnd(h.k, b.pass);
    }
  }
  if (e !== 0) throw new SysError(e, 'cheri_revoke');
  return td.retobj as CheriRevokeSyscallInfo;
}

function fill(h: ProcHandle, block: number, from = 0, to = NCAPS): void {
  for (let i = from; i < to; i++)
    h.storeCap(block + 16 * i, capTo(block + 16 * i, 16, block + 16 * i, PERMS));
}

/* paranoia 2: every capability, inside the chunk revoked, outside live */
function verify(
  t: ExecutionContext,
  h: ProcHandle,
  block: number,
  a: number,
  n: number,
  what: string,
): boolean {
  let bad = 0;
  for (let i = 0; i < NCAPS; i++) {
    const c = h.loadCap(block + 16 * i);
    const inChunk = i >= a && i < a + n;
    if (inChunk ? !isRevoked(c) : !isLive(c)) bad++;
  }
  t.is(bad, 0, `${what}: chunk [${a}, ${a + n})`);
  return bad === 0;
}

function runLib(
  t: ExecutionContext,
  h: ProcHandle,
  block: number,
  side: Side,
  mode: Mode,
  driver: Driver,
  rand: () => number,
): void {
  const force = side === 'load' ? CHERI_REVOKE_FORCE_LOAD_SIDE : CHERI_REVOKE_FORCE_STORE_SIDE;
  for (let it = 0; it < ITERS; it++) {
    const n = 1 + Math.floor(rand() * 1024);
    const a = Math.floor(rand() * (NCAPS - n + 1));
    paint(h, block + 16 * a, 16 * n);
    const snap = snapshot(h);
    if (mode === 'once') revoke(h, driver, force | CHERI_REVOKE_LAST_PASS | CHERI_REVOKE_IGNORE_START, 0);
    else {
      const open = revoke(h, driver, force | CHERI_REVOKE_IGNORE_START, 0);
      t.true(open.epochs.enqueue >= open.epochs.dequeue + 1);
      if (side === 'load') verify(t, h, block, a, n, `${side}/${mode}/${driver} through the barrier`);
      const closed = revoke(h, driver, force | CHERI_REVOKE_LAST_PASS, open.epochs.enqueue);
      t.is(closed.epochs.dequeue, closed.epochs.enqueue);
      t.is(closed.epochs.dequeue & 1, 0);
    }
    const report = checkRevoked(h, snap);
    t.deepEqual(report.violations, [], `checker after ${side}/${mode}/${driver} iteration ${it}`);
    if (!verify(t, h, block, a, n, `${side}/${mode}/${driver} iteration ${it}`)) return;
    paint(h, block + 16 * a, 16 * n, false);
    fill(h, block, a, a + n);
  }
}

function boot() {
  const b = bootKernel({}, 32);
  const h = b.spawn('lib');
  const block = h.mmap(0, NCAPS * 16, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE);
  shadowFor(h, block, NCAPS * 16);
  fill(h, block);
  return { b, h, block };
}

for (const side of ['store', 'load'] as Side[])
  for (const mode of ['once', 'split'] as Mode[])
    for (const driver of ['core', 'phases'] as Driver[])
      test(`#26 cheri_revoke_lib ${side}-side ${mode} (${driver}, seed ${SEED})`, (t) => {
        const { b, h, block } = boot();
        const salt = (side === 'load' ? 1 : 0) + (mode === 'split' ? 2 : 0) + (driver === 'phases' ? 4 : 0);
        runLib(t, h, block, side, mode, driver, rng(SEED + salt));
        b.check();
      });

test(`#27 cheri_revoke_lib_fork: the child revokes in both modes; the parent's copy is untouched (seed ${SEED})`, (t) => {
  const { b, h, block } = boot();
  const child = h.fork();
  const rand = rng(SEED + 100);
  runLib(t, child, block, 'store', 'once', 'core', rand);
  runLib(t, child, block, 'load', 'split', 'core', rand);
  let live = 0;
  for (let i = 0; i < NCAPS; i++) if (isLive(h.loadCap(block + 16 * i))) live++;
  t.is(live, NCAPS, 'parent: every capability live');
  t.deepEqual(checkRevoked(h).violations, []);
  b.check();
});

test('R47: pages faulted in during an open load-side epoch are entered stale (page-out and back)', (t) => {
  const { b, h, block } = boot();
  paint(h, block, 16 * 8);
  revoke(h, 'core', CHERI_REVOKE_FORCE_LOAD_SIDE | CHERI_REVOKE_IGNORE_START, 0);
  h.msync(block, PAGE, 0x8 /* MS_PAGEOUT */);
  h.madvise(block + PAGE, PAGE, 4 /* MADV_DONTNEED */);
  for (let i = 0; i < 8; i++) t.true(isRevoked(h.loadCap(block + 16 * i)), `cap ${i}`);
  t.true(isLive(h.loadCap(block + PAGE)));
  revoke(h, 'core', CHERI_REVOKE_LAST_PASS, 1);
  t.deepEqual(checkRevoked(h).violations, []);
  b.check();
});
