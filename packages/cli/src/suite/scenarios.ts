/*
 * The acceptance suite's guest programs: one REAL guest program per modelled test of the
 * catalogue (cheribsd-semantics.md §7), run by run_suite.ts in a fresh System per test × regime.
 * What each program is EXPECTED to do in each regime is not here: it is data, in
 * expectations.ts.  This file only says what the program does and how it reports.
 *
 * Every program is PRELUDE + the test's body + HARNESS.  The body is `test(sys, variant)`
 * (plus any exported entries its own children start at); `variant` is the form of the test a
 * regime's source of truth runs (e.g. 'prot-cap' where cheriostest asks for PROT_CAP and
 * cheribsdtest does not), chosen by the expectation, never by the program.
 *
 * Harness (cheribsdtest's, S-THDR): the test body runs in a child process (entry `body`); a
 * capability fault kills it and the parent (entry `main`) checks si_addr against the address
 * the body declared with ctSiAddr() before faulting (CT_FLAG_SI_ADDR; the catalogue's tests
 * declare the mapping base).  The body sends that address over a pipe.  The parent's exit
 * status is the si_addr verdict (SI_ADDR_*); the signal, si_code and si_trapno are read from
 * the body's own outcome.  When a cell's expectation checks no si_addr the body runs directly
 * as the first process (entry `main`), which saves a process per cell.
 *
 * Exit status of a body:
 *   0            success (cheribsdtest_success)
 *   1..99        a failure, by code (FAILURES below; cheribsdtest_failure_errx)
 *   100 + errno  a call under test was refused (REFUSED): the errno is the outcome
 *   a signal     the fault is the outcome; an uncaught exception is SIGABRT with its reason
 */

export const REFUSED = 100;
export const SI_ADDR_NONE = 0; /* the body declared no expected si_addr */
export const SI_ADDR_MATCH = 10; /* killed by a signal whose si_addr is the declared address */
export const SI_ADDR_MISMATCH = 11; /* killed by a signal, si_addr elsewhere */
export const SI_ADDR_NO_SIGNAL = 12; /* declared, but the body was not killed by a signal */

/* Failure codes of a body, and what each means. */
export const FAILURES = {
  TAG_LOST: 1,
  TAG_SURVIVED: 2,
  BYTES_DIFFER: 3,
  CALL_SUCCEEDED: 4,
  ERRNO_DIFFER: 5,
  CHILD_SETUP: 7,
  SHORT_IO: 8,
  STILL_IN_CORE: 9,
  SWAP_MISMATCH: 10,
  NOT_EPROT: 11,
  NO_FAULT: 12,
  NOTHING_ARRIVED: 13,
  MINCORE_FRESH: 20,
  MINCORE_DATA: 21,
  MINCORE_CAP: 22,
  NOT_REVOKED: 30,
  WRONGLY_REVOKED: 31,
  EPOCHS: 32,
  PAGE_STATE: 33,
  SETUP: 70,
} as const;
export type FailureName = keyof typeof FAILURES;

export const FAILURE_TEXT: Readonly<Record<number, string>> = {
  1: 'the reloaded capability is untagged',
  2: 'the capability arrived tagged (tag transfer succeeded)',
  3: 'the bytes differ from the stored capability',
  4: 'a call that must fail succeeded',
  5: 'the calls failed with different errnos',
  7: 'a child process failed in setup',
  8: 'short read or write',
  9: 'pages still in core after msync(MS_PAGEOUT)',
  10: 'slots changed across pageout (tag, bytes, bounds, seal or perms)',
  11: 'minherit with a bad capability did not fail with EPROT',
  12: 'the capability store did not fault',
  13: 'nothing arrived (the bytes are zero)',
  20: 'mincore: fresh zero-fill pages do not report 0',
  21: 'mincore: after a data write the page is not MODIFIED, or is CAPSTORE',
  22: 'mincore: after a capability store the page is not MODIFIED|CAPSTORE',
  30: 'a capability whose base is painted survived the revocation',
  31: 'a capability whose base is not painted was revoked',
  32: 'the epoch counters are not as R43 says',
  33: 'mincore CAPSTORE page states are not as the catalogue says',
  70: 'setup error (EX_SOFTWARE)',
};

