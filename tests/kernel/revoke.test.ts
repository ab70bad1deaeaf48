/*
 * Revocation (cheribsd-semantics.md §5, R40-R49; catalogue §7.2 #22, #23, #40; D6), on the
 * single-threaded kernel core.  Every closed epoch is followed by the independent checker.
 */
import {
  CHERI_REVOKE_EARLY_SYNC,
  CHERI_REVOKE_FORCE_LOAD_SIDE,
  CHERI_REVOKE_FORCE_STORE_SIDE,
  CHERI_REVOKE_IGNORE_START,
  CHERI_REVOKE_LAST_NO_EARLY,
  CHERI_REVOKE_LAST_PASS,
  CHERI_REVOKE_NO_WAIT_OK,
  CHERI_REVOKE_ONLY_IF_OPEN,
  CHERI_REVOKE_SHADOW_INFO_STRUCT,
  CHERI_REVOKE_SHADOW_NOVMMAP,
  CHERI_REVOKE_SHADOW_OTYPE,
  CHERI_REVOKE_ST_NONE,
  CHERI_REVOKE_ST_SS_INITED,
  CHERI_REVOKE_ST_SS_LAST,
  CHERI_REVOKE_TAKE_STATS,
  type CheriRevokeInfo,
  type CheriRevokeSyscallInfo,
  cheriRevokeEpochClears,
  cheriRevokeSysctlSet,
  ERESTART,
  MAP_ANON,
  MAP_PRIVATE,
  MAP_SHARED,
  MINCORE_CAPSTORE,
  MS_INVALIDATE,
  O_RDWR,
  O_SHARECAP,
  PROT_CAP,
  PROT_READ,
  PROT_WRITE,
  type ProcHandle,
  type Regime,
  revokeAbort,
  revokeBegin,
  revokeEnd,
  revokeWhileStopped,
  SHM_ANON,
  SysError,
  sysCheriRevoke,
  type Thread,
  trapPageFault,
  VM_CHERI_REVOKE_SHADOW_BASE,
  VM_PROT_CAP,
  vmMapLookupEntry,
} from '@cherisim/kernel';
import { CHERI_PERM_SW_VMEM, CHERI_PERMS_ALL } from '@cherisim/machine';
import test from 'ava';
import { bootKernel, PAGE } from '../_support/kernel_boot.js';
import {
  bitsCap,
  capBits,
  capTo,
  checkRevoked,
  isLive,
  isRevoked,
  paint,
  regsOf,
  shadowFor,
  snapshot,
} from '../_support/kernel_revoke.js';

const RW = PROT_READ | PROT_WRITE;
const LAST = CHERI_REVOKE_LAST_PASS;
const NO_VMEM = CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM;

const errno = (f: () => unknown): string => {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (e instanceof SysError) return e.code;
    throw e;
  }
};

function info(h: ProcHandle): CheriRevokeInfo {
  return h.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_INFO_STRUCT) as CheriRevokeInfo;
}

/* A process with `pages` of private anonymous memory and the shadow for it. */
function setup(regime: Regime = 'pr2225', pages = 1) {
  const b = bootKernel({ regime });
  const h = b.spawn('revoker');
  const mb = h.mmap(0, pages * PAGE, RW, MAP_ANON | MAP_PRIVATE);
  shadowFor(h, mb, pages * PAGE);
  return { b, h, mb };
}

function assertChecked(t: import('ava').ExecutionContext, h: ProcHandle, snap?: ReturnType<typeof snapshot>) {
  const r = checkRevoked(h, snap);
  t.deepEqual(r.violations, [], 'independent checker');
}

test('A-5/R43: cheri_revoke_epoch_clears table', (t) => {
  /* enqueued at an even (idle) epoch E: safe at E+2; at an odd (open) epoch E: safe at E+3 */
  const table: [number, number, boolean][] = [
    [0, 0, false],
    [1, 0, false],
    [2, 0, true],
    [3, 0, true],
    [1, 1, false],
    [2, 1, false],
    [3, 1, false],
    [4, 1, true],
    [4, 2, true],
    [3, 2, false],
    [5, 3, false],
    [6, 3, true],
    [2 ** 40 + 2, 2 ** 40, true],
    [2 ** 40 + 3, 2 ** 40 + 1, false],
  ];
  for (const [now, then, want] of table)
    t.is(cheriRevokeEpochClears(now, then), want, `clears(${now}, ${then})`);
});

