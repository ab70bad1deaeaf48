/*
 * The guest's `sys` object, host side (inside the thread's worker).  Memory accesses run
 * here, on the thread's Hart, with no round trip; a fault the Hart raises goes to the kernel
 * as a trap and the access is retried, skipped (store-strip) or the guest is ended.  System
 * calls go through the mailbox.  Every function takes and returns plain data only (the
 * sandbox's bridge enforces it); capabilities cross as handles (CapRef).
 */
import {
  AlignmentFault,
  type Capability,
  CapabilityFault,
  CHERI_PERM_EXECUTE,
  CHERI_PERM_GLOBAL,
  CHERI_PERM_LOAD,
  CHERI_PERM_LOAD_CAP,
  CHERI_PERM_STORE,
  CHERI_PERM_STORE_CAP,
  CHERI_PERM_STORE_LOCAL_CAP,
  CHERI_PERM_SW_VMEM,
  capAndPerms,
  capClearTag,
  capIncOffset,
  capSeal,
  capSealEntry,
  capSetAddr,
  capSetBounds,
  capSetBoundsExact,
  capUnseal,
  formatCapability,
  type Hart,
  PageFault,
  REG_TAG,
  REG_W0,
  REG_WORDS,
} from '@cherisim/machine';
import { GuestAbort } from '../guest/guest_error.js';
import type { HostFunction } from '../guest/sandbox.js';
import {
  type KernelSyscall,
  PAGE_FAULT_ACCESS,
  PAGE_FAULT_CAUSE,
  SYS_CHERI_REVOKE,
  SYS_FORK,
  SYS_THREAD_CREATE,
  SYS_THREAD_JOIN,
  SYS_TRAP_ALIGN,
  SYS_TRAP_CAP,
  SYS_TRAP_PAGE,
  sysno,
  TRAP_ACTIONS,
} from '../protocol/sysno.js';
import type { CapHandles } from './cap_handles.js';
import { makeGuestLib } from './guest_lib.js';
import { ThreadKilled, type ThreadSide } from './thread_side.js';

/* What a guest sees for a capability: a handle plus a snapshot of its fields. */
export interface CapRef {
  [key: string]: number | boolean | string;
  handle: number;
  tag: boolean;
  address: number;
  base: number;
  length: number;
  perms: number;
  otype: number;
  sealed: boolean;
}

/** A failed system call, as the guest sees it: CheriBSD's errno name and number. */
export class GuestSysError extends Error {
  override name = 'SysError';
  readonly code: string;
  readonly errno: number;

  constructor(call: string, code: string, errno: number, detail?: string) {
    super(`${call}: ${code}${detail ? ` (${detail})` : ''}`);
    this.code = code;
    this.errno = errno;
  }
}

export interface GuestApiContext {
  readonly hart: Hart;
  readonly side: ThreadSide;
  readonly handles: CapHandles;
  readonly errnoName: (errno: number) => string;
  readonly onCapStore?: (va: number) => void /* tracing: a tagged capability was stored at va */;
}

const PROT_READ = 0x1;
const PROT_WRITE = 0x2;
const PROT_EXEC = 0x4;
const SHM_RDONLY = 0o10000;
const TWO_53 = 2 ** 53;

function num(b: bigint): number {
  return b < BigInt(TWO_53) ? Number(b) : Number(b); /* rounded above 2^53: a snapshot, not an address */
}

/** What the guest library (guest_lib.ts) builds on: the helpers the core API is made of. */
export interface GuestCore {
  readonly ctx: GuestApiContext;
  /** A CapRef snapshot of handle h. */
  ref(h: number): CapRef;
  /** Put a capability in a new handle. */
  put(c: Capability): CapRef;
  /** The capability a guest value (handle or CapRef) names; throws on a bad handle. */
  cap(v: unknown): Capability;
  /** Run op, turning machine faults into kernel traps (retry / strip / end the guest). */
  trapped<T>(op: () => T, storeWords?: () => number[]): T;
  /** A kernel system call; throws GuestSysError on failure. */
  call(name: KernelSyscall, ...args: unknown[]): unknown;
  /** A user pointer argument's address, after checking it grants `perms` over `len` bytes. */
  userPtr(v: unknown, len: number, perms: number): number;
  /** What mmap returns: the root capability cut down to [addr, addr+len) with perms from prot. */
  mappingCap(addr: number, len: number, prot: number): CapRef;
}