const PRELUDE = `
import {
  AF_UNIX, INHERIT_NONE, INHERIT_SHARE, MAP_ANON, MAP_PREFAULT_READ, MAP_PRIVATE, MAP_SHARED,
  MINCORE_CAPSTORE, MINCORE_INCORE, MINCORE_MODIFIED, MS_PAGEOUT, O_CREAT, O_EXCL, O_RDWR,
  O_SHARECAP, PAGE_SIZE, PROT_CAP, PROT_EXEC, PROT_NO_CAP, PROT_READ, PROT_WRITE, SHM_ANON,
  SOCK_DGRAM, SOCK_STREAM, EPROT, CHERI_PERM_LOAD, CHERI_PERM_STORE, CHERI_PERM_SW_VMEM, CHERI_PERMS_ALL,
  CHERI_REVOKE_LAST_PASS, CHERI_REVOKE_IGNORE_START, CHERI_REVOKE_TAKE_STATS, CHERI_REVOKE_SHADOW_NOVMMAP,
  CHERI_REVOKE_SHADOW_INFO_STRUCT, CHERI_REVOKE_FORCE_LOAD_SIDE, CHERI_REVOKE_ASYNC,
} from 'cherisim';

const PAGE = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const PROT_MAX = (p: number) => p << 16;
const REFUSED = ${REFUSED};
const F = ${JSON.stringify(FAILURES)};

let CT_W = -1; /* the harness pipe, or -1 */
let SCRATCH: any = null;

/* a private anonymous page: holds tags in every regime (M1) */
function page(sys: any, n = 1): any {
  return sys.mmap(null, n * PAGE, RW | PROT_CAP, MAP_ANON | MAP_PRIVATE, -1, 0);
}
/* "a capability to a local variable": this process's scratch page */
function local(sys: any): any {
  if (SCRATCH === null) SCRATCH = page(sys);
  return SCRATCH;
}
/* cheribsdtest_set_expected_si_addr: tell the harness where a fault must be (CT_FLAG_SI_ADDR) */
function ctSiAddr(sys: any, c: any): void {
  if (CT_W < 0) return;
  const b = sys.incOffset(local(sys), 2048);
  const a = sys.address(c);
  sys.store(b, 0, 4, a % 0x100000000);
  sys.store(b, 4, 4, Math.floor(a / 0x100000000));
  sys.write(CT_W, b, 8);
}
/* the call under test: a refusal ends the body with REFUSED + errno (any other failing call is an
   uncaught exception: SIGABRT, with the call and errno in the reason) */
function checked(sys: any, fn: () => any): any {
  try {
    return fn();
  } catch (e: any) {
    if (typeof e?.errno === 'number' && e.errno > 0 && e.errno < 155) sys.exit(REFUSED + e.errno);
    throw e;
  }
}
function sameBytes(sys: any, a: any, aoff: number, b: any, boff: number, n: number): boolean {
  for (let i = 0; i < n; i += 4) if (sys.load(a, aoff + i, 4) !== sys.load(b, boff + i, 4)) return false;
  return true;
}
/* R42's check_revoked: the tag is clear, or the value is unsealed with no permissions */
function revoked(c: any): boolean {
  return !c.tag || (c.perms === 0 && !c.sealed);
}
/* set (or clear) the shadow bits of granules [first, first + n) of the arena the shadow covers */
function paint(sys: any, shadow: any, first: number, n: number, on: boolean): void {
  for (let g = first; g < first + n; g++) {
    const byte = Math.floor(g / 8);
    const old = sys.load(shadow, byte, 1);
    sys.store(shadow, byte, 1, on ? old | (1 << g % 8) : old & ~(1 << g % 8));
  }
}
/* cheri_revoke_lib (#26): self-referential 16-byte capabilities without VMEM, random chunks
   painted and revoked (once: LAST_PASS; split: open, then LAST_PASS), paranoia level 2 */
function revokeLib(sys: any, arena: any, shadow: any, n: number, rounds: number, seed: number): number {
  const plant = (i: number) => {
    const at = sys.incOffset(arena, 16 * i);
    const bounded = sys.setBounds(at, 16);
    const c = sys.andPerms(bounded, CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM);
    sys.storeCap(arena, 16 * i, c);
    for (const h of [at, bounded, c]) sys.release(h);
  };
  for (let i = 0; i < n; i++) plant(i);
  let x = seed >>> 0 || 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let round = 0; round < rounds; round++) {
    const len = 1 + (next() % Math.min(1024, n - 1));
    const start = next() % (n - len);
    paint(sys, shadow, start, len, true);
    if (round % 2 === 0) sys.cheri_revoke(CHERI_REVOKE_LAST_PASS | CHERI_REVOKE_IGNORE_START, 0);
    else {
      const open = sys.cheri_revoke(CHERI_REVOKE_IGNORE_START, 0);
      sys.cheri_revoke(CHERI_REVOKE_LAST_PASS, open.epochs.enqueue);
    }
    for (let i = 0; i < n; i++) {
      const c = sys.loadCap(arena, 16 * i);
      const gone = revoked(c);
      sys.release(c);
      const inChunk = i >= start && i < start + len;
      if (inChunk && !gone) return F.NOT_REVOKED;
      if (!inChunk && gone) return F.WRONGLY_REVOKED;
    }
    paint(sys, shadow, start, len, false);
    for (let i = start; i < start + len; i++) plant(i);
  }
  return 0;
}
/* #24/#25: an ASYNC revocation returns with the epoch open; polls re-issuing ASYNC see it close */
function revokeAsync(sys: any): number {
  const mb = page(sys);
  sys.storeCap(mb, 16, sys.andPerms(mb, CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM));
  paint(sys, sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, mb), 0, 1, true);
  const r = sys.cheri_revoke(CHERI_REVOKE_ASYNC | CHERI_REVOKE_IGNORE_START, 0);
  /* the info page says the same, unless the background pass has already moved it on (it runs
     on the kernel's event loop right away; CheriBSD's revoker process is usually slower) */
  const info = sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_INFO_STRUCT);
  if (info.epochs.enqueue < r.epochs.enqueue || info.epochs.dequeue < r.epochs.dequeue) return F.EPOCHS;
  if (r.epochs.enqueue !== r.epochs.dequeue + 1) return F.EPOCHS;
  const start = r.epochs.dequeue;
  let e = r.epochs;
  for (let polls = 0; e.dequeue < start + (start & 1) + 2; polls++) {
    if (polls > 1_000_000) return F.EPOCHS;
    e = sys.cheri_revoke(CHERI_REVOKE_ASYNC, start).epochs;
  }
  if (e.enqueue !== e.dequeue || e.dequeue !== start + 2) return F.EPOCHS;
  return revoked(sys.loadCap(mb, 16)) ? 0 : F.NOT_REVOKED;
}
/* #40: a capability to freed memory hoarded in an shm object that is not mapped during the pass */
function hoardUnmapped(sys: any, fd: number): number {
  const m = sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  const heap = page(sys);
  const obj = sys.andPerms(sys.setBounds(heap, 16), CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM); /* malloc(1) */
  sys.storeCap(m, 0, obj);
  sys.munmap(m, PAGE);
  paint(sys, sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, heap), 0, 1, true); /* free() */
  sys.cheri_revoke(CHERI_REVOKE_LAST_PASS | CHERI_REVOKE_IGNORE_START, 0);
  const again = sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  return revoked(sys.loadCap(again, 0)) ? 0 : F.NOT_REVOKED;
}
function shmAnon(sys: any): number {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE);
  return fd;
}
/* a named object, created and unlinked (cheriostest) */
function shmNamed(sys: any, name: string): number {
  const fd = sys.shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0o600);
  sys.shm_unlink(name);
  sys.ftruncate(fd, PAGE);
  return fd;
}
function memfd(sys: any): number {
  const fd = sys.memfd_create('cherisim-suite', 0);
  sys.ftruncate(fd, PAGE);
  return fd;
}
/* mkstemp in a temporary directory, unlinked, one page long */
function tmpfile(sys: any): number {
  const fd = sys.open('/tmp/cherisim-suite.' + sys.getpid(), O_CREAT | O_EXCL | O_RDWR, 0o600);
  sys.unlink('/tmp/cherisim-suite.' + sys.getpid());
  sys.ftruncate(fd, PAGE);
  return fd;
}
/* map-store-reload (MSR): map one page, store a capability to a local variable, reload, require the tag */
function msr(sys: any, prot: number, flags: number, fd: number): number {
  const p = checked(sys, () => sys.mmap(null, PAGE, prot, flags, fd, 0));
  ctSiAddr(sys, p);
  sys.storeCap(p, 0, local(sys));
  if (!sys.loadCap(p, 0).tag) return F.TAG_LOST;
  sys.munmap(p, PAGE);
  if (fd >= 0) sys.close(fd);
  return 0;
}
/* a child's status, as its parent body reports it: 0, its failure code, or its refusal */
function childStatus(st: any): number {
  if (st === null || st.termsig !== null) return F.CHILD_SETUP;
  return st.exitStatus === F.SETUP ? F.CHILD_SETUP : st.exitStatus;
}
function sendFd(sys: any, sock: number, fd: number): void {
  sys.sendmsg(sock, { iov: [{ buf: local(sys), len: 1 }], rights: [fd] });
}
function recvFd(sys: any, sock: number): number {
  const r = sys.recvmsg(sock, { iov: [{ buf: local(sys), len: 1 }] });
  if (!r || !Array.isArray(r.rights) || r.rights.length !== 1) sys.exit(F.SETUP);
  return r.rights[0];
}
`;

