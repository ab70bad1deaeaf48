/*
 * The policy module as a table: every cell of cheribsd-semantics.md §2 (M1–M13) and the
 * §3 rules (R21–R27) under each regime, checked against expectations written out here by
 * hand (not read back from POLICY_TABLE).
 */
import {
  EACCES,
  EINVAL,
  ENOTSUP,
  forkCapMask,
  INHERIT_COPY,
  INHERIT_NONE,
  INHERIT_SHARE,
  INHERIT_ZERO,
  MFD_CLOEXEC,
  MFD_SHARECAP,
  makePolicy,
  memfdFlagsCheck,
  minheritDecision,
  mmapCapDecision,
  mprotectDecision,
  O_APPEND,
  O_CREAT,
  O_DIRECTORY,
  O_RDONLY,
  O_RDWR,
  O_SHARECAP,
  O_WRONLY,
  type ObjKind,
  type OwnerRelation,
  ownerRelation,
  PROT_CAP,
  PROT_EXEC,
  PROT_MAX,
  PROT_NO_CAP,
  PROT_READ,
  PROT_WRITE,
  protDecode,
  type Regime,
  shmOpenFlagsCheck,
  shmOwnerAfterOpen,
  sysvShareCap,
  VM_PROT_CAP,
  VM_PROT_READ,
  VM_PROT_READ_CAP,
  VM_PROT_WRITE,
  VM_PROT_WRITE_CAP,
} from '@cherisim/kernel';
import test from 'ava';

const RW = PROT_READ | PROT_WRITE;
const CAPS = VM_PROT_READ_CAP | VM_PROT_WRITE_CAP;
type Outcome = 'T' | 'F' | 'E';

/* [cell, kind, shared, DEV implied, DEV cap, STRICT implied, STRICT cap, PR2225 implied, PR2225 cap (owner)] */
const TABLE: [string, ObjKind, boolean, Outcome, Outcome, Outcome, Outcome, Outcome, Outcome][] = [
  ['M1', 'anon', false, 'T', 'T', 'T', 'T', 'T', 'T'],
  ['M2', 'anon', true, 'T', 'T', 'F', 'T', 'F', 'T'],
  ['M3', 'devzero', true, 'T', 'T', 'F', 'T', 'F', 'T'],
  ['M4', 'devzero', false, 'T', 'T', 'T', 'T', 'T', 'T'],
  ['M5', 'vnode', true, 'F', 'E', 'F', 'E', 'F', 'E'],
  ['M6', 'vnode', false, 'T', 'T', 'T', 'T', 'T', 'T'],
  ['M7/M8', 'shm', true, 'T', 'T', 'F', 'T', 'F', 'T'],
  ['M9', 'memfd', true, 'T', 'T', 'F', 'T', 'F', 'T'],
  ['M10', 'shm', false, 'T', 'T', 'T', 'T', 'T', 'T'],
  ['M10', 'memfd', false, 'T', 'T', 'T', 'T', 'T', 'T'],
  ['M13', 'sysv', true, 'F', 'F', 'F', 'F', 'T', 'T'],
];
const REG: [Regime, number][] = [
  ['cheribsd-dev', 3],
  ['cheribsd-strict', 5],
  ['pr2225', 7],
];

for (const row of TABLE) {
  const [cell, kind, shared] = row;
  for (const [regime, col] of REG) {
    for (const explicit of [false, true]) {
      const want = row[col + (explicit ? 1 : 0)] as Outcome;
      const rule = kind === 'vnode' ? 'R1' : regime === 'pr2225' && shared ? 'R21' : 'R2';
      test(`${rule}: ${cell} ${kind} ${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'} R|W${explicit ? '|PROT_CAP' : ''} under ${regime} is ${want}`, (t) => {
        const d = mmapCapDecision(makePolicy({ regime }), {
          kind,
          shared,
          prot: RW | (explicit ? PROT_CAP : 0),
          objShareCap: kind === 'sysv' && regime === 'pr2225',
          owner:
            kind === 'shm' || kind === 'memfd' ? (regime === 'pr2225' ? 'caller' : 'unbound') : 'unbound',
        });
        if (want === 'E') {
          t.is(d.error, EACCES);
          return;
        }
        t.is(d.error, 0);
        t.is(d.protection & VM_PROT_CAP, want === 'T' ? CAPS : 0);
        t.is(d.protection & (VM_PROT_READ | VM_PROT_WRITE), VM_PROT_READ | VM_PROT_WRITE);
        t.is(d.protection & ~d.maxProtection, 0);
      });
    }
  }
}

