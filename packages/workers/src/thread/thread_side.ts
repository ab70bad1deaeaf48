/*
 * The simulated thread's half of the control protocol: safepoint polls, parking for
 * thread_single, and synchronous syscalls through the mailbox.  Runs inside the thread's
 * worker; blocks it with Atomics.wait (allowed off the main thread).
 */
import type { Mailbox, MailValue, SyscallReply } from '../protocol/mailbox.js';
import {
  TH_KILL,
  TH_OPS,
  TH_REP_SEQ,
  TH_REQ_SEQ,
  TH_STATE,
  TH_STOP_REQ,
  type ThreadCtl,
  TS_EXITED,
  TS_PARKED,
  TS_RUNNING,
  TS_SYSCALL,
} from '../protocol/thread_ctl.js';

/* Guest operations between two polls of the stop-request word (K ≥ 100 costs nothing). */
export const DEFAULT_SAFEPOINT_INTERVAL = 128;

/*
 * A wait/notify round trip costs tens of µs (the sleeper's core must wake), most syscalls
 * take the kernel a few µs: spin that long before sleeping (adaptive spinning, as futexes do).
 */
export const SYSCALL_SPIN_US = 40;

/** Spin until w[i] === want or `us` microseconds pass; true if it became equal. */
export function spinUntilEqual(w: Int32Array, i: number, want: number, us: number): boolean {
  if (us <= 0) return Atomics.load(w, i) === want;
  const end = performance.now() + us / 1000;
  for (;;) {
    for (let k = 0; k < 64; k++) if (Atomics.load(w, i) === want) return true;
    if (performance.now() > end) return false;
  }
}

/** Thrown at a safepoint when the kernel has killed the thread; the runtime unwinds and exits. */
export class ThreadKilled extends Error {
  override name = 'ThreadKilled';
}

export class ThreadSide {
  readonly ctl: ThreadCtl;
  readonly mailbox: Mailbox;
  readonly interval: number;
  #countdown: number;
  readonly #w: Int32Array;

  readonly spinUs: number;

  /* spinUs: how long a syscall spins for its reply before sleeping (0 when threads outnumber cores) */
  constructor(
    ctl: ThreadCtl,
    mailbox: Mailbox,
    interval = DEFAULT_SAFEPOINT_INTERVAL,
    spinUs = SYSCALL_SPIN_US,
  ) {
    this.spinUs = spinUs;
    this.ctl = ctl;
    this.mailbox = mailbox;
    this.interval = interval;
    this.#countdown = interval;
    this.#w = ctl.words;
  }

  /** Mark the thread running (first entry into guest code). */
  start(): void {
    this.#enterUser();
  }

  /** Mark the thread exited and wake whoever waits on it (the syscall server, thread_single). */
  exit(): void {
    Atomics.store(this.#w, TH_STATE, TS_EXITED);
    Atomics.notify(this.#w, TH_STATE);
    Atomics.add(this.#w, TH_REQ_SEQ, 1); /* wakes the server loop, which sees EXITED and stops */
    Atomics.notify(this.#w, TH_REQ_SEQ);
  }

  /** Count one guest operation; every `interval` of them, honour stop and kill requests. */
  safepoint(): void {
    if (--this.#countdown > 0) return;
    this.#countdown = this.interval;
    this.poll();
  }

  poll(): void {
    const w = this.#w;
    Atomics.add(w, TH_OPS, 1);
    if (Atomics.load(w, TH_KILL) !== 0) throw new ThreadKilled('killed');
    if (Atomics.load(w, TH_STOP_REQ) !== 0) this.#park();
  }

  /** A synchronous system call: post the request, sleep until the kernel replies. */
  syscall(sysno: number, args: readonly MailValue[]): SyscallReply {
    const w = this.#w;
    this.mailbox.writeRequest(sysno, args);
    Atomics.store(w, TH_STATE, TS_SYSCALL);
    Atomics.notify(w, TH_STATE); /* a pending thread_single counts us as stopped now */
    const seq = (w[TH_REQ_SEQ] + 1) | 0;
    Atomics.store(w, TH_REQ_SEQ, seq);
    Atomics.notify(w, TH_REQ_SEQ);
    if (!spinUntilEqual(w, TH_REP_SEQ, seq, this.spinUs))
      for (let rep = Atomics.load(w, TH_REP_SEQ); rep !== seq; rep = Atomics.load(w, TH_REP_SEQ))
        Atomics.wait(w, TH_REP_SEQ, rep);
    const reply = this.mailbox.readReply();
    this.#enterUser();
    return reply;
  }

  /*
   * Leave the kernel (or a park) for guest code.  Store RUNNING, then read the stop request:
   * with the kernel's "store request, then read state" (both seq_cst), one side always sees
   * the other, so the kernel never believes a running thread is stopped.
   */
  #enterUser(): void {
    const w = this.#w;
    for (;;) {
      Atomics.store(w, TH_STATE, TS_RUNNING);
      if (Atomics.load(w, TH_STOP_REQ) === 0) break;
      this.#waitWhileStopped();
    }
    Atomics.notify(w, TH_STATE); /* for whoever waits to see us running again (benchmarks, tests) */
    if (Atomics.load(w, TH_KILL) !== 0) throw new ThreadKilled('killed');
  }

  #park(): void {
    this.#waitWhileStopped();
    this.#enterUser();
  }

  #waitWhileStopped(): void {
    const w = this.#w;
    Atomics.store(w, TH_STATE, TS_PARKED);
    Atomics.notify(w, TH_STATE);
    for (let req = Atomics.load(w, TH_STOP_REQ); req !== 0; req = Atomics.load(w, TH_STOP_REQ)) {
      if (Atomics.load(w, TH_KILL) !== 0) return;
      Atomics.wait(w, TH_STOP_REQ, req);
    }
  }
}