const HARNESS = `
export function main(sys: any, arg: any) {
  if (!arg.harness) return test(sys, arg.variant);
  const fds = sys.pipe();
  const pid = sys.fork('body', { variant: arg.variant, w: fds[1] });
  sys.close(fds[1]);
  const b = page(sys);
  let expected = -1;
  for (;;) {
    if (sys.read(fds[0], b, 8) !== 8) break;
    expected = sys.load(b, 0, 4) + sys.load(b, 4, 4) * 0x100000000;
  }
  const st = sys.waitpid(pid);
  if (expected < 0) return ${SI_ADDR_NONE};
  if (st.termsig === null || st.siginfo === null) return ${SI_ADDR_NO_SIGNAL};
  return st.siginfo.si_addr === expected ? ${SI_ADDR_MATCH} : ${SI_ADDR_MISMATCH};
}

export function body(sys: any, arg: any) {
  CT_W = arg.w;
  return test(sys, arg.variant);
}
`;

/* ---- shared bodies ---------------------------------------------------------------------- */

const msrBody = (open: string, prot: string, flags: string) => `
function test(sys: any, v: string): number {
  const fd = ${open};
  return msr(sys, ${prot}, ${flags}, fd);
}
`;

/* A capability store that must fault at the mapping base: map, declare si_addr, store. */
const storeFaultBody = (map: string) => `
function test(sys: any, v: string): number {
  const p = ${map};
  ctSiAddr(sys, p);
  sys.storeCap(p, 0, local(sys));
  return F.NO_FAULT;
}
`;