const owners: [OwnerRelation, number, string][] = [
  ['caller', 0, 'D1: the owner vmspace gets PROT_CAP'],
  ['other', EACCES, 'D3: a second vmspace is refused PROT_CAP'],
  ['orphan', EACCES, 'D7: nobody gets PROT_CAP once the owner is gone (none-may-cap)'],
];
for (const [owner, errno, title] of owners) {
  for (const kind of ['shm', 'memfd'] as const) {
    test(`R22: ${title} on a ${kind} MAP_SHARED mapping under pr2225`, (t) => {
      const d = mmapCapDecision(makePolicy(), {
        kind,
        shared: true,
        prot: RW | PROT_CAP,
        objShareCap: false,
        owner,
      });
      t.is(d.error, errno);
      if (errno === 0) t.is(d.protection & VM_PROT_CAP, CAPS);
    });
  }
}

test('R22: D4: a non-owner mapping without PROT_CAP gets no capability permissions', (t) => {
  const d = mmapCapDecision(makePolicy(), {
    kind: 'shm',
    shared: true,
    prot: PROT_READ,
    objShareCap: false,
    owner: 'other',
  });
  t.is(d.error, 0);
  t.is(d.protection & VM_PROT_CAP, 0);
  t.is(d.maxProtection & VM_PROT_CAP, 0);
});

test('R24: M11: an OBJ_SHARECAP shm object may be mapped with PROT_CAP from any vmspace', (t) => {
  const d = mmapCapDecision(makePolicy(), {
    kind: 'shm',
    shared: true,
    prot: RW | PROT_CAP,
    objShareCap: true,
    owner: 'other',
  });
  t.is(d.error, 0);
  t.is(d.protection & VM_PROT_CAP, CAPS);
});

test('R25: MAP_ANON|MAP_SHARED with PROT_CAP asks for an eager OBJ_SHARECAP object under pr2225 only', (t) => {
  for (const [regime, want] of [
    ['pr2225', true],
    ['cheribsd-strict', false],
    ['cheribsd-dev', false],
  ] as const) {
    const d = mmapCapDecision(makePolicy({ regime }), {
      kind: 'anon',
      shared: true,
      prot: RW | PROT_CAP,
      objShareCap: false,
      owner: 'unbound',
    });
    t.is(d.setShareCap, want, regime);
  }
  const noCap = mmapCapDecision(makePolicy(), {
    kind: 'anon',
    shared: true,
    prot: RW,
    objShareCap: false,
    owner: 'unbound',
  });
  t.false(noCap.setShareCap);
});

test('R26: SysV segments are OBJ_SHARECAP under pr2225 and not otherwise (M13)', (t) => {
  t.true(sysvShareCap(makePolicy()));
  t.false(sysvShareCap(makePolicy({ regime: 'cheribsd-dev' })));
  t.false(sysvShareCap(makePolicy({ regime: 'cheribsd-strict' })));
});

/* R3: the errno table of vm_mmap_diallowed_prot */
const R3: [string, number, number][] = [
  ['PROT_READ|PROT_WRITE|PROT_MAX(PROT_READ)', RW | PROT_MAX(PROT_READ), ENOTSUP],
  ['PROT_READ|PROT_CAP|PROT_MAX(PROT_READ)', PROT_READ | PROT_CAP | PROT_MAX(PROT_READ), ENOTSUP],
  ['PROT_CAP', PROT_CAP, ENOTSUP],
  ['PROT_MAX(PROT_CAP)', PROT_MAX(PROT_CAP), ENOTSUP],
  ['PROT_MAX(R|W|PROT_CAP)|R|W|PROT_NO_CAP', PROT_MAX(RW | PROT_CAP) | RW | PROT_NO_CAP, 0],
  ['PROT_CAP|PROT_NO_CAP', RW | PROT_CAP | PROT_NO_CAP, EINVAL],
  ['an unknown bit', RW | 0x100, EINVAL],
];
for (const [name, prot, errno] of R3) {
  test(`R3: prot ${name} gives ${errno === 0 ? 'success' : errno === ENOTSUP ? 'ENOTSUP' : 'EINVAL'}`, (t) => {
    t.is(protDecode(prot).error, errno);
    for (const regime of ['pr2225', 'cheribsd-strict', 'cheribsd-dev'] as const) {
      const d = mmapCapDecision(makePolicy({ regime }), {
        kind: 'anon',
        shared: false,
        prot,
        objShareCap: false,
        owner: 'unbound',
      });
      t.is(d.error, errno, regime);
      if (errno === 0) {
        t.is(d.protection & VM_PROT_CAP, 0, 'PROT_NO_CAP: no capability permission');
        t.is(d.maxProtection & VM_PROT_CAP, CAPS, 'PROT_MAX(PROT_CAP) keeps them in max');
      }
    }
  });
}

