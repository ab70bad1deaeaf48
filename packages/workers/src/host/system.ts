/*
 * A simulated system: one machine (physical memory), one coordinator kernel on this thread,
 * and one worker per simulated thread.  The kernel never blocks its event loop: each thread
 * has an async syscall loop (host/syscall_server.ts); calls that would block (waitpid, an
 * empty pipe) are parked and retried whenever kernel state changes.
 *
 * Crash isolation: a fatal signal, an uncaught guest exception (SIGABRT, with its reason) or
 * the watchdog (SIGKILL when a running thread makes no progress) ends only that process:
 * its workers are stopped and the kernel's exit1 releases its frames, descriptors and shm
 * ownership; every other process goes on.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  bindMachine,
  CHERI_REVOKE_ASYNC,
  CHERI_REVOKE_IGNORE_START,
  CHERI_REVOKE_LAST_PASS,
  type CheriPolicy,
  type CheriRevokeStats,
  cheriRevokeCheck,
  cheriRevokeEpochClears,
  createKernel,
  ERESTART,
  ESRCH,
  exit1,
  type Kernel,
  MAP_ENTRY_COW,
  type Proc,
  type RevokeCheckReport,
  revokeAbort,
  revokeBegin,
  revokeEnd,
  revokeWhileStopped,
  SI_KERNEL,
  SIGABRT,
  SIGKILL,
  type Siginfo,
  siginfo,
  syscall,
  trapAlignmentFault,
  trapCapabilityFault,
  trapPageFault,
  vmMapLookupEntry,
  W_EXITCODE,
} from '@cherisim/kernel';
import { CapRegFile, capAlmighty, PhysMem, type PhysMemShared } from '@cherisim/machine';
import { type Logger, pino } from 'pino';
import { type CompiledGuest, compileGuest } from '../guest/compile.js';
import type { PlainData } from '../guest/plain_data.js';
import { Mailbox, type MailValue, type SyscallReply } from '../protocol/mailbox.js';
import {
  KERNEL_SYSCALLS,
  PAGE_FAULT_ACCESS,
  PAGE_FAULT_CAUSE,
  SYS_ABORT,
  SYS_CHERI_REVOKE,
  SYS_FORK,
  SYS_THREAD_CREATE,
  SYS_THREAD_EXIT,
  SYS_THREAD_JOIN,
  SYS_TRAP_ALIGN,
  SYS_TRAP_CAP,
  SYS_TRAP_PAGE,
  TRAP_ACTIONS,
} from '../protocol/sysno.js';
import {
  TH_KILL,
  TH_OPS,
  THREAD_STATE_NAMES,
  ThreadCtl,
  TS_EXITED,
  TS_RUNNING,
} from '../protocol/thread_ctl.js';
import type { ThreadStart } from '../thread/thread_main.js';
import { DEFAULT_SAFEPOINT_INTERVAL, SYSCALL_SPIN_US } from '../thread/thread_side.js';
import { serveThreadSyscalls } from './syscall_server.js';
import { type StoppableThread, threadResume, threadSingle } from './thread_single.js';
import { Tracer } from './trace.js';

export interface SystemOptions {
  readonly policy?: Partial<CheriPolicy>;
  readonly physBytes?: number /* default 64 MiB: experiments boot many systems */;
  readonly watchdogMs?: number /* a running thread with no safepoint for this long is killed */;
  readonly safepointInterval?: number;
  readonly registers?: number /* general capability registers per thread (guest handles) */;
  readonly logger?: Logger;
  readonly trace?: string /* NDJSON event trace file (appended to) */;
  readonly traceTag?: string /* names this system in the trace when many share one file */;
  /* run the independent revocation checker after every closed epoch (stress tests) */
  readonly checkRevocation?: boolean;
}