test('R44: flag values', (t) => {
  t.deepEqual(
    [
      CHERI_REVOKE_LAST_PASS,
      CHERI_REVOKE_NO_WAIT_OK,
      CHERI_REVOKE_IGNORE_START,
      CHERI_REVOKE_ONLY_IF_OPEN,
      CHERI_REVOKE_LAST_NO_EARLY,
      CHERI_REVOKE_EARLY_SYNC,
      CHERI_REVOKE_FORCE_LOAD_SIDE,
      CHERI_REVOKE_FORCE_STORE_SIDE,
      CHERI_REVOKE_TAKE_STATS,
    ],
    [0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x1000],
  );
});

test('R44/R40: argument validation and errnos', (t) => {
  const { h, mb } = setup();
  t.is(
    errno(() => h.cheri_revoke(0x100, 0)),
    'EINVAL',
    'unknown flag',
  );
  t.is(
    errno(() => h.cheri_revoke(0x2000, 0)),
    'EINVAL',
    'ASYNC is not modelled',
  );
  t.is(
    errno(() => h.cheri_revoke(CHERI_REVOKE_FORCE_LOAD_SIDE | CHERI_REVOKE_FORCE_STORE_SIDE, 0)),
    'EINVAL',
    'both FORCE flags',
  );
  t.is(
    errno(() => h.cheri_revoke(LAST, -2)),
    'EINVAL',
    'negative start epoch',
  );
  t.is(
    errno(() => h.cheri_revoke(LAST, 1.5)),
    'EINVAL',
    'non-integer start epoch',
  );
  t.is(
    errno(() => h.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, mb + 16, 128)),
    'EINVAL',
    'start',
  );
  t.is(
    errno(() => h.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, mb, 100)),
    'EINVAL',
    'end',
  );
  t.is(
    errno(() => h.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, 2 ** 47, 128)),
    'EINVAL',
  );
  t.is(
    errno(() => h.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_OTYPE, mb, 128)),
    'EOPNOTSUPP',
  );
  t.is(
    errno(() => h.cheri_revoke_get_shadow(0x55, mb, 128)),
    'EINVAL',
  );
  const s = shadowFor(h, mb + 128, 256);
  t.is(s.base, VM_CHERI_REVOKE_SHADOW_BASE + (mb + 128) / 128);
  t.is(s.length, 2);
  /* the shadow region has no capability permissions (R48: never swept) */
  const e = vmMapLookupEntry(h.proc.vmspace!.map, s.base)!;
  t.is(e.maxProtection & VM_PROT_CAP, 0, 'data-only shadow');
});

test('R43: a fresh process starts at enqueue == dequeue == 0; TAKE_STATS reports counters', (t) => {
  const { h } = setup();
  t.deepEqual(info(h).epochs, { enqueue: 0, dequeue: 0 });
  const r = h.cheri_revoke(LAST | CHERI_REVOKE_TAKE_STATS, 0);
  t.deepEqual(r.epochs, { enqueue: 2, dequeue: 2 });
  t.truthy(r.stats);
  t.is(h.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START, 0).stats, null);
});

