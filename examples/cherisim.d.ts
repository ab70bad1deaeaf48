/*
 * Typings for guest programs: `import type { Sys } from 'cherisim'` and the constants.
 * Independent of @cherisim/workers; they describe what the sandbox gives a guest
 * (packages/workers/src/thread/guest_api.ts, guest_constants.ts).  Point an editor at this
 * file (e.g. a tsconfig with "include": ["examples"]) to type-check scenarios; `cherisim run`
 * itself only strips types, it never type-checks.
 */
declare module 'cherisim' {
  /** A capability as a guest holds it: a handle to a register, plus a snapshot of its fields. */
  export interface CapRef {
    readonly handle: number;
    readonly tag: boolean;
    readonly address: number;
    readonly base: number;
    readonly length: number;
    readonly perms: number;
    readonly otype: number;
    readonly sealed: boolean;
  }
  export type Cap = CapRef | number;
  export interface WaitStatus {
    pid: number;
    status: number;
    exited: boolean;
    exitStatus: number | null;
    termsig: number | null;
    siginfo: { si_signo: number; si_code: number; si_addr: number; si_trapno: number } | null;
  }
  export interface RecvResult {
    bytes: number;
    rights: number[];
    flags: number;
  }
  export interface Iovec {
    buf: Cap;
    len: number;
  }
  export interface Sys {
    /* capabilities */
    cap(c: Cap): CapRef;
    tag(c: Cap): boolean;
    address(c: Cap): number;
    base(c: Cap): number;
    length(c: Cap): number;
    perms(c: Cap): number;
    otype(c: Cap): number;
    format(c: Cap): string;
    release(c: Cap): void;
    setBounds(c: Cap, len: number): CapRef;
    setBoundsExact(c: Cap, len: number): CapRef;
    andPerms(c: Cap, perms: number): CapRef;
    setAddr(c: Cap, addr: number): CapRef;
    incOffset(c: Cap, delta: number): CapRef;
    clearTag(c: Cap): CapRef;
    sealEntry(c: Cap): CapRef;
    seal(c: Cap, sealer: Cap): CapRef;
    unseal(c: Cap, unsealer: Cap): CapRef;
    /* memory */
    load(c: Cap, off: number, width?: 1 | 2 | 4 | 8): number;
    store(c: Cap, off: number, width: 1 | 2 | 4 | 8, value: number): void;
    loadCap(c: Cap, off: number): CapRef;
    storeCap(c: Cap, off: number, src: Cap): void;
    loadBytes(c: Cap, off: number, n: number): number[];
    storeBytes(c: Cap, off: number, bytes: number[]): void;
    /* VM */
    mmap(addr: Cap | null, len: number, prot: number, flags: number, fd?: number, pos?: number): CapRef;
    munmap(c: Cap, len: number): void;
    mprotect(c: Cap, len: number, prot: number): void;
    minherit(c: Cap, len: number, inherit: number): void;
    madvise(c: Cap, len: number, behav: number): void;
    mincore(c: Cap, len: number): number[];
    msync(c: Cap, len: number, flags: number): void;
    /* files, shm */
    shm_open(path: string | number, flags: number, mode?: number): number;
    shm_unlink(path: string): void;
    memfd_create(name: string, flags?: number): number;
    ftruncate(fd: number, len: number): void;
    open(path: string, flags: number, mode?: number): number;
    close(fd: number): void;
    /** Bytes read; on a socket this kernel answers with a RecvResult. */
    read(fd: number, buf: Cap, n: number): number | RecvResult;
    write(fd: number, buf: Cap, n: number): number;
    lseek(fd: number, off: number, whence: number): number;
    unlink(path: string): void;
    shmget(key: number, size: number, flags: number): number;
    shmat(id: number, addr: Cap | null, flags?: number): CapRef;
    shmdt(c: Cap): void;
    shmctl(id: number, cmd: number): unknown;
    /* IPC */
    pipe(): [number, number];
    socketpair(domain: number, type: number, protocol?: number): [number, number];
    sendmsg(fd: number, msg: { iov?: Iovec[]; rights?: number[] }, flags?: number): number;
    recvmsg(fd: number, msg: { iov?: Iovec[] }, flags?: number): RecvResult;
    /* processes and threads */
    fork(entry: string, arg?: unknown): number;
    waitpid(pid: number, options?: number): WaitStatus;
    exit(status: number): never;
    getpid(): number;
    getppid(): number;
    kill(pid: number, sig: number): void;
    shm_create_largepage(
      path: string | number,
      flags: number,
      psind: number,
      allocPolicy?: number,
      mode?: number,
    ): number;
    /* revocation (cheribsd-semantics.md §5) */
    cheri_revoke(
      flags: number,
      startEpoch: number,
    ): { epochs: { enqueue: number; dequeue: number }; stats: unknown };
    cheri_revoke_get_shadow(
      selector: number,
      arena?: Cap,
    ): CapRef | { epochs: { enqueue: number; dequeue: number } };
    /* the guest library: CHERI C builtins, malloc with an mrs-like quarantine, workspaces, VSB */
    cheri_bounds_set(c: Cap, len: number): CapRef;
    malloc(size: number): CapRef | null;
    calloc(n: number, size: number): CapRef | null;
    realloc(c: Cap | null, size: number): CapRef | null;
    free(c: Cap | null): void;
    malloc_stats(): Record<string, number | boolean>;
    malloc_config(config?: {
      minRevokeHeapBytes?: number;
      quarantineRatio?: number;
      loadSide?: boolean | null;
      concurrentPasses?: number;
    }): Record<string, unknown>;
    malloc_revoke_quarantine_force_flush(): void;
    WS_Init(space: Cap, id: string, len: number): number;
    WS_Alloc(ws: number, bytes: number): CapRef | null;
    WS_Reserve(ws: number, bytes?: number): CapRef | null;
    WS_Release(ws: number, bytes: number): void;
    WS_Overflowed(ws: number): boolean;
    VSB_new(buf: Cap | null, len: number): number;
    VSB_cat(vsb: number, s: string): number;
    VSB_finish(vsb: number): number;
    VSB_data(vsb: number): CapRef;
    loadString(c: Cap, off?: number): string;
    storeString(c: Cap, off: number, s: string): number;
    thread_create(entry: string, arg?: unknown): number;
    thread_join(tid: number): unknown;
  }
  /** A failed system call: CheriBSD's errno name (code) and number. */
  export class SysError extends Error {
    readonly code: string;
    readonly errno: number;
  }

