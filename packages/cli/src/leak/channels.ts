/*
 * The leak-matrix channels: for each, a REAL guest program (run in a System by run_matrix.ts)
 * in which one process stores a tagged capability and sends it through the channel, and the
 * other process receives it and reports whether its tag arrived.
 *
 * Every program is PRELUDE + the channel's three functions + SKELETON:
 *
 *   before(sys)          parent, before fork: whatever both sides must inherit (fds, ids, a mapping)
 *   send(sys, ctx, buf)  the sender: store a capability, transmit it; returns its exit status
 *   receive(sys, ctx, b) the receiver: obtain what was sent, return the loaded capability (CapRef)
 *
 * The skeleton forks, and orders the two sides over a stream socketpair ("sync"): the receiver
 * waits for "ready" (EOF = the sender died or gave up), the sender stays alive until the
 * receiver says "done" (so an owner vmspace still exists while the receiver maps, R22).
 * Direction parent-to-child: the parent sends; child-to-parent: the child sends.
 *
 * Mapping choice (docs/scenarios.md): both sides are programs that WANT to share capabilities,
 * so wherever they map memory they ask for it explicitly with PROT_CAP (R2, R21, R29).  The
 * question each cell answers is then whether the POLICY lets the tag through, not whether a
 * program forgot to ask.  (Catalogue test #8 maps the receiver PROT_READ only; the DESIGN
 * example, examples/design_example.ts, keeps that form.)
 *
 * Exit statuses (as cheribsdtest's PR #2225 version of #8: 1 = tag transfer succeeded):
 *   receiver: 1 tag seen, 0 bytes arrived untagged, 2 nothing arrived (a private copy),
 *             3 the sender never said ready, 70 setup error (EX_SOFTWARE),
 *             100 + errno: its mmap was refused
 *   sender:   0 sent, 5 sent but O_SHARECAP does not exist in this regime (opened without it),
 *             70 setup error, 100 + errno: its mmap was refused; a store fault kills it (SIGSEGV)
 */

export type Direction = 'parent-to-child' | 'child-to-parent';
export const DIRECTIONS: readonly Direction[] = ['parent-to-child', 'child-to-parent'];

export const RECV_TAGGED = 1;
export const RECV_UNTAGGED = 0;
export const RECV_NOTHING = 2;
export const RECV_SENDER_GONE = 3;
export const SEND_NO_SHARECAP = 5;
export const EXIT_SETUP = 70;
export const EXIT_MMAP_REFUSED = 100; /* + errno */

/** How the channel carries the capability, which decides what an untagged arrival means. */
export type Carrier =
  | 'mapping' /* both sides see the same pages: untagged = stripped on load */
  | 'bytes' /* the kernel copies bytes (read/write, pipes, sockets): untagged = copied-bytes (R9, R10) */
  | 'private' /* the receiver maps its own MAP_PRIVATE view: nothing arriving = a private copy */;

export interface Channel {
  readonly id: string;
  readonly title: string;
  readonly carrier: Carrier;
  /** The reference rules that decide this channel (cheribsd-semantics.md). */
  readonly rules: string;
  /** How sender and receiver map, one line (also in docs/scenarios.md). */
  readonly mapping: string;
  readonly directions: readonly Direction[];
  /** before/send/receive, guest TypeScript. */
  readonly body: string;
}