/** What the revocations of a run did, for stress reports (System.revocationReport). */
export interface RevocationReport {
  epochsClosed: number;
  passes: number;
  capsRevoked: number /* memory and registers */;
  tagsSwept: number /* tagged granules the passes examined */;
  pagesSwept: number /* pages the passes scanned (incl. load-barrier visits) */;
  passMs: number /* time inside cheri_revoke, world stopped or not: tagsSwept/passMs is a sweep rate */;
  pausesMs: number[] /* stop-the-world duration of each pass */;
  checks: number;
  violations: number;
  firstViolations: { pid: number; kind: string; where: string; cap: string }[];
}

export interface GuestProgramSource {
  readonly filename: string;
  readonly source: string;
}

/** How one process ended, as waitpid would tell its parent. */
export interface ProcessOutcome {
  pid: number;
  ppid: number;
  entry: string;
  exited: boolean;
  exitStatus: number | null;
  termsig: number | null;
  siginfo: Siginfo | null;
  reason: string | null /* SIGABRT from an uncaught exception, or the watchdog: why */;
}

interface ThreadRt {
  readonly proc: Proc;
  readonly tid: number;
  readonly ctl: ThreadCtl;
  readonly mailbox: Mailbox;
  readonly regs: CapRegFile;
  readonly worker: Worker;
  readonly entry: string;
  lastOps: number;
  lastProgress: number;
  result: { value: PlainData } | null /* set when a non-initial thread returns */;
}

const CORES = availableParallelism();
/* Calls whose result is td.retobj; every other call answers td.retval (read on a socket sets retobj too). */
const OBJECT_RESULTS = new Set([
  'mincore',
  'pipe',
  'socketpair',
  'recvmsg',
  'waitpid',
  'sigaction',
  'cheri_revoke_get_shadow',
]);
const threadMainUrl = new URL('../thread/thread_main.js', import.meta.url);
const RUNTIME_CALLS: Record<number, string> = {
  [SYS_TRAP_PAGE]: 'trap_page',
  [SYS_TRAP_CAP]: 'trap_cap',
  [SYS_TRAP_ALIGN]: 'trap_align',
  [SYS_FORK]: 'fork',
  [SYS_ABORT]: 'abort',
  [SYS_THREAD_CREATE]: 'thread_create',
  [SYS_THREAD_EXIT]: 'thread_exit',
  [SYS_THREAD_JOIN]: 'thread_join',
  [SYS_CHERI_REVOKE]: 'cheri_revoke',
};
const SIG_NAMES: Record<number, string> = {
  6: 'SIGABRT',
  9: 'SIGKILL',
  10: 'SIGBUS',
  11: 'SIGSEGV',
  34: 'SIGPROT',
};

export function signalName(sig: number): string {
  return SIG_NAMES[sig] ?? `signal ${sig}`;
}