test('#22 cheri_revoke_lightly (memory and register; no kqueue: R14 not modelled)', (t) => {
  const { b, h, mb } = setup();
  const revme = capTo(mb, PAGE, mb, NO_VMEM);
  h.storeCap(mb + 16, revme);
  const regs = regsOf(h)[0];
  regs.set(7, bitsCap(revme));
  paint(h, mb, 16); /* granule 0 */
  const r = h.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START | CHERI_REVOKE_TAKE_STATS, 0);
  t.is(info(h).epochs.dequeue, r.epochs.dequeue, 'info page dequeue == returned dequeue');
  t.true(isRevoked(h.loadCap(mb + 16)), 'mb[1] revoked');
  t.true(isRevoked(capBits(regs.get(7))), 'register revoked');
  t.true(r.stats!.caps_cleared >= 1);
  t.true(r.stats!.regs_cleared >= 1);
  assertChecked(t, h);

  /* clear the bit, store a fresh cap derived as mb+1: non-LAST opens, LAST closes, nothing revoked */
  paint(h, mb, 16, false);
  const fresh = capTo(mb, PAGE, mb + 16, NO_VMEM);
  h.storeCap(mb + 16, fresh);
  regs.set(7, bitsCap(fresh));
  const open = h.cheri_revoke(0, info(h).epochs.enqueue);
  t.true(open.epochs.enqueue >= open.epochs.dequeue + 1, 'non-LAST: enqueue >= dequeue + 1');
  t.is(b.k.procs.get(h.pid)!.vmspace!.revoke.st, CHERI_REVOKE_ST_SS_INITED);
  const closed = h.cheri_revoke(LAST, open.epochs.enqueue);
  t.true(cheriRevokeEpochClears(closed.epochs.dequeue, open.epochs.enqueue) === false);
  t.true(isLive(h.loadCap(mb + 16)), 'mb[1] not revoked');
  t.true(isLive(capBits(regs.get(7))), 'register not revoked');
  assertChecked(t, h);

  /* LAST_PASS with a start epoch that has already cleared: fast out, nothing happens */
  const before = info(h).epochs;
  paint(h, mb, 16);
  const fast = h.cheri_revoke(LAST, 0);
  t.deepEqual(fast.epochs, before, 'epochs unchanged');
  t.true(isLive(h.loadCap(mb + 16)), 'nothing revoked by a fast out');
  b.check();
});

test('R43: epochs published by open and close (store-side)', (t) => {
  const { h } = setup();
  t.deepEqual(h.cheri_revoke(0, 0).epochs, { enqueue: 1, dequeue: 0 }, 'open: enqueue E+1, dequeue E');
  t.deepEqual(h.cheri_revoke(0, 0).epochs, { enqueue: 1, dequeue: 0 }, 'incremental');
  t.deepEqual(h.cheri_revoke(LAST, 1).epochs, { enqueue: 2, dequeue: 2 }, 'close');
  t.deepEqual(h.cheri_revoke(LAST, 1).epochs, { enqueue: 4, dequeue: 4 }, 'start 1 needs 4');
  t.deepEqual(h.cheri_revoke(LAST, 4).epochs, { enqueue: 6, dequeue: 6 });
  t.deepEqual(h.cheri_revoke(LAST, 4).epochs, { enqueue: 6, dequeue: 6 }, 'fast out');
  t.deepEqual(h.cheri_revoke(CHERI_REVOKE_ONLY_IF_OPEN | LAST, 6).epochs, { enqueue: 6, dequeue: 6 });
});

test('R40: revocation is keyed by the base, not the cursor', (t) => {
  const { h, mb } = setup();
  /* A: base in granule 1 (unpainted), cursor into granule 0 (painted) -> NOT revoked */
  const aMoved = capTo(mb + 16, 64, mb + 32);
  const aCur = capTo(mb + 16, 64, mb);
  /* B: base in granule 0 (painted), cursor far away in granule 3 -> revoked */
  const bCap = capTo(mb, 64, mb + 48);
  h.storeCap(mb + 256, aMoved);
  h.storeCap(mb + 272, aCur);
  h.storeCap(mb + 288, bCap);
  paint(h, mb, 16);
  h.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START, 0);
  t.true(isLive(h.loadCap(mb + 256)));
  t.true(isLive(h.loadCap(mb + 272)), 'cursor in a painted granule, base not painted: not revoked');
  t.true(isRevoked(h.loadCap(mb + 288)), 'base painted, cursor elsewhere: revoked');
  assertChecked(t, h);
});