const PRELUDE = `
import {
  AF_UNIX, IPC_CREAT, IPC_PRIVATE, IPC_RMID, MAP_ANON, MAP_PRIVATE, MAP_SHARED, O_CREAT, O_RDWR,
  O_SHARECAP, PAGE_SIZE, PROT_CAP, PROT_READ, PROT_WRITE, SEEK_SET, SHM_ANON, SOCK_DGRAM, SOCK_STREAM,
} from 'cherisim';

const TAGGED = ${RECV_TAGGED}, UNTAGGED = ${RECV_UNTAGGED}, NOTHING = ${RECV_NOTHING};
const SENDER_GONE = ${RECV_SENDER_GONE}, NO_SHARECAP = ${SEND_NO_SHARECAP};
const SETUP = ${EXIT_SETUP}, MMAP_REFUSED = ${EXIT_MMAP_REFUSED};
const RW = PROT_READ | PROT_WRITE;
const SHM_NAME = '/cherisim-leak-matrix';
const FILE_NAME = '/tmp/cherisim-leak-matrix';
/* how a receiver maps what it maps itself: PROT_CAP unless the run asks for the #8 form */
let RECV_PROT = PROT_READ | PROT_CAP;

/* mmap, or end this process with 100 + errno (the verdict "mmap refused") */
function mmapOrExit(sys: any, prot: number, flags: number, fd: number): any {
  let p: any = null;
  let errno = 0;
  try {
    p = sys.mmap(null, PAGE_SIZE, prot, flags, fd, 0);
  } catch (e: any) {
    errno = typeof e?.errno === 'number' ? e.errno : -1;
  }
  if (errno !== 0) sys.exit(errno > 0 ? MMAP_REFUSED + errno : SETUP);
  return p;
}
/* private anonymous memory holds tags in every regime (M1) */
function privatePage(sys: any): any {
  return sys.mmap(null, PAGE_SIZE, RW | PROT_CAP, MAP_ANON | MAP_PRIVATE, -1, 0);
}
/* a capability to send: a private page, stored at offset 0 of buf */
function capInto(sys: any, buf: any): void {
  sys.storeCap(buf, 0, buf);
}
/* an shm object of one page, mapped shared with PROT_CAP, holding a capability to itself */
function shmWithCap(sys: any, fd: number): any {
  sys.ftruncate(fd, PAGE_SIZE);
  const p = mmapOrExit(sys, RW | PROT_CAP, MAP_SHARED, fd);
  sys.storeCap(p, 0, p);
  return p;
}
function sendFd(sys: any, sock: number, fd: number, buf: any): void {
  sys.sendmsg(sock, { iov: [{ buf, len: 1 }], rights: [fd] });
}
function recvFd(sys: any, sock: number, buf: any): number {
  const r = sys.recvmsg(sock, { iov: [{ buf, len: 1 }] });
  if (!r || !Array.isArray(r.rights) || r.rights.length !== 1) sys.exit(SETUP);
  return r.rights[0];
}
`;

const SKELETON = `
export function main(sys: any, arg: any) {
  const dir = arg && arg.direction === 'child-to-parent' ? 'c2p' : 'p2c';
  const recvCap = !(arg && arg.receiverCap === false);
  if (!recvCap) RECV_PROT = PROT_READ;
  const ctx = before(sys);
  const sync = sys.socketpair(AF_UNIX, SOCK_STREAM, 0);
  const pid = sys.fork('child', { dir, ctx, sync, recvCap });
  sys.close(sync[1]);
  const status = dir === 'p2c' ? sender(sys, ctx, sync[0]) : receiver(sys, ctx, sync[0]);
  sys.waitpid(pid);
  return status;
}

export function child(sys: any, { dir, ctx, sync, recvCap }: any) {
  if (!recvCap) RECV_PROT = PROT_READ;
  sys.close(sync[0]);
  return dir === 'p2c' ? receiver(sys, ctx, sync[1]) : sender(sys, ctx, sync[1]);
}

function sender(sys: any, ctx: any, s: number): number {
  const buf = privatePage(sys);
  const tick = privatePage(sys);
  const status = send(sys, ctx, buf);
  sys.write(s, tick, 1); /* ready */
  sys.read(s, tick, 1); /* done, or EOF if the receiver has ended */
  return status;
}

function receiver(sys: any, ctx: any, s: number): number {
  const buf = privatePage(sys);
  const tick = privatePage(sys);
  if (sys.read(s, tick, 1) !== 1) return SENDER_GONE;
  const c = receive(sys, ctx, buf);
  const verdict = c.tag ? TAGGED : c.address !== 0 ? UNTAGGED : NOTHING;
  sys.write(s, tick, 1); /* done */
  return verdict;
}
`;