export class System {
  readonly phys: PhysMem;
  readonly kernel: Kernel;
  readonly log: Logger;
  readonly #opts: SystemOptions;
  readonly #threads = new Map<number, ThreadRt[]>(); /* live threads per pid */
  readonly #allThreads = new Map<number, ThreadRt>(); /* by tid, until joined */
  readonly #outcomes = new Map<number, ProcessOutcome>();
  readonly #reasons = new Map<number, string>();
  readonly #entries = new Map<number, string>(); /* pid → the entry its first thread runs */
  readonly #parked: (() => boolean)[] = [];
  #program: CompiledGuest | null = null;
  #nextTid = 1;
  #watchdog: NodeJS.Timeout | null = null;
  #idle: (() => void) | null = null;
  readonly #tracer: Tracer | null;
  readonly #revocation: RevocationReport = {
    epochsClosed: 0,
    passes: 0,
    capsRevoked: 0,
    tagsSwept: 0,
    pagesSwept: 0,
    passMs: 0,
    pausesMs: [],
    checks: 0,
    violations: 0,
    firstViolations: [],
  };
  readonly #asyncRevoking = new Set<number>(); /* pids with a background (ASYNC) pass */
  #waking = false;
  #wakeAgain = false;

  constructor(opts: SystemOptions = {}) {
    this.#opts = opts;
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ subsys: 'system' });
    this.phys = new PhysMem({ bytes: opts.physBytes ?? 64 * 1024 * 1024 });
    this.kernel = createKernel({ machine: bindMachine(this.phys), policy: opts.policy, logger: opts.logger });
    this.#tracer = opts.trace ? new Tracer(opts.trace, opts.traceTag) : null;
  }

  /**
   * Run `entry` of the program as a new process and wait until it and every process it
   * created have ended.  Resolves to their outcomes, in pid order.
   */
  async run(program: GuestProgramSource, entry = 'main', args: PlainData[] = []): Promise<ProcessOutcome[]> {
    this.start(program, entry, args);
    return this.wait();
  }

  /**
   * Start `entry` of the program as a new process (a child of init) and return its pid.
   * The program is compiled once here: a syntax error throws a one-line GuestError before
   * anything runs.  One program per System.
   */
  start(program: GuestProgramSource, entry = 'main', args: PlainData[] = []): number {
    if (this.#program !== null) throw new Error('this System already runs a program');
    this.#program = compileGuest(program.filename, program.source);
    const p = this.kernel.spawn(entry);
    const regs = CapRegFile.create(this.#opts.registers ?? 256);
    regs.set(regs.ddcIdx, capAlmighty());
    this.#startThread(p, entry, args, regs, [], true);
    this.#startWatchdog();
    return p.pid;
  }

  /** Resolves when every process has ended, to their outcomes in pid order. */
  async wait(): Promise<ProcessOutcome[]> {
    if (this.#threads.size > 0)
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    this.#stopWatchdog();
    await this.#tracer?.close();
    return [...this.#outcomes.values()].sort((a, b) => a.pid - b.pid);
  }

  /** Post a signal to a process, as kill(2) from outside (the control plane). */
  kill(pid: number, sig: number): number {
    const errno = syscall(this.kernel, this.kernel.init.pid, 'kill', [pid, sig]);
    const p = this.kernel.procs.get(pid);
    if (p !== undefined && p.state !== 'run') this.#processEnded(p);
    this.#wakeParked();
    return errno;
  }

  /**
   * thread_single: stop every thread of process pid at a safepoint (threads in syscalls count
   * as stopped); a thread that does not arrive within timeoutMs is named in the error.
   */
  async threadSingle(pid: number, timeoutMs = 5000): Promise<void> {
    await threadSingle(this.#stoppable(pid), timeoutMs);
  }

  threadResume(pid: number): void {
    threadResume(this.#stoppable(pid));
  }

  #stoppable(pid: number): StoppableThread[] {
    return (this.#threads.get(pid) ?? []).map((t) => ({
      ctl: t.ctl,
      name: `pid ${pid} tid ${t.tid} (${t.entry})`,
    }));
  }

  /** Live processes with their threads' states, for inspection (the control plane). */
  processes(): {
    pid: number;
    ppid: number;
    entry: string;
    threads: { tid: number; entry: string; state: string }[];
  }[] {
    return [...this.kernel.procs.values()]
      .filter((p) => p !== this.kernel.init && p.state === 'run')
      .map((p) => ({
        pid: p.pid,
        ppid: p.parent?.pid ?? 0,
        entry: this.#entries.get(p.pid) ?? p.name,
        threads: (this.#threads.get(p.pid) ?? []).map((t) => ({
          tid: t.tid,
          entry: t.entry,
          state: THREAD_STATE_NAMES[t.ctl.state] ?? '?',
        })),
      }));
  }

  /** Stop everything still running (tests' teardown; a run normally ends by itself). */
  async shutdown(): Promise<void> {
    this.#stopWatchdog();
    await Promise.all([...this.#threads.values()].flat().map((t) => t.worker.terminate()));
    this.#threads.clear();
  }

  #startThread(
    p: Proc,
    entry: string,
    args: PlainData[],
    regs: CapRegFile,
    inherited: number[],
    initial: boolean,
  ): ThreadRt {
    const program = this.#program!;
    if (!this.#entries.has(p.pid)) this.#entries.set(p.pid, entry);
    const ctl = ThreadCtl.create();
    const mailbox = Mailbox.create();
    const start: ThreadStart = {
      phys: this.phys.shared() as PhysMemShared,
      mmu: (p.vmspace!.pmap.mmu as unknown as { shared: SharedArrayBuffer }).shared,
      regs: regs.shared,
      ctl: ctl.shared,
      mailbox: mailbox.shared,
      program,
      entry,
      args,
      inheritedHandles: inherited,
      safepointInterval: this.#opts.safepointInterval ?? DEFAULT_SAFEPOINT_INTERVAL,
      spinUs: this.#spinUs(),
      initial,
      traceCapStores: this.#tracer !== null,
      pid: p.pid,
      tid: this.#nextTid,
      logLevel: this.#opts.logger?.level ?? 'silent',
    };
    const worker = new Worker(threadMainUrl, { workerData: start });
    const t: ThreadRt = {
      proc: p,
      tid: this.#nextTid++,
      ctl,
      mailbox,
      regs,
      worker,
      entry,
      lastOps: 0,
      lastProgress: performance.now(),
      result: null,
    };
    this.#allThreads.set(t.tid, t);
    const list = this.#threads.get(p.pid) ?? [];
    list.push(t);
    this.#threads.set(p.pid, list);
    worker.on('error', (err) => {
      /* a crash of the worker itself (not of guest code): end the process, keep the system */
      this.#kill(p, SIGKILL, `thread runtime crashed: ${err.message}`);
    });
    worker.on('exit', () => this.#threadGone(t));
    worker.on('message', (m: { kind?: string; va?: number }) => {
      if (m?.kind === 'cap-store' && typeof m.va === 'number') this.#traceCapStore(t, m.va);
    });
    this.#tracer?.event(initial ? 'proc' : 'thread', { pid: p.pid, tid: t.tid, entry });
    void serveThreadSyscalls(
      ctl,
      mailbox,
      (no, a) => this.#dispatch(t, no, a),
      (err) => {
        this.log.error({ err, pid: p.pid }, 'kernel error in a system call');
        this.#kill(p, SIGKILL, `kernel error: ${err instanceof Error ? err.message : String(err)}`);
        return { errno: ESRCH, value: TRAP_ACTIONS.indexOf('killed') };
      },
      () => this.#spinUs(),
    );
    return t;
  }

  /*
   * Spinning for a syscall reply (and for the next request) saves a ~20-75 µs wake-up, but
   * only pays while every thread, plus this one, has a core: otherwise it steals the core
   * the other side needs.
   */
  #spinUs(): number {
    let live = 0;
    for (const list of this.#threads.values()) live += list.length;
    return live + 1 < CORES ? SYSCALL_SPIN_US : 0;
  }

  /* A tagged store the thread made: traced if its mapping writes through to a shared object. */
  #traceCapStore(t: ThreadRt, va: number): void {
    const vms = t.proc.vmspace;
    if (vms === null) return;
    const e = vmMapLookupEntry(vms.map, va);
    if (e === null || e.object === null || (e.eflags & MAP_ENTRY_COW) !== 0) return;
    this.#tracer!.event('cap-store-shared', { pid: t.proc.pid, tid: t.tid, va, object: e.object.kind });
  }

  #dispatch(t: ThreadRt, no: number, args: MailValue[]): SyscallReply | Promise<SyscallReply> {
    const r = this.#dispatch1(t, no, args);
    if (this.#tracer === null) return r;
    const trace = (reply: SyscallReply) => {
      const name = KERNEL_SYSCALLS[no] ?? RUNTIME_CALLS[no] ?? `sys${no}`;
      const value =
        no >= SYS_TRAP_PAGE && no <= SYS_TRAP_ALIGN ? TRAP_ACTIONS[reply.value as number] : reply.value;
      this.#tracer!.event(no >= SYS_TRAP_PAGE && no <= SYS_TRAP_ALIGN ? 'trap' : 'syscall', {
        pid: t.proc.pid,
        tid: t.tid,
        name,
        args,
        errno: reply.errno,
        ret: typeof value === 'object' ? undefined : value,
      });
      return reply;
    };
    return r instanceof Promise ? r.then(trace) : trace(r);
  }

  #dispatch1(t: ThreadRt, no: number, args: MailValue[]): SyscallReply | Promise<SyscallReply> {
    const k = this.kernel;
    const p = t.proc;
    const td = p.td;
    const trapReply = (action: string): SyscallReply => {
      if (p.state !== 'run') {
        this.#processEnded(p);
        this.#wakeParked();
      }
      return { errno: 0, value: TRAP_ACTIONS.indexOf(action as (typeof TRAP_ACTIONS)[number]) };
    };
    switch (no) {
      case SYS_TRAP_PAGE: {
        const [vaddr, access, cause, ...words] = args as number[];
        const fault = {
          name: 'PageFault',
          vaddr,
          access: PAGE_FAULT_ACCESS[access],
          cause: PAGE_FAULT_CAUSE[cause],
        };
        const bytes = words.length === 4 ? new Uint8Array(new Uint32Array(words).buffer) : undefined;
        return trapReply(trapPageFault(k, td, fault, bytes));
      }
      case SYS_TRAP_CAP:
        return trapReply(trapCapabilityFault(k, td, String(args[0]), Number(args[1])));
      case SYS_TRAP_ALIGN:
        return trapReply(trapAlignmentFault(k, td, Number(args[0])));
      case SYS_ABORT:
        this.#kill(p, SIGABRT, `uncaught exception: ${String(args[0])}`);
        return { errno: 0, value: 0 };
      case SYS_FORK:
        return this.#fork(t, String(args[0]), (args[1] ?? null) as PlainData, args[2] as number[]);
      case SYS_THREAD_CREATE: {
        const regs = new CapRegFile(new SharedArrayBuffer(t.regs.shared.byteLength));
        regs.u32.set(t.regs.u32);
        const nt = this.#startThread(
          p,
          String(args[0]),
          [(args[1] ?? null) as PlainData],
          regs,
          args[2] as number[],
          false,
        );
        return { errno: 0, value: nt.tid };
      }
      case SYS_THREAD_EXIT:
        t.result = { value: (args[0] ?? null) as PlainData };
        this.#wakeParked();
        return { errno: 0, value: 0 };
      case SYS_THREAD_JOIN:
        return this.#join(t, Number(args[0]));
      case SYS_CHERI_REVOKE:
        return typeof args[0] === 'number' && (args[0] & CHERI_REVOKE_ASYNC) !== 0
          ? this.#cheriRevokeAsync(t, args[0] & ~CHERI_REVOKE_ASYNC, args[1])
          : this.#cheriRevoke(t, args[0], args[1]);
    }
    const name = KERNEL_SYSCALLS[no];
    if (name === undefined) return { errno: 78 /* ENOSYS */, value: undefined };
    return this.#kernelCall(t, name, args);
  }

  /* A kernel system call; ERESTART (would block) parks it until kernel state changes. */
  #kernelCall(t: ThreadRt, name: string, args: MailValue[]): SyscallReply | Promise<SyscallReply> {
    const attempt = (): SyscallReply | null => {
      const p = t.proc;
      const errno = syscall(this.kernel, p.pid, name, args);
      if (errno === ERESTART) return null;
      let value: unknown = OBJECT_RESULTS.has(name) ? p.td.retobj : p.td.retval;
      if (name === 'shmat' && errno === 0)
        value = { va: p.td.retval, size: p.sysvAttach.get(p.td.retval)?.size ?? 0 };
      if (p.state !== 'run') this.#processEnded(p);
      this.#wakeParked();
      return { errno, value };
    };
    const first = attempt();
    if (first !== null) return first;
    return new Promise<SyscallReply>((resolve) => {
      this.#parked.push(() => {
        if (t.proc.state !== 'run') {
          resolve({ errno: ESRCH, value: undefined });
          return true;
        }
        const r = attempt();
        if (r === null) return false;
        resolve(r);
        return true;
      });
    });
  }

  /* Retry parked calls; a retry that completes changes state, so go round until none does. */
  #wakeParked(): void {
    if (this.#waking) {
      this.#wakeAgain = true;
      return;
    }
    this.#waking = true;
    try {
      do {
        this.#wakeAgain = false;
        for (let i = 0; i < this.#parked.length; ) {
          const retry = this.#parked[i];
          if (retry()) {
            this.#parked.splice(i, 1);
            this.#wakeAgain = true;
          } else i++;
        }
      } while (this.#wakeAgain);
    } finally {
      this.#waking = false;
    }
  }

  /*
   * cheri_revoke, driven through the kernel's phases: begin (fast outs, open the epoch, the
   * concurrent pass with the world running), stop every thread of the process, scan their
   * register files and the pages dirtied since, resume, close.  A caller that finds another
   * pass busy is parked until state changes (R45).
   */
  async #cheriRevoke(t: ThreadRt, flags: unknown, start: unknown): Promise<SyscallReply> {
    const k = this.kernel;
    const p = t.proc;
    for (;;) {
      if (p.state !== 'run') return { errno: ESRCH, value: null };
      const vms = p.vmspace!;
      const before = { ...vms.revoke.stats };
      const epochBefore = vms.revoke.epoch;
      const tBegin = performance.now();
      const r = revokeBegin(k, p.td, flags, start);
      if (r.done) {
        if (r.errno === ERESTART) {
          await new Promise<void>((resolve) =>
            this.#parked.push(() => {
              resolve();
              return true;
            }),
          );
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        const value = p.td.retobj; /* before anything else can run a system call on this td */
        /*
         * A call that closed an already open epoch without stopping the world (load side):
         * counted, but not checked — by the time the world could be stopped, other threads may
         * have painted more, and the checker would report their live capabilities.
         */
        const closed = r.errno === 0 && vms.revoke.epoch > epochBefore && vms.revoke.epoch % 2 === 0;
        if (closed) this.#account(vms, before, tBegin, true);
        return { errno: r.errno, value };
      }
      const pass = r.pass;
      const check = this.#opts.checkRevocation === true && pass.close;
      const t0 = performance.now();
      try {
        await this.threadSingle(p.pid);
      } catch (err) {
        this.log.warn({ err, pid: p.pid }, 'cheri_revoke: could not stop the world');
        return { errno: revokeAbort(k, pass), value: null };
      }
      const regFiles = () => (this.#threads.get(p.pid) ?? []).map((x) => x.regs);
      let errno: number;
      let value: unknown;
      try {
        revokeWhileStopped(k, pass, regFiles());
        if (!check) {
          this.threadResume(p.pid);
          this.#revocation.pausesMs.push(performance.now() - t0);
        }
        errno = revokeEnd(k, pass);
        value = p.td.retobj;
        if (check) {
          /* with the world still stopped: nothing can paint or store between close and check */
          this.#revocation.pausesMs.push(performance.now() - t0);
          this.#recordCheck(p, cheriRevokeCheck(k, vms, regFiles()));
        }
      } finally {
        if (check) this.threadResume(p.pid);
      }
      this.#account(vms, before, tBegin, pass.close && errno === 0);
      this.#wakeParked();
      return { errno, value };
    }
  }

  /*
   * CHERI_REVOKE_ASYNC (R44, newer kernels): open the epoch now and reply, then close it in the
   * background, as CheriBSD's revoker kernel process does; calls while that pass runs, or
   * whose start epoch has cleared, return the published epochs at once.
   */
  async #cheriRevokeAsync(t: ThreadRt, flags: number, start: unknown): Promise<SyscallReply> {
    const p = t.proc;
    const vms = p.vmspace;
    if (p.state !== 'run' || vms === null) return { errno: ESRCH, value: null };
    const now = (): SyscallReply => ({
      errno: 0,
      value: { epochs: { enqueue: vms.revoke.enqueue, dequeue: vms.revoke.dequeue }, stats: null },
    });
    if (typeof start !== 'number' || !Number.isInteger(start) || start < 0)
      return { errno: 22 /* EINVAL */, value: null };
    const from = (flags & CHERI_REVOKE_IGNORE_START) !== 0 ? vms.revoke.epoch : start;
    if (this.#asyncRevoking.has(p.pid) || cheriRevokeEpochClears(vms.revoke.epoch, from)) return now();
    this.#asyncRevoking.add(p.pid);
    const opened = await this.#cheriRevoke(t, flags & ~CHERI_REVOKE_LAST_PASS, start);
    if (opened.errno !== 0) {
      this.#asyncRevoking.delete(p.pid);
      return opened;
    }
    const enqueue = (opened.value as { epochs: { enqueue: number } }).epochs.enqueue;
    setImmediate(() => {
      void this.#cheriRevoke(t, (flags | CHERI_REVOKE_LAST_PASS) & ~CHERI_REVOKE_IGNORE_START, enqueue)
        .catch((err) => this.log.error({ err, pid: p.pid }, 'asynchronous revocation failed'))
        .finally(() => {
          this.#asyncRevoking.delete(p.pid);
          this.#wakeParked();
        });
    });
    return opened;
  }

  /* Add one pass's counters (stats deltas; TAKE_STATS may have reset them in between). */
  #account(
    vms: { revoke: { stats: CheriRevokeStats } },
    before: CheriRevokeStats,
    tBegin: number,
    closed: boolean,
  ): void {
    const after = vms.revoke.stats;
    const delta = (f: keyof CheriRevokeStats) => (after[f] >= before[f] ? after[f] - before[f] : after[f]);
    const r = this.#revocation;
    r.passes++;
    r.capsRevoked += delta('caps_cleared') + delta('regs_cleared');
    r.tagsSwept += delta('caps_found') + delta('caps_found_revoked');
    r.pagesSwept += delta('pages_scan_rw') + delta('pages_scan_ro') + delta('fault_visits');
    r.passMs += performance.now() - tBegin;
    if (closed) r.epochsClosed++;
  }

  #recordCheck(p: Proc, report: RevokeCheckReport): void {
    const r = this.#revocation;
    r.checks++;
    r.violations += report.violations.length;
    for (const v of report.violations.slice(0, Math.max(0, 10 - r.firstViolations.length)))
      r.firstViolations.push({ pid: p.pid, kind: v.kind, where: v.where, cap: v.cap });
    if (!report.ok)
      this.log.error({ pid: p.pid, violations: report.violations.length }, 'revocation checker');
  }

  /** Revocation activity so far (epochs, capabilities revoked, pauses, checker results). */
  revocationReport(): RevocationReport {
    const r = this.#revocation;
    return { ...r, pausesMs: [...r.pausesMs], firstViolations: [...r.firstViolations] };
  }

  /* thread_join: the joined thread's return value once it has returned (EINVAL: not ours). */
  #join(t: ThreadRt, tid: number): SyscallReply | Promise<SyscallReply> {
    const target = this.#allThreads.get(tid);
    if (target === undefined || target.proc !== t.proc || target === t)
      return { errno: 22 /* EINVAL */, value: null };
    const ready = (): SyscallReply | null => {
      if (target.result === null && target.ctl.state !== TS_EXITED) return null;
      this.#allThreads.delete(tid);
      return { errno: 0, value: target.result?.value ?? null };
    };
    const now = ready();
    if (now !== null) return now;
    return new Promise((resolve) => {
      this.#parked.push(() => {
        if (t.proc.state !== 'run') {
          resolve({ errno: ESRCH, value: null });
          return true;
        }
        const r = ready();
        if (r === null) return false;
        resolve(r);
        return true;
      });
    });
  }

  #fork(t: ThreadRt, entry: string, arg: PlainData, handles: number[]): SyscallReply {
    const k = this.kernel;
    const parent = t.proc;
    const errno = syscall(k, parent.pid, 'fork', []);
    if (errno !== 0) return { errno, value: undefined };
    const child = k.procs.get(parent.td.retval)!;
    /* the child's register file is a copy of the forking thread's (blocked in this call) */
    const regs = new CapRegFile(new SharedArrayBuffer(t.regs.shared.byteLength));
    regs.u32.set(t.regs.u32);
    this.#startThread(child, entry, [arg], regs, Array.isArray(handles) ? handles : [], true);
    return { errno: 0, value: child.pid };
  }

  /* End a process from outside the kernel's own paths (abort, watchdog, runtime crash). */
  #kill(p: Proc, sig: number, reason: string): void {
    if (p.state !== 'run') return;
    this.#reasons.set(p.pid, reason);
    exit1(this.kernel, p, W_EXITCODE(0, sig), siginfo(sig, SI_KERNEL, {}));
    this.#processEnded(p);
    this.#wakeParked();
  }

  /* The kernel has made p a zombie: record how it ended and stop its threads. */
  #processEnded(p: Proc): void {
    if (this.#outcomes.has(p.pid)) return;
    const sig = p.xstat & 0x7f;
    this.#tracer?.event('exit', {
      pid: p.pid,
      xstat: p.xstat,
      siginfo: p.xsiginfo,
      reason: this.#reasons.get(p.pid),
    });
    this.#outcomes.set(p.pid, {
      pid: p.pid,
      ppid: p.parent?.pid ?? 0,
      entry: this.#entries.get(p.pid) ?? p.name,
      exited: sig === 0,
      exitStatus: sig === 0 ? (p.xstat >> 8) & 0xff : null,
      termsig: sig === 0 ? null : sig,
      siginfo: p.xsiginfo,
      reason: this.#reasons.get(p.pid) ?? null,
    });
    this.log.debug({ pid: p.pid, xstat: p.xstat }, 'process ended');
    for (const t of this.#threads.get(p.pid) ?? []) {
      Atomics.store(t.ctl.words, TH_KILL, 1);
      /* a thread blocked in Atomics.wait outside a syscall (none today) or looping without
         safepoints is terminated outright after a grace period */
      setTimeout(() => {
        if (t.ctl.state !== TS_EXITED) void t.worker.terminate();
      }, 200).unref();
    }
    if (p.parent === this.kernel.init) this.kernel.reap(p);
  }

  #threadGone(t: ThreadRt): void {
    const list = this.#threads.get(t.proc.pid) ?? [];
    const i = list.indexOf(t);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) {
      this.#threads.delete(t.proc.pid);
      /* the last thread's exit ends its process: with status 0 if it returned, else killed */
      if (t.proc.state === 'run') {
        if (t.result !== null) {
          syscall(this.kernel, t.proc.pid, 'exit', [0]);
          this.#processEnded(t.proc);
          this.#wakeParked();
        } else this.#kill(t.proc, SIGKILL, 'all threads ended');
      }
    }
    this.#wakeParked(); /* a joiner may be waiting for this thread */
    if (this.#threads.size === 0 && this.#idle) {
      const idle = this.#idle;
      this.#idle = null;
      idle();
    }
  }

  #startWatchdog(): void {
    const limit = this.#opts.watchdogMs ?? 10_000;
    this.#watchdog = setInterval(
      () => {
        const now = performance.now();
        for (const t of [...this.#threads.values()].flat()) {
          const ops = Atomics.load(t.ctl.words, TH_OPS);
          if (ops !== t.lastOps || t.ctl.state !== TS_RUNNING) {
            t.lastOps = ops;
            t.lastProgress = now;
          } else if (now - t.lastProgress > limit) {
            void t.worker.terminate();
            this.#kill(t.proc, SIGKILL, `watchdog: thread ${t.tid} made no progress for ${limit} ms`);
          }
        }
      },
      Math.min(250, Math.max(10, limit / 4)),
    );
    this.#watchdog.unref();
  }

  #stopWatchdog(): void {
    if (this.#watchdog) clearInterval(this.#watchdog);
    this.#watchdog = null;
  }
}