test('R4: mprotect PROT_NO_CAP drops capability permissions; plain R|W re-implies them iff max has them', (t) => {
  const prot = VM_PROT_READ | VM_PROT_WRITE | CAPS;
  const off = mprotectDecision(prot, prot, RW | PROT_NO_CAP);
  t.is(off.error, 0);
  t.is(off.protection & VM_PROT_CAP, 0);
  const back = mprotectDecision(off.protection, off.maxProtection, RW);
  t.is(back.protection & VM_PROT_CAP, CAPS);
  const noMax = mprotectDecision(VM_PROT_READ, VM_PROT_READ | VM_PROT_WRITE, RW);
  t.is(noMax.protection & VM_PROT_CAP, 0);
  t.is(mprotectDecision(VM_PROT_READ, VM_PROT_READ | VM_PROT_WRITE, RW | PROT_CAP).error, EACCES);
  t.is(mprotectDecision(VM_PROT_READ, VM_PROT_READ, RW).error, EACCES);
  t.is(mprotectDecision(prot, prot, PROT_EXEC | PROT_READ).error, EACCES);
});

test('R23: fork strips capability permissions from inherited owner-bound shared mappings under pr2225 only', (t) => {
  const pr = makePolicy();
  t.is(forkCapMask(pr, INHERIT_SHARE, { kind: 'shm', shareCap: false }) & VM_PROT_CAP, 0);
  t.is(forkCapMask(pr, INHERIT_SHARE, { kind: 'memfd', shareCap: false }) & VM_PROT_CAP, 0);
  t.is(
    forkCapMask(pr, INHERIT_SHARE, { kind: 'shm', shareCap: true }) & VM_PROT_CAP,
    VM_PROT_CAP,
    'O_SHARECAP keeps',
  );
  t.is(
    forkCapMask(pr, INHERIT_SHARE, { kind: 'anon', shareCap: true }) & VM_PROT_CAP,
    VM_PROT_CAP,
    'R25 keeps',
  );
  t.is(
    forkCapMask(pr, INHERIT_COPY, { kind: 'shm', shareCap: false }) & VM_PROT_CAP,
    VM_PROT_CAP,
    'COW copies',
  );
  for (const regime of ['cheribsd-dev', 'cheribsd-strict'] as const)
    t.is(
      forkCapMask(makePolicy({ regime }), INHERIT_SHARE, { kind: 'shm', shareCap: false }) & VM_PROT_CAP,
      VM_PROT_CAP,
    );
});

test('R27: minherit INHERIT_SHARE on a capability-bearing entry is refused under pr2225; no-ops and SHARECAP pass', (t) => {
  const pr = makePolicy();
  const capEntry = {
    inheritance: INHERIT_COPY,
    protection: VM_PROT_READ | CAPS,
    maxProtection: VM_PROT_READ | CAPS,
  };
  const plain = { inheritance: INHERIT_COPY, protection: VM_PROT_READ, maxProtection: VM_PROT_READ };
  t.is(minheritDecision(pr, capEntry, false, INHERIT_SHARE).error, EACCES);
  t.is(minheritDecision(pr, capEntry, true, INHERIT_SHARE).error, 0);
  t.is(minheritDecision(pr, plain, false, INHERIT_SHARE).error, 0);
  t.is(minheritDecision(pr, capEntry, false, INHERIT_COPY).error, 0, 'no-op');
  t.is(minheritDecision(pr, capEntry, false, INHERIT_NONE).error, 0);
  t.is(minheritDecision(pr, capEntry, false, INHERIT_ZERO).error, 0);
});