const BOTH = DIRECTIONS;

/* A capability sent through an fd passed with SCM_RIGHTS over an AF_UNIX datagram socketpair. */
const scmRights = (open: string, receiverFlags: string): string => `
function before(sys: any) {
  return { sock: sys.socketpair(AF_UNIX, SOCK_DGRAM, 0) };
}
function send(sys: any, ctx: any, buf: any): number {
  ${open}
  shmWithCap(sys, fd);
  sendFd(sys, ctx.sock[0], fd, buf);
  return status;
}
function receive(sys: any, ctx: any, buf: any): any {
  const fd = recvFd(sys, ctx.sock[1], buf);
  const q = mmapOrExit(sys, RECV_PROT, ${receiverFlags}, fd);
  return sys.loadCap(q, 0);
}
`;

/* The two file channels differ only in how both sides map the file. */
function fileBody(mapFlag: 'MAP_SHARED' | 'MAP_PRIVATE'): string {
  return `
function before(sys: any) {
  const fd = sys.open(FILE_NAME, O_CREAT | O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  return { fd };
}
function send(sys: any, ctx: any, buf: any): number {
  const p = mmapOrExit(sys, RW | PROT_CAP, ${mapFlag}, ctx.fd);
  sys.storeCap(p, 0, buf);
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  const fd = sys.open(FILE_NAME, O_RDWR, 0o600);
  const q = mmapOrExit(sys, RECV_PROT, ${mapFlag}, fd);
  return sys.loadCap(q, 0);
}
`;
}

