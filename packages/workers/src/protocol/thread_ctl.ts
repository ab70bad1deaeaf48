/*
 * Per-thread control block: the words the kernel and one simulated thread share.
 * Each word sits on its own 64-byte line (contended words on one line cost 3-4x).
 *
 * List of owners  (k) kernel writes, thread reads   (t) thread writes, kernel reads
 */
export const TH_STATE = 0; /* (t) TS_* below */
export const TH_STOP_REQ = 16; /* (k) 1 while the kernel wants the thread parked (thread_single) */
export const TH_REQ_SEQ = 32; /* (t) ++ when a syscall request is in the mailbox */
export const TH_REP_SEQ = 48; /* (k) set to TH_REQ_SEQ when the reply is in the mailbox */
export const TH_KILL = 64; /* (k) nonzero: the thread must exit at its next safepoint */
export const TH_OPS = 80; /* (t) safepoint polls so far / K, a progress counter for the watchdog */
const TH_WORDS = 96;

export const TS_NEW = 0; /* created, not yet running guest code */
export const TS_RUNNING = 1; /* running guest code: must be stopped at a safepoint */
export const TS_SYSCALL = 2; /* blocked in a syscall: counts as stopped */
export const TS_PARKED = 3; /* parked at a safepoint by a stop request */
export const TS_EXITED = 4; /* returned from its entry, or killed */

export const THREAD_STATE_NAMES = ['new', 'running', 'syscall', 'parked', 'exited'] as const;

/** States in which a thread is not touching guest memory or registers. */
export function threadStateStopped(state: number): boolean {
  return state !== TS_RUNNING;
}

export class ThreadCtl {
  readonly words: Int32Array;

  constructor(shared: SharedArrayBuffer) {
    this.words = new Int32Array(shared);
  }

  static create(): ThreadCtl {
    return new ThreadCtl(new SharedArrayBuffer(TH_WORDS * 4));
  }

  get shared(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  get state(): number {
    return Atomics.load(this.words, TH_STATE);
  }
}