/*
 * The API with one rule added: a kill request met at a safepoint inside any call ends the
 * guest (a GuestAbort), instead of reaching guest code as an error it could catch.
 */
export function makeGuestApi(ctx: GuestApiContext): Record<string, HostFunction> {
  const api = guestApi(ctx);
  const wrapped: Record<string, HostFunction> = {};
  for (const [name, fn] of Object.entries(api))
    wrapped[name] = (...args: unknown[]) => {
      try {
        return fn(...args);
      } catch (e) {
        if (e instanceof ThreadKilled) throw new GuestAbort('killed', 'the thread was killed');
        throw e;
      }
    };
  return wrapped;
}

function guestApi(ctx: GuestApiContext): Record<string, HostFunction> {
  const { hart, side, handles } = ctx;
  const regs = hart.regs;
  const ROOT = regs.ddcIdx;

  const ref = (h: number): CapRef => {
    const c = regs.get(h);
    return {
      handle: h,
      tag: c.tag,
      address: num(c.cursor),
      base: num(c.base),
      length: num(c.length),
      perms: c.perms,
      otype: c.otype,
      sealed: c.isSealed,
    };
  };
  const put = (c: Capability): CapRef => {
    const h = handles.alloc();
    regs.set(h, c);
    return ref(h);
  };
  const cap = (v: unknown): Capability => regs.get(handles.check(v));

  /* A fault becomes a trap: the kernel resolves it (retry), strips (skip) or ends the guest. */
  const trapped = <T>(op: () => T, storeWords?: () => number[]): T => {
    for (;;) {
      side.safepoint();
      let reply: { errno: number; value: unknown };
      try {
        return op();
      } catch (e) {
        if (e instanceof PageFault)
          reply = side.syscall(SYS_TRAP_PAGE, [
            e.vaddr,
            PAGE_FAULT_ACCESS.indexOf(e.access),
            PAGE_FAULT_CAUSE.indexOf(e.cause),
            /* a tagged store's bytes, whatever the cause, so that a store-strip kernel can store them untagged */
            ...(e.access === 'cap-store' && storeWords ? storeWords() : []),
          ]);
        else if (e instanceof CapabilityFault) reply = side.syscall(SYS_TRAP_CAP, [e.code, e.vaddr]);
        else if (e instanceof AlignmentFault) reply = side.syscall(SYS_TRAP_ALIGN, [e.vaddr]);
        else throw e;
      }
      const action = TRAP_ACTIONS[reply.value as number];
      if (action === 'retry') {
        hart.flushTlb();
        continue;
      }
      if (action === 'stripped') {
        hart.flushTlb();
        return undefined as T;
      }
      throw new GuestAbort(action ?? 'killed', 'the process was ended by a signal');
    }
  };

  const call = (name: KernelSyscall, ...args: unknown[]): unknown => {
    side.safepoint();
    const { errno, value } = side.syscall(sysno(name), args);
    if (errno !== 0) throw new GuestSysError(name, ctx.errnoName(errno), errno);
    return value;
  };

  /* A user pointer argument: its address after checking it covers [off, off+len) with `perms`. */
  const userPtr = (v: unknown, len: number, perms: number): number => {
    const c = cap(v);
    const base = c.base;
    const top = c.top;
    const addr = c.cursor;
    if (!c.tag || c.isSealed || (c.perms & perms) !== perms || addr < base || addr + BigInt(len) > top)
      throw new GuestSysError('copyio', 'EPROT', 98, 'capability does not grant the access');
    return Number(addr);
  };

  /* What mmap/shmat return: the root capability cut down to the mapping, perms from prot. */
  const mappingCap = (addr: number, len: number, prot: number): CapRef => {
    let perms = CHERI_PERM_GLOBAL | CHERI_PERM_SW_VMEM;
    if (prot & PROT_READ) perms |= CHERI_PERM_LOAD | CHERI_PERM_LOAD_CAP;
    if (prot & PROT_WRITE) perms |= CHERI_PERM_STORE | CHERI_PERM_STORE_CAP | CHERI_PERM_STORE_LOCAL_CAP;
    if (prot & PROT_EXEC) perms |= CHERI_PERM_EXECUTE;
    const root = regs.get(ROOT);
    const c = capSetBounds(capSetAddr(root, BigInt(addr), ROOT), BigInt(len), ROOT).cap;
    return put(capAndPerms(c, perms, ROOT));
  };

  const derive = (op: (c: Capability) => Capability) => (v: unknown) => trapped(() => put(op(cap(v))));
  const core: GuestCore = { ctx, ref, put, cap, trapped, call, userPtr, mappingCap };

  return {
    ...makeGuestLib(core),
    /* ---- capabilities ---- */
    cap: (v: unknown) => ref(handles.check(v)),
    tag: (v: unknown) => cap(v).tag,
    address: (v: unknown) => num(cap(v).cursor),
    base: (v: unknown) => num(cap(v).base),
    length: (v: unknown) => num(cap(v).length),
    perms: (v: unknown) => cap(v).perms,
    otype: (v: unknown) => cap(v).otype,
    format: (v: unknown) => formatCapability(cap(v)),
    release: (v: unknown) => handles.release(v),
    setBounds: (v: unknown, len: number) => trapped(() => put(capSetBounds(cap(v), BigInt(len)).cap)),
    setBoundsExact: (v: unknown, len: number) => trapped(() => put(capSetBoundsExact(cap(v), BigInt(len)))),
    andPerms: (v: unknown, perms: number) => trapped(() => put(capAndPerms(cap(v), perms))),
    setAddr: (v: unknown, addr: number) => trapped(() => put(capSetAddr(cap(v), BigInt(addr)))),
    incOffset: (v: unknown, d: number) => trapped(() => put(capIncOffset(cap(v), BigInt(d)))),
    clearTag: derive(capClearTag),
    sealEntry: derive((c) => capSealEntry(c)),
    seal: (v: unknown, sealer: unknown) => trapped(() => put(capSeal(cap(v), cap(sealer)))),
    unseal: (v: unknown, unsealer: unknown) => trapped(() => put(capUnseal(cap(v), cap(unsealer)))),

    /* ---- memory ---- */
    load: (v: unknown, off: number, width: 1 | 2 | 4 | 8 = 8) => {
      const h = handles.check(v);
      return trapped(() => hart.load(h, off, width));
    },
    store: (v: unknown, off: number, width: 1 | 2 | 4 | 8, value: number) => {
      const h = handles.check(v);
      trapped(() => hart.store(h, off, width, value));
    },
    loadCap: (v: unknown, off: number) => {
      const h = handles.check(v);
      const dst = handles.alloc();
      try {
        trapped(() => hart.loadCap(dst, h, off));
      } catch (e) {
        handles.release(dst);
        throw e;
      }
      return ref(dst);
    },
    storeCap: (v: unknown, off: number, src: unknown) => {
      const h = handles.check(v);
      const s = handles.check(src);
      const w = regs.u32;
      trapped(
        () => hart.storeCap(s, h, off),
        () => [0, 1, 2, 3].map((k) => w[s * REG_WORDS + REG_W0 + k]),
      );
      if (ctx.onCapStore && w[s * REG_WORDS + REG_TAG] !== 0) ctx.onCapStore(num(regs.get(h).cursor) + off);
    },
    storeBytes: (v: unknown, off: number, bytes: number[]) => {
      const h = handles.check(v);
      for (let i = 0; i < bytes.length; i++) trapped(() => hart.store(h, off + i, 1, bytes[i]));
    },
    loadBytes: (v: unknown, off: number, n: number) => {
      const h = handles.check(v);
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(trapped(() => hart.load(h, off + i, 1)));
      return out;
    },

    /* ---- system calls ---- */
    mmap: (addr: unknown, len: number, prot: number, flags: number, fd = -1, pos = 0) => {
      const hint = addr === null || addr === undefined ? 0 : num(cap(addr).cursor);
      const va = call('mmap', hint, len, prot, flags, fd, pos) as number;
      return mappingCap(va, len, prot & 0x7);
    },
    munmap: (v: unknown, len: number) => void call('munmap', num(cap(v).cursor), len),
    mprotect: (v: unknown, len: number, prot: number) => void call('mprotect', num(cap(v).cursor), len, prot),
    minherit: (v: unknown, len: number, inherit: number) => {
      const c = cap(v);
      if (!c.tag) throw new GuestSysError('minherit', 'EPROT', 98, 'untagged capability'); /* R34 */
      if (c.cursor < c.base || c.cursor + BigInt(len) > c.top)
        throw new GuestSysError('minherit', 'EPROT', 98, 'range outside the capability');
      call('minherit', num(c.cursor), len, inherit);
    },
    madvise: (v: unknown, len: number, behav: number) => void call('madvise', num(cap(v).cursor), len, behav),
    mincore: (v: unknown, len: number) => [...(call('mincore', num(cap(v).cursor), len) as Uint8Array)],
    msync: (v: unknown, len: number, flags: number) => void call('msync', num(cap(v).cursor), len, flags),
    shm_open: (path: string | number, flags: number, mode = 0o600) => call('shm_open', path, flags, mode),
    shm_unlink: (path: string) => void call('shm_unlink', path),
    shm_create_largepage: (
      path: string | number,
      flags: number,
      psind: number,
      allocPolicy = 0,
      mode = 0o600,
    ) => call('shm_create_largepage', path, flags, psind, allocPolicy, mode),
    memfd_create: (name: string, flags = 0) => call('memfd_create', name, flags),
    ftruncate: (fd: number, len: number) => void call('ftruncate', fd, len),
    open: (path: string, flags: number, mode = 0o644) => call('open', path, flags, mode),
    close: (fd: number) => void call('close', fd),
    read: (fd: number, buf: unknown, n: number) => call('read', fd, userPtr(buf, n, CHERI_PERM_STORE), n),
    write: (fd: number, buf: unknown, n: number) => call('write', fd, userPtr(buf, n, CHERI_PERM_LOAD), n),
    lseek: (fd: number, off: number, whence: number) => call('lseek', fd, off, whence),
    unlink: (path: string) => void call('unlink', path),
    shmget: (key: number, size: number, flags: number) => call('shmget', key, size, flags),
    shmat: (id: number, addr: unknown, flags = 0) => {
      const hint = addr === null || addr === undefined ? 0 : num(cap(addr).cursor);
      /* the kernel side answers shmat with the segment's address and size */
      const { va, size } = call('shmat', id, hint, flags) as { va: number; size: number };
      return mappingCap(va, size, flags & SHM_RDONLY ? PROT_READ : PROT_READ | PROT_WRITE);
    },
    shmdt: (v: unknown) => void call('shmdt', num(cap(v).cursor)),
    shmctl: (id: number, cmd: number) => call('shmctl', id, cmd),
    pipe: () => call('pipe'),
    socketpair: (domain: number, type: number, protocol = 0) => call('socketpair', domain, type, protocol),
    sendmsg: (fd: number, msg: { iov?: { buf: unknown; len: number }[]; rights?: number[] }, flags = 0) =>
      call(
        'sendmsg',
        fd,
        {
          iov: (msg?.iov ?? []).map((v) => ({ base: userPtr(v.buf, v.len, CHERI_PERM_LOAD), len: v.len })),
          rights: msg?.rights ?? [],
        },
        flags,
      ),
    recvmsg: (fd: number, msg: { iov?: { buf: unknown; len: number }[] }, flags = 0) =>
      call(
        'recvmsg',
        fd,
        { iov: (msg?.iov ?? []).map((v) => ({ base: userPtr(v.buf, v.len, CHERI_PERM_STORE), len: v.len })) },
        flags,
      ),
    fork: (entry: string, arg?: unknown) => {
      side.safepoint();
      const { errno, value } = side.syscall(SYS_FORK, [String(entry), arg ?? null, handles.liveHandles()]);
      if (errno !== 0) throw new GuestSysError('fork', ctx.errnoName(errno), errno);
      return value as number;
    },
    thread_create: (entry: string, arg?: unknown) => {
      side.safepoint();
      const r = side.syscall(SYS_THREAD_CREATE, [String(entry), arg ?? null, handles.liveHandles()]);
      if (r.errno !== 0) throw new GuestSysError('thread_create', ctx.errnoName(r.errno), r.errno);
      return r.value as number;
    },
    thread_join: (tid: number) => {
      side.safepoint();
      const r = side.syscall(SYS_THREAD_JOIN, [tid]);
      if (r.errno !== 0) throw new GuestSysError('thread_join', ctx.errnoName(r.errno), r.errno);
      return r.value;
    },
    /* cheri_revoke(flags, start_epoch) → { epochs: { enqueue, dequeue }, stats } (R43–R46) */
    cheri_revoke: (flags: number, startEpoch: number) => {
      side.safepoint();
      const r = side.syscall(SYS_CHERI_REVOKE, [flags, startEpoch]);
      if (r.errno !== 0) throw new GuestSysError('cheri_revoke', ctx.errnoName(r.errno), r.errno);
      return r.value;
    },
    /*
     * cheri_revoke_get_shadow(CHERI_REVOKE_SHADOW_NOVMMAP, arena) → a data capability to the
     * arena's slice of the shadow bitmap (R40: the arena must be tagged (EINVAL) and carry the
     * VMEM software permission (EPERM)); INFO_STRUCT → the published epochs.
     */
    cheri_revoke_get_shadow: (selector: number, arena?: unknown) => {
      if (selector !== 0 /* CHERI_REVOKE_SHADOW_NOVMMAP */)
        return call('cheri_revoke_get_shadow', selector, 0, 0);
      const a = cap(arena);
      if (!a.tag) throw new GuestSysError('cheri_revoke_get_shadow', 'EINVAL', 22, 'untagged arena');
      if ((a.perms & CHERI_PERM_SW_VMEM) === 0)
        throw new GuestSysError('cheri_revoke_get_shadow', 'EPERM', 1, 'arena lacks the VMEM permission');
      const slice = call('cheri_revoke_get_shadow', selector, num(a.base), num(a.length)) as {
        base: number;
        length: number;
      };
      const c = capSetBounds(
        capSetAddr(regs.get(ROOT), BigInt(slice.base), ROOT),
        BigInt(slice.length),
        ROOT,
      ).cap;
      return put(capAndPerms(c, CHERI_PERM_GLOBAL | CHERI_PERM_LOAD | CHERI_PERM_STORE, ROOT));
    },
    exit: (status: number) => {
      call('exit', status);
      throw new GuestAbort(status, 'exit');
    },
    waitpid: (pid: number, options = 0) => {
      const r = call('waitpid', pid, options) as { pid: number; status: number; siginfo: unknown } | null;
      if (r === null) return null;
      const sig = r.status & 0x7f;
      return {
        pid: r.pid,
        status: r.status,
        exited: sig === 0,
        exitStatus: sig === 0 ? (r.status >> 8) & 0xff : null,
        termsig: sig === 0 ? null : sig,
        siginfo: (r.siginfo as Record<string, number> | null) ?? null,
      };
    },
    getpid: () => call('getpid'),
    getppid: () => call('getppid'),
    kill: (pid: number, sig: number) => void call('kill', pid, sig),
  };
}