/* #8 / #54 vm_*_unix_surprise: the parent stores, unmaps and sends the fd; the child maps and
   reports whether it sees the tag; the parent passes iff the child's status is 0. */
const surpriseBody = (open: string, senderProt: string, receiverProt: string) => `
function test(sys: any, v: string): number {
  const fd = ${open};
  const p = sys.mmap(null, PAGE, ${senderProt}, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, local(sys));
  sys.munmap(p, PAGE);
  const sv = sys.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  const pid = sys.fork('surprise', { sock: sv[1] });
  sys.close(sv[1]);
  sendFd(sys, sv[0], fd);
  return childStatus(sys.waitpid(pid));
}
export function surprise(sys: any, { sock }: any) {
  const fd = recvFd(sys, sock);
  const q = checked(sys, () => sys.mmap(null, PAGE, ${receiverProt}, MAP_SHARED, fd, 0));
  return sys.loadCap(q, 0).tag ? F.TAG_SURVIVED : 0;
}
`;

/* #9 / #55: read(2) of an shm fd returns the bytes of a stored capability, untagged (R9) */
const readNocapsBody = (open: string, prot: string) => `
function test(sys: any, v: string): number {
  const fd = ${open};
  const p = sys.mmap(null, PAGE, ${prot}, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, local(sys));
  if (!sys.loadCap(p, 0).tag) return F.TAG_LOST;
  const buf = page(sys);
  if (sys.read(fd, buf, 16) !== 16) return F.SHORT_IO;
  if (!sameBytes(sys, p, 0, buf, 0, 16)) return F.BYTES_DIFFER;
  return sys.loadCap(buf, 0).tag ? F.TAG_SURVIVED : 0;
}
`;

/* #10 / #56 / #57: write(2) of a tagged capability stores untagged bytes (R9) */
const writeNocapsBody = (open: string, prot: string) => `
function test(sys: any, v: string): number {
  const fd = ${open};
  const src = page(sys);
  sys.storeCap(src, 0, local(sys));
  if (sys.write(fd, src, 16) !== 16) return F.SHORT_IO;
  const p = sys.mmap(null, PAGE, ${prot}, MAP_SHARED, fd, 0);
  if (!sameBytes(sys, p, 0, src, 0, 16)) return F.BYTES_DIFFER;
  return sys.loadCap(p, 0).tag ? F.TAG_SURVIVED : 0;
}
`;

/* #41-#44 test_ipc_*_tagstripped (S-IPC): the child writes a buffer whose first 16 bytes are a
   tagged capability; the parent reads it: bytes equal, tag clear (R10) */
const ipcBody = (channel: string, size: number) => `
function test(sys: any, v: string): number {
  const size = ${size};
  const fds = ${channel};
  const src = page(sys, Math.ceil(size / PAGE));
  sys.storeCap(src, 0, local(sys));
  const pid = sys.fork('writer', { fd: fds[1], src, size });
  sys.close(fds[1]);
  const dst = page(sys, Math.ceil(size / PAGE));
  let got = 0;
  while (got < size) {
    const n = sys.read(fds[0], sys.incOffset(dst, got), size - got);
    if (n <= 0) break;
    got += n;
  }
  const st = childStatus(sys.waitpid(pid));
  if (st !== 0) return st;
  if (got !== size) return F.SHORT_IO;
  if (!sys.loadCap(src, 0).tag) return F.TAG_LOST;
  if (!sameBytes(sys, src, 0, dst, 0, size)) return F.BYTES_DIFFER;
  return sys.loadCap(dst, 0).tag ? F.TAG_SURVIVED : 0;
}
export function writer(sys: any, { fd, src, size }: any) {
  let put = 0;
  while (put < size) {
    const n = sys.write(fd, sys.incOffset(src, put), size - put);
    if (typeof n !== 'number' || n <= 0) return F.SHORT_IO;
    put += n;
  }
  return 0;
}
`;

/* A second process (fd via SCM_RIGHTS) maps the owner's object: D3, D4 */
const secondProcessBody = (child: string) => `
function test(sys: any, v: string): number {
  const fd = shmAnon(sys);
  const p = sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, local(sys));
  const sv = sys.socketpair(AF_UNIX, SOCK_DGRAM, 0);
  const pid = sys.fork('second', { sock: sv[1] });
  sys.close(sv[1]);
  sendFd(sys, sv[0], fd);
  return childStatus(sys.waitpid(pid));
}
export function second(sys: any, { sock }: any) {
  const fd = recvFd(sys, sock);
${child}
}
`;