test('R34: minherit INHERIT_SHARE and INHERIT_NONE both succeed on a private anon mapping in DEV', (t) => {
  const dev = makePolicy({ regime: 'cheribsd-dev' });
  const capEntry = {
    inheritance: INHERIT_COPY,
    protection: VM_PROT_READ | CAPS,
    maxProtection: VM_PROT_READ | CAPS,
  };
  t.is(minheritDecision(dev, capEntry, false, INHERIT_SHARE).error, 0);
  t.is(minheritDecision(dev, capEntry, false, INHERIT_NONE).error, 0);
});

test('R24: shm_open flags are checked against an allow-list; O_SHARECAP exists only under pr2225', (t) => {
  const pr = makePolicy();
  const dev = makePolicy({ regime: 'cheribsd-dev' });
  t.is(shmOpenFlagsCheck(pr, O_RDWR | O_CREAT | O_SHARECAP, false).error, 0);
  t.is(shmOpenFlagsCheck(dev, O_RDWR | O_CREAT | O_SHARECAP, false).error, EINVAL);
  t.is(shmOpenFlagsCheck(pr, O_RDWR | O_APPEND, false).error, EINVAL);
  t.is(shmOpenFlagsCheck(pr, O_WRONLY, false).error, EINVAL);
  t.is(shmOpenFlagsCheck(pr, O_RDONLY, true).error, EINVAL, 'SHM_ANON needs O_RDWR');
  t.is(O_SHARECAP, O_DIRECTORY, 'O_SHARECAP reuses a value meaningless for shm');
  t.is(memfdFlagsCheck(pr, MFD_CLOEXEC | MFD_SHARECAP).error, 0);
  t.is(memfdFlagsCheck(dev, MFD_SHARECAP).error, EINVAL);
});

test('R22: the creator owns; a later opener does not; an orphan goes to the next opener only under that policy', (t) => {
  const none = makePolicy();
  const next = makePolicy({ orphanPolicy: 'next-opener-becomes-owner' });
  t.is(shmOwnerAfterOpen(none, { owner: 0, ownerAlive: false }, 7, true), 7);
  t.is(shmOwnerAfterOpen(none, { owner: 7, ownerAlive: true }, 8, false), 7);
  t.is(shmOwnerAfterOpen(none, { owner: 7, ownerAlive: false }, 8, false), 7);
  t.is(shmOwnerAfterOpen(next, { owner: 7, ownerAlive: false }, 8, false), 8);
  t.is(shmOwnerAfterOpen(next, { owner: 7, ownerAlive: true }, 8, false), 7);
  t.is(ownerRelation(none, { owner: 7, ownerAlive: true }, 7), 'caller');
  t.is(ownerRelation(none, { owner: 7, ownerAlive: true }, 8), 'other');
  t.is(ownerRelation(none, { owner: 7, ownerAlive: false }, 8), 'orphan');
  t.is(ownerRelation(makePolicy({ regime: 'cheribsd-dev' }), { owner: 7, ownerAlive: true }, 8), 'unbound');
});

test('makePolicy rejects unknown regimes and switches', (t) => {
  t.throws(() => makePolicy({ regime: 'nope' as Regime }));
  t.throws(() => makePolicy({ storeCapFault: 'x' as 'fault' }));
  t.throws(() => makePolicy({ orphanPolicy: 'x' as 'none-may-cap' }));
});

test('R22: with nonOwnerCap map-without-cap a non-owner PROT_CAP request maps without capability permissions', (t) => {
  const d = mmapCapDecision(makePolicy({ nonOwnerCap: 'map-without-cap' }), {
    kind: 'shm',
    shared: true,
    prot: RW | PROT_CAP,
    objShareCap: false,
    owner: 'other',
  });
  t.is(d.error, 0);
  t.is(d.protection & VM_PROT_CAP, 0);
  t.is(d.maxProtection & VM_PROT_CAP, 0);
  t.throws(() => makePolicy({ nonOwnerCap: 'x' as 'refuse' }));
});