test('R42: revoked value keeps the tag with no permissions by default; clearTags clears the tag', (t) => {
  for (const clearTags of [false, true]) {
    const { b, h, mb } = setup();
    cheriRevokeSysctlSet(b.k, { clearTags });
    const c = capTo(mb, 32);
    h.storeCap(mb + 64, c);
    paint(h, mb, 32);
    h.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START, 0);
    const got = h.loadCap(mb + 64);
    const gc = bitsCap(got);
    if (clearTags) {
      t.false(got.tag, 'tag cleared');
      t.deepEqual(got.bytes, c.bytes, 'bytes unchanged');
    } else {
      t.true(got.tag, 'tag kept');
      t.is(gc.perms, 0);
      t.false(gc.isSealed);
      t.is(gc.base, bitsCap(c).base, 'bounds unchanged');
      t.is(gc.cursor, bitsCap(c).cursor);
    }
    t.true(isRevoked(got));
    assertChecked(t, h);
  }
});

test('R33: revocation after fork copies the COW page; the other process keeps its view', (t) => {
  for (const invalidate of [false, true]) {
    const { b, h, mb } = setup('pr2225', 2);
    const c = capTo(mb + PAGE, 16);
    h.storeCap(mb + 32, c);
    h.storeCap(mb + 48, capTo(mb + PAGE + 64, 16)); /* unpainted neighbour on the same page */
    const child = h.fork();
    paint(h, mb + PAGE, 16);
    if (invalidate) h.msync(mb, PAGE, MS_INVALIDATE); /* dropped from the pmap: found via the object */
    const r = h.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START | CHERI_REVOKE_TAKE_STATS, 0);
    t.is(r.stats!.pages_faulted_rw, 1, 'one forced copy');
    t.true(isRevoked(h.loadCap(mb + 32)), 'parent: revoked');
    t.true(isLive(h.loadCap(mb + 48)), 'parent: unpainted neighbour live');
    t.true(isLive(child.loadCap(mb + 32)), "child's copy untouched");
    t.deepEqual(child.loadCap(mb + 32).bytes, c.bytes);
    t.deepEqual(info(child).epochs, { enqueue: 0, dequeue: 0 }, 'child epochs independent');
    assertChecked(t, h);
    /* the child has the parent's shadow as it was at fork (nothing painted): its pass revokes nothing */
    child.cheri_revoke(LAST, 0);
    t.true(isLive(child.loadCap(mb + 32)));
    /* now the child paints the same granule in its own shadow and revokes: parent unaffected */
    paint(child, mb + PAGE, 16);
    child.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START, 0);
    t.true(isRevoked(child.loadCap(mb + 32)));
    t.true(isLive(h.loadCap(mb + 48)));
    assertChecked(t, child);
    b.check();
  }
});

test('R48: a MAP_SHARED page is rewritten in place: the other process sees the revoked value', (t) => {
  const b = bootKernel({ regime: 'cheribsd-dev' });
  const h = b.spawn('p');
  const heap = h.mmap(0, PAGE, RW, MAP_ANON | MAP_PRIVATE);
  const sh = h.mmap(0, PAGE, RW | PROT_CAP, MAP_ANON | MAP_SHARED);
  shadowFor(h, heap, PAGE);
  h.storeCap(sh, capTo(heap, 16));
  const child = h.fork();
  t.true(isLive(child.loadCap(sh)));
  paint(h, heap, 16);
  h.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START, 0);
  t.true(isRevoked(h.loadCap(sh)));
  t.true(isRevoked(child.loadCap(sh)), 'the sharer sees the rewrite');
  assertChecked(t, h);
  b.check();
});