  export const PAGE_SIZE: number;
  export const CAP_SIZE: number;
  /* mman.h */
  export const PROT_NONE: number;
  export const PROT_READ: number;
  export const PROT_WRITE: number;
  export const PROT_EXEC: number;
  export const PROT_CAP: number;
  export const PROT_NO_CAP: number;
  export const MAP_SHARED: number;
  export const MAP_PRIVATE: number;
  export const MAP_ANON: number;
  export const MAP_FIXED: number;
  export const INHERIT_SHARE: number;
  export const INHERIT_COPY: number;
  export const INHERIT_NONE: number;
  export const INHERIT_ZERO: number;
  export const MFD_CLOEXEC: number;
  export const MFD_ALLOW_SEALING: number;
  export const MFD_SHARECAP: number;
  export const SHM_ANON: number;
  export const SHM_RDONLY: number;
  /* fcntl.h */
  export const O_RDONLY: number;
  export const O_WRONLY: number;
  export const O_RDWR: number;
  export const O_CREAT: number;
  export const O_EXCL: number;
  export const O_TRUNC: number;
  export const O_SHARECAP: number;
  export const SEEK_SET: number;
  export const SEEK_CUR: number;
  export const SEEK_END: number;
  /* ipc.h */
  export const IPC_PRIVATE: number;
  export const IPC_CREAT: number;
  export const IPC_RMID: number;
  /* socket.h */
  export const AF_UNIX: number;
  export const SOCK_STREAM: number;
  export const SOCK_DGRAM: number;
  export const SCM_RIGHTS: number;
  /* signal.h */
  export const SIGABRT: number;
  export const SIGKILL: number;
  export const SIGBUS: number;
  export const SIGSEGV: number;
  export const SIGPROT: number;
  export const SEGV_MAPERR: number;
  export const SEGV_ACCERR: number;
  export const SEGV_STORETAG: number;
  export const SEGV_LOADTAG: number;
  export const WNOHANG: number;
  /* errno */
  export const EACCES: number;
  export const EINVAL: number;
  export const EPROT: number;
  export const ENOENT: number;
  export const EAGAIN: number;
  /* capability permissions */
  export const CHERI_PERM_GLOBAL: number;
  export const CHERI_PERM_EXECUTE: number;
  export const CHERI_PERM_LOAD: number;
  export const CHERI_PERM_STORE: number;
  export const CHERI_PERM_LOAD_CAP: number;
  export const CHERI_PERM_STORE_CAP: number;
}