/** The body of every modelled test, by test id (expectations.ts names the same ids). */
export const BODIES: Readonly<Record<string, string>> = {
  /* ---- 7.1 ---- */
  vm_tag_mmap_anon: msrBody('-1', 'RW', 'MAP_ANON'),
  vm_tag_mmap_anon_cap: msrBody('-1', 'RW | PROT_CAP', 'MAP_ANON'),
  vm_notag_mmap_no_cap: storeFaultBody(
    'checked(sys, () => sys.mmap(null, PAGE, PROT_MAX(RW | PROT_CAP) | RW | PROT_NO_CAP, MAP_ANON, -1, 0))',
  ),
  vm_notag_mprotect_no_cap: `
function test(sys: any, v: string): number {
  const p = sys.mmap(null, PAGE, RW, MAP_ANON, -1, 0);
  checked(sys, () => sys.mprotect(p, PAGE, RW | PROT_NO_CAP));
  ctSiAddr(sys, p);
  sys.storeCap(p, 0, local(sys));
  return F.NO_FAULT;
}
`,
  vm_mmap_diallowed_prot: `
/* R3: each bad combination must be refused; the body reports the (common) errno */
function test(sys: any, v: string): number {
  const combos = [
    RW | PROT_MAX(PROT_READ),
    PROT_READ | PROT_CAP | PROT_MAX(PROT_READ),
    PROT_CAP,
    PROT_MAX(PROT_CAP),
  ];
  let errno = -1;
  for (const prot of combos) {
    let e = 0;
    try {
      sys.munmap(sys.mmap(null, PAGE, prot, MAP_ANON, -1, 0), PAGE);
    } catch (x: any) {
      e = x.errno;
    }
    if (e === 0) return F.CALL_SUCCEEDED;
    if (errno >= 0 && e !== errno) return F.ERRNO_DIFFER;
    errno = e;
  }
  return sys.exit(REFUSED + errno);
}
`,
  vm_tag_shm_open_anon_shared: msrBody('shmAnon(sys)', 'RW', 'MAP_SHARED'),
  vm_tag_shm_open_anon_private: msrBody('shmAnon(sys)', 'RW', 'MAP_PRIVATE'),
  vm_shm_open_anon_unix_surprise: surpriseBody(
    'shmAnon(sys)',
    "v === 'prot-cap' ? RW | PROT_CAP : RW",
    'PROT_READ',
  ),
  shm_open_read_nocaps: readNocapsBody('shmAnon(sys)', "v === 'prot-cap' ? RW | PROT_CAP : RW"),
  shm_open_write_nocaps: writeNocapsBody('shmAnon(sys)', "v === 'prot-cap' ? RW | PROT_CAP : RW"),
  vm_tag_dev_zero_shared: msrBody(
    "sys.open('/dev/zero', O_RDWR)",
    "v === 'prot-cap' ? RW | PROT_CAP : RW",
    'MAP_SHARED',
  ),
  vm_shm_largepage_basic: `
/* M12: a large-page shm mapping: a capability of the page's length with LOAD|STORE, and
   tags kept at the start, the middle and the last 4 KiB of the large page */
function test(sys: any, v: string): number {
  const LP = 2 * 1024 * 1024;
  const fd = sys.shm_create_largepage(SHM_ANON, O_RDWR | O_CREAT, 1, 0, 0o600);
  sys.ftruncate(fd, LP);
  const p = sys.mmap(null, LP, v === 'prot-cap' ? RW | PROT_CAP : RW, MAP_SHARED, fd, 0);
  const want = CHERI_PERM_LOAD | CHERI_PERM_STORE;
  if (p.length !== LP || (p.perms & want) !== want) return F.SETUP;
  for (const off of [0, LP / 2, LP - PAGE]) sys.storeCap(p, off, local(sys));
  for (const off of [0, LP / 2, LP - PAGE]) if (!sys.loadCap(p, off).tag) return F.TAG_LOST;
  return 0;
}
`,
  cheri_revoke_lightly: `
/* #22 (memory and epochs; kqueue knotes are not modelled, R14): a capability whose base is
   painted is revoked by a LAST_PASS; the info struct publishes the same epochs (R43); after
   unpainting, an open (non-LAST) pass gives enqueue >= dequeue + 1 and closing it revokes
   nothing unpainted */
function test(sys: any, v: string): number {
  const mb = page(sys);
  const revme = sys.andPerms(mb, CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM);
  sys.storeCap(mb, 16, revme);
  const shadow = sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, mb);
  paint(sys, shadow, 0, 1, true);
  const r = sys.cheri_revoke(CHERI_REVOKE_LAST_PASS | CHERI_REVOKE_IGNORE_START | CHERI_REVOKE_TAKE_STATS, 0);
  const info = sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_INFO_STRUCT);
  if (info.epochs.dequeue !== r.epochs.dequeue || info.epochs.enqueue !== r.epochs.enqueue) return F.EPOCHS;
  if (!revoked(sys.loadCap(mb, 16))) return F.NOT_REVOKED;
  paint(sys, shadow, 0, 1, false);
  sys.storeCap(mb, 16, sys.incOffset(mb, 1));
  const open = sys.cheri_revoke(CHERI_REVOKE_IGNORE_START, 0);
  if (!(open.epochs.enqueue >= open.epochs.dequeue + 1)) return F.EPOCHS;
  sys.cheri_revoke(CHERI_REVOKE_LAST_PASS, open.epochs.enqueue);
  return revoked(sys.loadCap(mb, 16)) ? F.WRONGLY_REVOKED : 0;
}
`,
  cheri_revoke_loadside: `
/* #23: the load barrier (R47) and the CAPSTORE page states across load-side passes (R8) */
function test(sys: any, v: string): number {
  const L = CHERI_REVOKE_FORCE_LOAD_SIDE;
  const LAST = CHERI_REVOKE_LAST_PASS;
  const noVmem = CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM;
  const mb = page(sys, 3);
  const capstore = () =>
    sys.mincore(mb, 3 * PAGE).map((x: number) => ((x & MINCORE_CAPSTORE) !== 0 ? 1 : 0)).join('');
  paint(sys, sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, mb), 0, 1, true);
  const revme = sys.andPerms(sys.setBounds(mb, PAGE), noVmem);
  sys.storeCap(mb, 16, revme);
  sys.storeCap(mb, PAGE, sys.andPerms(sys.setBounds(sys.incOffset(mb, 2 * PAGE), 16), noVmem));
  sys.store(mb, PAGE, 8, 0); /* overwrite it with an integer: page 1 stays CAPSTORE */
  sys.store(mb, PAGE + 8, 8, 0);
  if (capstore() !== '110') return F.PAGE_STATE;
  const open = sys.cheri_revoke(L, 0); /* open, not LAST */
  if (open.epochs.dequeue + 1 !== open.epochs.enqueue) return F.EPOCHS;
  const loaded = sys.loadCap(mb, 16); /* through a stale page: traps, cleans, returns revoked */
  if (!revoked(loaded)) return F.NOT_REVOKED;
  if (capstore() !== '110') return F.PAGE_STATE;
  sys.storeCap(mb, 32, loaded);
  const r1 = sys.cheri_revoke(L | LAST, open.epochs.enqueue);
  if (r1.epochs.enqueue !== 2 || r1.epochs.dequeue !== 2) return F.EPOCHS;
  if (capstore() !== '110') return F.PAGE_STATE;
  sys.storeCap(mb, 16, sys.andPerms(sys.incOffset(sys.setBounds(mb, PAGE), 16), noVmem)); /* mb+1-derived */
  sys.cheri_revoke(L | LAST | CHERI_REVOKE_IGNORE_START, 0);
  if (!revoked(sys.loadCap(mb, 16))) return F.NOT_REVOKED;
  if (capstore() !== '100') return F.PAGE_STATE; /* p0 CAPSTORE, p1 clean */
  sys.cheri_revoke(L | LAST | CHERI_REVOKE_IGNORE_START, 0);
  return capstore() === '000' ? 0 : F.PAGE_STATE; /* another full pass: p0 clean too */
}
`,
  cheri_revoke_async: `
function test(sys: any, v: string): number {
  return revokeAsync(sys);
}
`,
  cheri_revoke_async_fork: `
/* #25: as #24 while another thread loops fork / _exit / waitpid */
function test(sys: any, v: string): number {
  const flag = page(sys);
  const forker = sys.thread_create('forker', { flag });
  while (sys.load(flag, 8, 8) === 0) sys.getpid(); /* the forker is running */
  const r = revokeAsync(sys);
  sys.store(flag, 0, 8, 1);
  const forks = sys.thread_join(forker);
  return r !== 0 ? r : forks > 0 ? 0 : F.CHILD_SETUP;
}
export function forker(sys: any, { flag }: any) {
  let n = 0;
  for (; sys.load(flag, 0, 8) === 0; n++) {
    const st = sys.waitpid(sys.fork('quickChild', null));
    if (st === null || st.exitStatus !== 0) return -1;
    sys.store(flag, 8, 8, n + 1);
  }
  return n;
}
export function quickChild(sys: any) {
  return 0;
}
`,
  cheri_revoke_lib: `
function test(sys: any, v: string): number {
  const n = 1024;
  const arena = page(sys, (n * 16) / PAGE);
  return revokeLib(sys, arena, sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, arena), n, 4, 1337);
}
`,
  cheri_revoke_lib_fork: `
/* #27: the arena is set up, then a forked child revokes in both modes on its own copy (R30, R43) */
function test(sys: any, v: string): number {
  const n = 1024;
  const arena = page(sys, (n * 16) / PAGE);
  const shadow = sys.cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, arena);
  return childStatus(sys.waitpid(sys.fork('libChild', { arena, shadow, n })));
}
export function libChild(sys: any, { arena, shadow, n }: any) {
  return revokeLib(sys, arena, shadow, n, 2, 7);
}
`,
  cheri_revoke_shm_anon_hoard_unmapped: `
function test(sys: any, v: string): number {
  return hoardUnmapped(sys, shmAnon(sys));
}
`,
  pr2225_d6_revoke_local_shm: `
/* D6 (R49, R24): the pass sweeps this process's own shm objects even where unmapped, but not
   an O_SHARECAP object, whose revocation is unreliable by design */
function test(sys: any, v: string): number {
  const shared = checked(sys, () => sys.shm_open(SHM_ANON, O_RDWR | O_SHARECAP, 0o600));
  sys.ftruncate(shared, PAGE);
  const own = hoardUnmapped(sys, shmAnon(sys));
  if (own !== 0) return own;
  return hoardUnmapped(sys, shared) === 0 ? F.WRONGLY_REVOKED : 0;
}
`,
  vm_tag_dev_zero_private: msrBody("sys.open('/dev/zero', O_RDWR)", 'RW', 'MAP_PRIVATE'),
  vm_notag_tmpfile_shared: `
function test(sys: any, v: string): number {
  const fd = tmpfile(sys);
  const p = checked(sys, () => sys.mmap(null, PAGE, RW, MAP_SHARED, fd, 0));
  ctSiAddr(sys, p);
  sys.storeCap(p, 0, local(sys));
  return F.NO_FAULT;
}
`,
  vm_tag_tmpfile_private: msrBody('tmpfile(sys)', 'RW', 'MAP_PRIVATE'),
  vm_tag_tmpfile_private_prefault: msrBody('tmpfile(sys)', 'RW', 'MAP_PRIVATE | MAP_PREFAULT_READ'),
  vm_cow_read: `
/* R32: a MAP_PRIVATE mapping reads the shared page, tags included, before any write */
function test(sys: any, v: string): number {
  const fd = shmAnon(sys);
  const real = sys.mmap(null, PAGE, v === 'prot-cap' ? RW | PROT_CAP : RW, MAP_SHARED, fd, 0);
  const copy = sys.mmap(null, PAGE, RW, MAP_PRIVATE, fd, 0);
  sys.storeCap(real, 0, local(sys));
  if (!sys.loadCap(real, 0).tag) return F.TAG_LOST;
  return sys.loadCap(copy, 0).tag ? 0 : F.TAG_LOST;
}
`,
  vm_capdirty: `
/* R8: fresh pages report 0; a data write: MODIFIED, not CAPSTORE; a capability store: MODIFIED|CAPSTORE */
function test(sys: any, v: string): number {
  const p = sys.mmap(null, 2 * PAGE, RW, MAP_ANON, -1, 0);
  let m = sys.mincore(p, 2 * PAGE);
  if (m[0] !== 0 || m[1] !== 0) return F.MINCORE_FRESH;
  sys.store(p, 8, 4, 42);
  m = sys.mincore(p, 2 * PAGE);
  if ((m[0] & MINCORE_MODIFIED) === 0 || (m[0] & MINCORE_CAPSTORE) !== 0) return F.MINCORE_DATA;
  sys.storeCap(p, PAGE, local(sys));
  m = sys.mincore(p, 2 * PAGE);
  if ((m[1] & MINCORE_MODIFIED) === 0 || (m[1] & MINCORE_CAPSTORE) === 0) return F.MINCORE_CAP;
  return 0;
}
`,
  /* ---- 7.3 ---- */
  test_ipc_pipe_capsize_tagstripped: ipcBody('sys.pipe()', 16),
  test_ipc_pipe_8k_tagstripped: ipcBody('sys.pipe()', 8192),
  test_ipc_socket_local_stream_capsize_tagstripped: ipcBody('sys.socketpair(AF_UNIX, SOCK_STREAM, 0)', 16),
  test_ipc_socket_local_stream_8k_tagstripped: ipcBody('sys.socketpair(AF_UNIX, SOCK_STREAM, 0)', 8192),
  vm_swap: `
/* R11 (S-SWAP): 1000 private anonymous pages holding tagged, untagged and sealed capabilities
   and data survive msync(MS_PAGEOUT) (4 slots per page rather than every slot, for time) */
function test(sys: any, v: string): number {
  const N = 1000;
  const p = sys.mmap(null, N * PAGE, RW, MAP_ANON, -1, 0);
  const tagged = sys.setBounds(sys.incOffset(local(sys), 64), 32);
  const untagged = sys.clearTag(tagged);
  const code = sys.mmap(null, PAGE, PROT_READ | PROT_EXEC, MAP_ANON, -1, 0);
  const sealed = sys.sealEntry(code);
  for (let i = 0; i < N; i++) {
    const o = i * PAGE + (i % 16) * 64;
    sys.storeCap(p, o, tagged);
    sys.storeCap(p, o + 16, untagged);
    sys.storeCap(p, o + 32, sealed);
    sys.store(p, o + 48, 4, 0x5a000000 + i);
  }
  sys.msync(p, N * PAGE, MS_PAGEOUT);
  const m = sys.mincore(p, N * PAGE);
  for (let i = 0; i < N; i++) if (m[i] & MINCORE_INCORE) return F.STILL_IN_CORE;
  const same = (c: any, w: any) =>
    c.tag === w.tag && c.address === w.address && c.base === w.base && c.length === w.length &&
    c.perms === w.perms && c.otype === w.otype && c.sealed === w.sealed;
  let bad = 0;
  for (let i = 0; i < N; i++) {
    const o = i * PAGE + (i % 16) * 64;
    for (const [off, want] of [[0, tagged], [16, untagged], [32, sealed]] as any[]) {
      const c = sys.loadCap(p, o + off);
      if (!same(c, want)) bad++;
      sys.release(c);
    }
    if (sys.load(p, o + 48, 4) !== 0x5a000000 + i) bad++;
  }
  return bad === 0 ? 0 : F.SWAP_MISMATCH;
}
`,
  minherit_bounds: `
/* R34 (S-TABI): minherit with an untagged or out-of-bounds capability fails with EPROT; then a
   valid capability with INHERIT_NONE and INHERIT_SHARE (the calls under test) */
function test(sys: any, v: string): number {
  const p = sys.mmap(null, 2 * PAGE, RW, MAP_ANON, -1, 0);
  const bad = (c: any, len: number) => {
    try {
      sys.minherit(c, len, INHERIT_NONE);
    } catch (e: any) {
      return e.errno === EPROT;
    }
    return false;
  };
  if (!bad(sys.clearTag(p), PAGE)) return F.NOT_EPROT;
  if (!bad(sys.setBounds(p, PAGE), 2 * PAGE)) return F.NOT_EPROT;
  sys.minherit(p, PAGE, INHERIT_NONE); /* allowed in every regime */
  checked(sys, () => sys.minherit(p, PAGE, INHERIT_SHARE));
  return 0;
}
`,
  /* ---- 7.4 ---- */
  vm_tag_shm_open_named_shared_no_implied_cap: msrBody(
    "shmNamed(sys, '/cherisim-suite-49')",
    'RW',
    'MAP_SHARED',
  ),
  vm_tag_shm_open_anon_shared_no_implied_cap: msrBody('shmAnon(sys)', 'RW', 'MAP_SHARED'),
  vm_tag_anon_shared_no_implied_cap: msrBody('-1', 'RW', 'MAP_SHARED | MAP_ANON'),
  vm_tag_memfd_create_shared: msrBody('memfd(sys)', 'RW', 'MAP_SHARED'),
  'vm_tag_shm_open_anon_shared.port': msrBody('shmAnon(sys)', 'RW | PROT_CAP', 'MAP_SHARED'),
  vm_shm_open_named_unix_surprise: surpriseBody(
    "shmNamed(sys, '/cherisim-suite-54')",
    'RW | PROT_CAP',
    'PROT_READ | PROT_CAP',
  ),
  shm_open_named_read_nocaps: readNocapsBody("shmNamed(sys, '/cherisim-suite-55')", 'RW | PROT_CAP'),
  shm_open_anon_shm: writeNocapsBody("shmNamed(sys, '/cherisim-suite-56')", 'RW | PROT_CAP'),
  memfd_create_anon_write_nocaps: writeNocapsBody('memfd(sys)', 'RW | PROT_CAP'),
  /* ---- 7.5 (derived, not upstream) ---- */
  pr2225_d1_owner_prot_cap: msrBody('shmAnon(sys)', 'RW | PROT_CAP', 'MAP_SHARED'),
  pr2225_d2_owner_no_prot_cap: msrBody('shmAnon(sys)', 'RW', 'MAP_SHARED'),
  pr2225_d3_second_process_prot_cap: secondProcessBody(`
  const q = checked(sys, () => sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0));
  sys.storeCap(q, 16, local(sys));
  return sys.loadCap(q, 16).tag ? 0 : F.TAG_LOST;`),
  pr2225_d4_second_process_read: secondProcessBody(`
  const q = checked(sys, () => sys.mmap(null, PAGE, PROT_READ, MAP_SHARED, fd, 0));
  const c = sys.loadCap(q, 0);
  if (c.tag) return F.TAG_SURVIVED;
  return c.address !== 0 ? 0 : F.NOTHING_ARRIVED;`),
  pr2225_d5_sharecap_fork: `
function test(sys: any, v: string): number {
  const fd = checked(sys, () => sys.shm_open(SHM_ANON, O_RDWR | O_SHARECAP, 0o600));
  sys.ftruncate(fd, PAGE);
  const p = sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, local(sys));
  return childStatus(sys.waitpid(sys.fork('heir', { p, fd })));
}
export function heir(sys: any, { p, fd }: any) {
  if (!sys.loadCap(p, 0).tag) return F.TAG_LOST; /* the inherited shared mapping */
  const q = checked(sys, () => sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0));
  return sys.loadCap(q, 0).tag ? 0 : F.TAG_LOST; /* a non-owner's own PROT_CAP mapping */
}
`,
  pr2225_d7_owner_exit: `
const NAME = '/cherisim-suite-d7';
function test(sys: any, v: string): number {
  const a = childStatus(sys.waitpid(sys.fork('owner', {})));
  if (a !== 0) return F.CHILD_SETUP;
  const b = childStatus(sys.waitpid(sys.fork('third', {})));
  sys.shm_unlink(NAME);
  return b;
}
export function owner(sys: any) {
  const fd = sys.shm_open(NAME, O_CREAT | O_EXCL | O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE);
  const p = sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, local(sys));
  return 0;
}
export function third(sys: any) {
  const fd = sys.shm_open(NAME, O_RDWR, 0o600);
  const q = checked(sys, () => sys.mmap(null, PAGE, RW | PROT_CAP, MAP_SHARED, fd, 0));
  return sys.loadCap(q, 0).tag ? 0 : F.TAG_LOST;
}
`,
};

/** The guest program of a test: a module with entries main (harness or body) and body. */
export function testSource(id: string): string {
  const body = BODIES[id];
  if (body === undefined) throw new Error(`no guest program for test ${id}`);
  return `/* cherisim suite: ${id} */\n${PRELUDE}\n${body}\n${HARNESS}`;
}