/* #40 cheri_revoke_shm_anon_hoard_unmapped, and D6 (PR2225) */
for (const regime of ['cheribsd-dev', 'cheribsd-strict', 'pr2225'] as Regime[]) {
  for (const shareCap of regime === 'pr2225' ? [false, true] : [false]) {
    const label = `${regime}${shareCap ? ' O_SHARECAP' : ''}`;
    const expect =
      regime !== 'pr2225' ? 'XFAIL (hoarded cap survives, R49)' : shareCap ? 'not swept' : 'revoked';
    test(`#40 cheri_revoke_shm_anon_hoard_unmapped / D6 under ${label}: ${expect}`, (t) => {
      const b = bootKernel({ regime });
      const h = b.spawn('p');
      const heap = h.mmap(0, PAGE, RW, MAP_ANON | MAP_PRIVATE);
      shadowFor(h, heap, PAGE);
      const fd = h.shm_open(SHM_ANON, O_RDWR | (shareCap ? O_SHARECAP : 0));
      h.ftruncate(fd, PAGE);
      let va = h.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
      const obj = capTo(heap + 32, 16); /* malloc(1) */
      h.storeCap(va, obj);
      h.storeCap(heap + 256, obj); /* the local copy */
      h.munmap(va, PAGE);
      paint(h, heap + 32, 16); /* free(): quarantined */
      h.cheri_revoke(LAST | CHERI_REVOKE_IGNORE_START, 0); /* quarantine flush */
      t.true(isRevoked(h.loadCap(heap + 256)), 'local copy revoked');
      assertChecked(t, h);
      va = h.mmap(0, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
      const hoarded = h.loadCap(va);
      if (regime === 'pr2225' && !shareCap) t.true(isRevoked(hoarded), 'PR2225: local object swept');
      else if (regime === 'pr2225') t.true(isLive(hoarded), 'O_SHARECAP objects are not swept');
      else t.true(isLive(hoarded), 'expected failure in DEV/STRICT: unmapped shm not revoked (R49)');
      b.check();
    });
  }
}

test('R45: concurrent callers wait (ERESTART), or return at once with NO_WAIT_OK', (t) => {
  const { b, h, mb } = setup();
  const k = b.k;
  const td = h.proc.td;
  const td2: Thread = { proc: h.proc, cpu: null, retval: 0, retobj: null, errCause: '', lastTrap: null };
  h.storeCap(mb + 16, capTo(mb, 16));
  paint(h, mb, 16);
  const s = h.proc.vmspace!.revoke;
  const begun = revokeBegin(k, td, LAST, 0);
  t.false(begun.done);
  if (begun.done) return;
  t.is(s.st, CHERI_REVOKE_ST_SS_LAST);
  t.is(sysCheriRevoke(k, td2, LAST, 0), ERESTART, 'second LAST caller sleeps');
  t.is(sysCheriRevoke(k, td2, 0, 0), ERESTART, 'second non-LAST caller sleeps');
  t.is(sysCheriRevoke(k, td2, LAST | CHERI_REVOKE_NO_WAIT_OK, 0), 0, 'NO_WAIT_OK returns at once');
  t.deepEqual((td2.retobj as CheriRevokeSyscallInfo).epochs, { enqueue: 2, dequeue: 0 });
  revokeWhileStopped(k, begun.pass, regsOf(h));
  t.is(revokeEnd(k, begun.pass), 0);
  t.deepEqual((td.retobj as CheriRevokeSyscallInfo).epochs, { enqueue: 2, dequeue: 2 });
  /* the woken caller re-evaluates: its epoch has cleared */
  t.is(sysCheriRevoke(k, td2, LAST, 0), 0);
  t.deepEqual((td2.retobj as CheriRevokeSyscallInfo).epochs, { enqueue: 2, dequeue: 2 });
  t.true(isRevoked(h.loadCap(mb + 16)));
  /* ONLY_IF_OPEN with nothing open does nothing */
  t.is(sysCheriRevoke(k, td2, LAST | CHERI_REVOKE_ONLY_IF_OPEN, 2), 0);
  t.is(s.epoch, 2);
  t.is(s.st, CHERI_REVOKE_ST_NONE);
  assertChecked(t, h);
});

test('R45: a failed world stop rolls back (ERESTART) and a retry completes', (t) => {
  const { b, h, mb } = setup();
  const k = b.k;
  h.storeCap(mb + 16, capTo(mb, 16));
  paint(h, mb, 16);
  const s = h.proc.vmspace!.revoke;
  const begun = revokeBegin(k, h.proc.td, LAST | CHERI_REVOKE_LAST_NO_EARLY, 0);
  if (begun.done) return t.fail('expected a world stop');
  t.is(revokeAbort(k, begun.pass), ERESTART);
  t.is(s.st, CHERI_REVOKE_ST_SS_INITED);
  t.is(s.epoch & 1, 1, 'epoch left open');
  const r = h.cheri_revoke(LAST, 0);
  t.deepEqual(r.epochs, { enqueue: 2, dequeue: 2 });
  t.true(isRevoked(h.loadCap(mb + 16)));
  assertChecked(t, h);
  /* load-side: rollback to NONE */
  const ls = revokeBegin(k, h.proc.td, LAST | CHERI_REVOKE_FORCE_LOAD_SIDE, 2);
  if (ls.done) return t.fail('expected a world stop');
  t.is(revokeAbort(k, ls.pass), ERESTART);
  t.is(s.st, CHERI_REVOKE_ST_NONE);
  t.deepEqual(info(h).epochs, { enqueue: 2, dequeue: 2 });
});

test("R43 [I]: fork copies the revocation state; the child can finish the parent's epoch", (t) => {
  const { b, h, mb } = setup();
  h.storeCap(mb + 16, capTo(mb, 16));
  paint(h, mb, 16);
  t.deepEqual(h.cheri_revoke(0, 0).epochs, { enqueue: 1, dequeue: 0 });
  const child = h.fork();
  t.deepEqual(info(child).epochs, { enqueue: 1, dequeue: 0 });
  t.deepEqual(child.cheri_revoke(LAST, 1).epochs, { enqueue: 2, dequeue: 2 });
  t.true(isRevoked(child.loadCap(mb + 16)), "the child's pass used the inherited shadow");
  assertChecked(t, child);
  t.deepEqual(info(h).epochs, { enqueue: 1, dequeue: 0 }, 'parent unchanged');
  const spawned = b.spawn('exec');
  t.deepEqual(info(spawned).epochs, { enqueue: 0, dequeue: 0 }, 'a fresh program starts at 0/0');
});

test('#23 cheri_revoke_loadside: page states and the load barrier', (t) => {
  const { h, mb } = setup('pr2225', 3);
  const L = CHERI_REVOKE_FORCE_LOAD_SIDE;
  const capstore = () => [...h.mincore(mb, 3 * PAGE)].map((v) => (v & MINCORE_CAPSTORE) !== 0);
  paint(h, mb, 16); /* granule 0 */
  const revme = capTo(mb, PAGE, mb, NO_VMEM);
  h.storeCap(mb + 16, revme);
  h.storeCap(mb + PAGE, capTo(mb + 2 * PAGE, 16));
  h.store(mb + PAGE, 8, 0);
  h.store(mb + PAGE + 8, 8, 0);
  t.deepEqual(capstore(), [true, true, false]);
  const open = h.cheri_revoke(L, 0); /* open, not LAST */
  t.is(open.epochs.dequeue + 1, open.epochs.enqueue);
  t.is(h.proc.vmspace!.revoke.st, 5 /* LS_INITED */);
  const loaded = h.loadCap(mb + 16); /* traps: the page is cleaned, the load completes revoked */
  t.true(isRevoked(loaded), 'load through a stale page returns the revoked value');
  t.deepEqual(capstore(), [true, true, false]);
  t.deepEqual(h.cheri_revoke(L, 0).epochs, open.epochs, 'incremental load-side call is a no-op');
  h.storeCap(mb + 32, loaded); /* store revme (now revoked) at mb[2] */
  const r1 = h.cheri_revoke(L | LAST, open.epochs.enqueue);
  t.deepEqual(r1.epochs, { enqueue: 2, dequeue: 2 });
  t.deepEqual(capstore(), [true, true, false]);
  assertChecked(t, h);
  h.storeCap(mb + 16, capTo(mb, PAGE, mb + 16, NO_VMEM)); /* fresh, derived as mb+1 */
  h.cheri_revoke(L | LAST | CHERI_REVOKE_IGNORE_START, 0);
  t.true(isRevoked(h.loadCap(mb + 16)));
  t.deepEqual(capstore(), [true, false, false], 'p0 CAPSTORE, p1 clean');
  assertChecked(t, h);
  h.cheri_revoke(L | LAST | CHERI_REVOKE_IGNORE_START, 0);
  t.deepEqual(capstore(), [false, false, false], 'another full pass: p0 and p1 clean');
});

test('R47: load-side opening revokes registers; fork during an open epoch; COW on the barrier', (t) => {
  const { b, h, mb } = setup('pr2225', 2);
  const c = capTo(mb + PAGE, 16);
  h.storeCap(mb, c);
  const regs = regsOf(h)[0];
  h.storeCap(mb + 16, capTo(mb + PAGE + 32, 16));
  regs.set(3, bitsCap(c));
  paint(h, mb + PAGE, 16);
  const r = h.cheri_revoke(CHERI_REVOKE_FORCE_LOAD_SIDE | CHERI_REVOKE_TAKE_STATS, 0);
  t.true(isRevoked(capBits(regs.get(3))), 'registers cleaned at open');
  t.is(r.stats!.pages_scan_rw, 0, 'no pages swept at open');
  const child = h.fork();
  t.true(isRevoked(child.loadCap(mb)), 'child: barrier in the inherited epoch, private copy revoked');
  t.true(isLive(child.loadCap(mb + 16)));
  const s = h.cheri_revoke(CHERI_REVOKE_TAKE_STATS, 0).stats!;
  t.is(s.fault_visits, 0, "the child's fault is the child's");
  /* the parent's page is still the shared original: its own barrier copies it */
  t.true(isRevoked(h.loadCap(mb)));
  t.is(h.cheri_revoke(CHERI_REVOKE_TAKE_STATS, 0).stats!.pages_faulted_rw, 1);
  h.cheri_revoke(LAST, 1);
  child.cheri_revoke(LAST, 1);
  assertChecked(t, h);
  assertChecked(t, child);
  b.check();
});

test('D6/R49 checker scope, and the checker can fail', (t) => {
  const { h, mb } = setup();
  const c = capTo(mb + 64, 16);
  h.storeCap(mb + 128, c);
  h.cheri_revoke(LAST, 0); /* nothing painted */
  t.true(checkRevoked(h).ok);
  paint(h, mb + 64, 16); /* painted after the pass: a live painted cap is left */
  const bad = checkRevoked(h);
  t.false(bad.ok);
  t.is(bad.violations[0].kind, 'painted-live');
  t.is(bad.violations[0].where, `va 0x${(mb + 128).toString(16)}`);
  paint(h, mb + 64, 16, false);
  /* an unpainted capability that ends up revoked */
  const d = capTo(mb + 512, 32);
  h.storeCap(mb + 256, d);
  const snap = snapshot(h);
  h.storeCap(mb + 256, capBits(bitsCap(capTo(mb + 512, 32, mb + 512, 0))));
  const bad2 = checkRevoked(h, snap);
  t.false(bad2.ok);
  t.is(bad2.violations[0].kind, 'unpainted-revoked');
  /* registers are checked too */
  const regs = regsOf(h)[0];
  regs.set(9, bitsCap(capTo(mb + 1024, 16)));
  paint(h, mb + 1024, 16);
  t.true(checkRevoked(h).violations.some((v) => v.where === 'regs[0] c9'));
});

test('R46: LAST_NO_EARLY and EARLY_SYNC are accepted; store-side stats count pages', (t) => {
  const { h, mb } = setup('pr2225', 4);
  for (let i = 0; i < 4; i++) h.storeCap(mb + i * PAGE, capTo(mb + i * 64, 16));
  paint(h, mb, 128);
  const r = h.cheri_revoke(
    LAST | CHERI_REVOKE_LAST_NO_EARLY | CHERI_REVOKE_FORCE_STORE_SIDE | CHERI_REVOKE_TAKE_STATS,
    0,
  );
  t.is(r.stats!.caps_cleared, 2);
  t.is(r.stats!.pages_scan_rw, 4);
  h.cheri_revoke(CHERI_REVOKE_EARLY_SYNC, 2);
  h.cheri_revoke(LAST, 2);
  for (let i = 0; i < 4; i++) t.is(isRevoked(h.loadCap(mb + i * PAGE)), i < 2);
  assertChecked(t, h);
});

test('R8/R47 page states under store-side: one step toward clean per epoch, live caps keep CAPSTORE', (t) => {
  const { h, mb } = setup('pr2225', 3);
  const S = CHERI_REVOKE_FORCE_STORE_SIDE | LAST | CHERI_REVOKE_IGNORE_START;
  const capstore = () => [...h.mincore(mb, 3 * PAGE)].map((v) => (v & MINCORE_CAPSTORE) !== 0);
  paint(h, mb, 16);
  h.storeCap(mb + 16, capTo(mb, PAGE, mb, NO_VMEM));
  h.storeCap(mb + PAGE, capTo(mb + 2 * PAGE, 16));
  h.store(mb + PAGE, 8, 0);
  h.store(mb + PAGE + 8, 8, 0);
  t.deepEqual(capstore(), [true, true, false]);
  h.cheri_revoke(S, 0);
  t.true(isRevoked(h.loadCap(mb + 16)));
  t.true(h.loadCap(mb + 16).tag, 'single-threaded core: tag-keeping revoked form');
  t.deepEqual(capstore(), [true, true, false], 'CAPDIRTY -> CAPSTORE (opening and final pass count once)');
  h.cheri_revoke(S, 0);
  t.deepEqual(capstore(), [false, false, false], 'CAPSTORE -> clean');
  h.storeCap(mb + 2 * PAGE, capTo(mb + 2 * PAGE + 64, 16));
  h.cheri_revoke(S, 0);
  h.cheri_revoke(S, 0);
  t.deepEqual(capstore(), [false, false, true], 'a page with a live capability stays CAPSTORE');
  assertChecked(t, h);
});

test("R47: the transport's path: phases with mutators assumed running, and the cap-load-gen trap", (t) => {
  const { b, h, mb } = setup();
  h.storeCap(mb + 16, capTo(mb, 16));
  paint(h, mb, 16);
  const begun = revokeBegin(b.k, h.proc.td, CHERI_REVOKE_FORCE_LOAD_SIDE, 0);
  if (begun.done) return t.fail('opening load-side needs the world stopped');
  revokeWhileStopped(b.k, begun.pass, regsOf(h));
  t.is(revokeEnd(b.k, begun.pass), 0);
  const fault = {
    name: 'PageFault',
    vaddr: mb + 16,
    access: 'cap-load' as const,
    cause: 'cap-load-gen' as const,
  };
  t.is(trapPageFault(b.k, h.proc.td, fault), 'retry');
  const got = h.loadCap(mb + 16);
  t.true(isRevoked(got));
  t.false(got.tag, 'a fault visit with other threads possibly running revokes by clearing the tag');
  t.is(h.cheri_revoke(CHERI_REVOKE_TAKE_STATS, 1).stats!.fault_visits, 1, 'the load did not trap again');
  h.cheri_revoke(LAST, 1);
  assertChecked(t, h);
});

test('R45: between the world stop and revokeEnd the pass stays busy for a second caller', (t) => {
  for (const side of [CHERI_REVOKE_FORCE_STORE_SIDE, CHERI_REVOKE_FORCE_LOAD_SIDE]) {
    const { b, h } = setup();
    const td2: Thread = { proc: h.proc, cpu: null, retval: 0, retobj: null, errCause: '', lastTrap: null };
    const begun = revokeBegin(b.k, h.proc.td, side | LAST, 0);
    if (begun.done) return t.fail('expected a world stop');
    revokeWhileStopped(b.k, begun.pass, regsOf(h));
    t.is(sysCheriRevoke(b.k, td2, LAST, 0), ERESTART, 'the world resumed, the first pass is not done');
    t.is(revokeEnd(b.k, begun.pass), 0);
    t.deepEqual((h.proc.td.retobj as CheriRevokeSyscallInfo).epochs, { enqueue: 2, dequeue: 2 });
    t.is(sysCheriRevoke(b.k, td2, LAST, 0), 0);
  }
});