export const CHANNELS: readonly Channel[] = [
  {
    id: 'anon-shared-fork',
    title: 'MAP_ANON|MAP_SHARED region inherited over fork',
    carrier: 'mapping',
    rules: 'M2, R25, R30, R31',
    mapping:
      'parent maps MAP_ANON|MAP_SHARED R|W|PROT_CAP before fork; the child inherits it (VM_INHERIT_SHARE); both use that one mapping',
    directions: BOTH,
    body: `
function before(sys: any) {
  return { p: sys.mmap(null, PAGE_SIZE, RW | PROT_CAP, MAP_ANON | MAP_SHARED, -1, 0) };
}
function send(sys: any, ctx: any, buf: any): number {
  sys.storeCap(ctx.p, 0, buf);
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  return sys.loadCap(ctx.p, 0);
}
`,
  },
  {
    id: 'shm-anon-fork',
    title: 'SHM_ANON object mapped shared before fork, inherited by the child',
    carrier: 'mapping',
    rules: 'M7, R13, R22, R23, R30, R31',
    mapping:
      'parent creates SHM_ANON and maps it MAP_SHARED R|W|PROT_CAP before fork; the child inherits the mapping; both use it',
    directions: BOTH,
    body: `
function before(sys: any) {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  return { p: mmapOrExit(sys, RW | PROT_CAP, MAP_SHARED, fd) };
}
function send(sys: any, ctx: any, buf: any): number {
  sys.storeCap(ctx.p, 0, buf);
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  return sys.loadCap(ctx.p, 0);
}
`,
  },
  {
    id: 'shm-anon-scm-rights',
    title: 'SHM_ANON fd passed with SCM_RIGHTS (catalogue #8 vm_shm_open_anon_unix_surprise)',
    carrier: 'mapping',
    rules: 'M7, R13, R21, R22',
    mapping:
      'sender creates SHM_ANON, maps MAP_SHARED R|W|PROT_CAP, stores, sends the fd over an AF_UNIX SOCK_DGRAM socketpair; receiver maps MAP_SHARED PROT_READ|PROT_CAP',
    directions: BOTH,
    body: scmRights('const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);\n  const status = 0;', 'MAP_SHARED'),
  },
  {
    id: 'shm-named-open',
    title: 'named shm object opened by name in the other process',
    carrier: 'mapping',
    rules: 'M8, R13, R21, R22',
    mapping:
      'sender shm_open(name, O_CREAT|O_RDWR) (so it is the first opener), maps MAP_SHARED R|W|PROT_CAP, stores; receiver shm_open(name, O_RDWR), maps MAP_SHARED PROT_READ|PROT_CAP',
    directions: BOTH,
    body: `
function before(sys: any) {
  return {};
}
function send(sys: any, ctx: any, buf: any): number {
  const fd = sys.shm_open(SHM_NAME, O_CREAT | O_RDWR, 0o600);
  shmWithCap(sys, fd);
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  const fd = sys.shm_open(SHM_NAME, O_RDWR, 0o600);
  const q = mmapOrExit(sys, RECV_PROT, MAP_SHARED, fd);
  const c = sys.loadCap(q, 0);
  sys.shm_unlink(SHM_NAME);
  return c;
}
`,
  },
  {
    id: 'shm-sharecap',
    title: 'shm opened with O_SHARECAP, fd passed with SCM_RIGHTS',
    carrier: 'mapping',
    rules: 'M11, R24',
    mapping:
      'as shm-anon-scm-rights, but the sender opens SHM_ANON with O_SHARECAP (a regime without the flag refuses it with EINVAL: the sender then opens without it and says so)',
    directions: BOTH,
    body: scmRights(
      `let fd = -1;
  let status = 0;
  try {
    fd = sys.shm_open(SHM_ANON, O_RDWR | O_SHARECAP, 0o600);
  } catch (e: any) {
    status = NO_SHARECAP;
  }
  if (status === NO_SHARECAP) fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);`,
      'MAP_SHARED',
    ),
  },
  {
    id: 'memfd-scm-rights',
    title: 'memfd_create fd passed with SCM_RIGHTS',
    carrier: 'mapping',
    rules: 'M9, R13, R21, R22',
    mapping:
      'sender memfd_create, maps MAP_SHARED R|W|PROT_CAP, stores, sends the fd (SCM_RIGHTS); receiver maps MAP_SHARED PROT_READ|PROT_CAP',
    directions: BOTH,
    body: scmRights(
      "const fd = sys.memfd_create('cherisim-leak-matrix', 0);\n  const status = 0;",
      'MAP_SHARED',
    ),
  },
  {
    id: 'sysv-shmat',
    title: 'SysV segment attached by both processes',
    carrier: 'mapping',
    rules: 'M13, R26, R5',
    mapping:
      'parent shmget(IPC_PRIVATE) before fork; each side shmat()s the segment itself (shmat has no PROT_CAP: the policy alone decides)',
    directions: BOTH,
    body: `
function before(sys: any) {
  return { id: sys.shmget(IPC_PRIVATE, PAGE_SIZE, IPC_CREAT | 0o600) };
}
function send(sys: any, ctx: any, buf: any): number {
  const p = sys.shmat(ctx.id, null, 0);
  sys.storeCap(p, 0, buf);
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  const q = sys.shmat(ctx.id, null, 0);
  const c = sys.loadCap(q, 0);
  sys.shmctl(ctx.id, IPC_RMID);
  return c;
}
`,
  },
  {
    id: 'file-shared',
    title: 'regular file mapped MAP_SHARED by both processes',
    carrier: 'mapping',
    rules: 'M5, R1, R3 (PR #2661), R15',
    mapping:
      'parent creates a one-page file before fork; sender maps it MAP_SHARED R|W|PROT_CAP and stores; receiver opens it by name, maps MAP_SHARED PROT_READ|PROT_CAP',
    directions: BOTH,
    body: fileBody('MAP_SHARED'),
  },
  {
    id: 'file-private-cow',
    title: 'regular file mapped MAP_PRIVATE (copy-on-write) by both processes',
    carrier: 'private',
    rules: 'M6, R1, R32',
    mapping:
      'as file-shared, but both map MAP_PRIVATE: the sender stores into its private copy (M6 T); the receiver maps the file itself MAP_PRIVATE PROT_READ|PROT_CAP',
    directions: BOTH,
    body: fileBody('MAP_PRIVATE'),
  },
  {
    id: 'shm-private-cow',
    title: 'shm object written shared by its owner, read through a MAP_PRIVATE mapping',
    carrier: 'private',
    rules: 'M10, R32, R22',
    mapping:
      'sender creates SHM_ANON, maps MAP_SHARED R|W|PROT_CAP, stores, sends the fd (SCM_RIGHTS); receiver maps MAP_PRIVATE PROT_READ|PROT_CAP and reads before any write (R32: the not-yet-copied page is the shared one)',
    directions: BOTH,
    body: scmRights('const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);\n  const status = 0;', 'MAP_PRIVATE'),
  },
  {
    id: 'pipe',
    title: 'pipe(2): the capability written as 16 bytes',
    carrier: 'bytes',
    rules: 'R10',
    mapping:
      'pipe() before fork; sender stores a capability in private anonymous memory (M1) and write()s its 16 bytes; receiver read()s them into its own private memory and loads',
    directions: BOTH,
    body: `
function before(sys: any) {
  return { fds: sys.pipe() };
}
function send(sys: any, ctx: any, buf: any): number {
  capInto(sys, buf);
  sys.write(ctx.fds[1], buf, 16);
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  if (sys.read(ctx.fds[0], buf, 16) !== 16) sys.exit(SETUP);
  return sys.loadCap(buf, 0);
}
`,
  },
  {
    id: 'unix-stream',
    title: 'AF_UNIX SOCK_STREAM socketpair: sendmsg/recvmsg of the 16 bytes',
    carrier: 'bytes',
    rules: 'R10',
    mapping:
      'socketpair(AF_UNIX, SOCK_STREAM) before fork; sender sendmsg()s the 16 bytes of a capability from private memory; receiver recvmsg()s them into private memory and loads',
    directions: BOTH,
    body: `
function before(sys: any) {
  return { sv: sys.socketpair(AF_UNIX, SOCK_STREAM, 0) };
}
function send(sys: any, ctx: any, buf: any): number {
  capInto(sys, buf);
  sys.sendmsg(ctx.sv[0], { iov: [{ buf, len: 16 }] });
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  const r = sys.recvmsg(ctx.sv[1], { iov: [{ buf, len: 16 }] });
  if (!r || r.bytes !== 16) sys.exit(SETUP);
  return sys.loadCap(buf, 0);
}
`,
  },
  {
    id: 'shm-read-write',
    title: 'write(2)/read(2) of the capability through an shm fd',
    carrier: 'bytes',
    rules: 'R9',
    mapping:
      'SHM_ANON object created before fork (fd inherited, no mapping); sender write()s the 16 bytes of a capability at offset 0; receiver lseek()s to 0, read()s them into private memory and loads',
    directions: BOTH,
    body: `
function before(sys: any) {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  return { fd };
}
function send(sys: any, ctx: any, buf: any): number {
  capInto(sys, buf);
  sys.lseek(ctx.fd, 0, SEEK_SET);
  sys.write(ctx.fd, buf, 16);
  return 0;
}
function receive(sys: any, ctx: any, buf: any): any {
  sys.lseek(ctx.fd, 0, SEEK_SET);
  if (sys.read(ctx.fd, buf, 16) !== 16) sys.exit(SETUP);
  return sys.loadCap(buf, 0);
}
`,
  },
];

/** The guest program of a channel: a module with entries main (parent) and child. */
export function channelSource(channel: Channel): string {
  return `/* cherisim leak-matrix channel ${channel.id}: ${channel.title} */\n${PRELUDE}\n${channel.body}\n${SKELETON}`;
}

/** Channel ids matching a glob (`*` any run of characters, `?` one character). */
export function selectChannels(glob: string | undefined): Channel[] {
  if (glob === undefined) return [...CHANNELS];
  const re = new RegExp(
    `^${glob
      .split('')
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
      .join('')}$`,
  );
  return CHANNELS.filter((c) => re.test(c.id));
}
