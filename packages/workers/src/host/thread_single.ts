/*
 * Stopping every thread of a vmspace (cf. FreeBSD thread_single(SINGLE_BOUNDARY)), as the
 * revoker needs.  Running threads park at their next safepoint; threads blocked in a syscall
 * count as stopped and stay blocked (they park on their way out).  A thread that does not
 * arrive in time is named in the error and the stop is rolled back.
 */
import { TH_STATE, TH_STOP_REQ, type ThreadCtl, TS_RUNNING } from '../protocol/thread_ctl.js';

export interface StoppableThread {
  readonly ctl: ThreadCtl;
  readonly name: string /* e.g. "pid 3 tid 2 (main)" */;
}

export class ThreadSingleTimeout extends Error {
  override name = 'ThreadSingleTimeout';
  readonly laggards: string[];

  constructor(laggards: string[], ms: number) {
    super(`thread_single: ${laggards.join(', ')} did not reach a safepoint within ${ms} ms`);
    this.laggards = laggards;
  }
}

/** Stop all `threads`; resolves once none is running guest code. */
export async function threadSingle(threads: readonly StoppableThread[], timeoutMs: number): Promise<void> {
  for (const t of threads) Atomics.store(t.ctl.words, TH_STOP_REQ, 1);
  const deadline = performance.now() + timeoutMs;
  const arrived = await Promise.all(threads.map((t) => waitStopped(t.ctl.words, deadline)));
  const laggards = threads.filter((_, i) => !arrived[i]).map((t) => t.name);
  if (laggards.length > 0) {
    threadResume(threads);
    throw new ThreadSingleTimeout(laggards, timeoutMs);
  }
}

/** Let the threads run again. */
export function threadResume(threads: readonly StoppableThread[]): void {
  for (const t of threads) {
    Atomics.store(t.ctl.words, TH_STOP_REQ, 0);
    Atomics.notify(t.ctl.words, TH_STOP_REQ);
  }
}

async function waitStopped(w: Int32Array, deadline: number): Promise<boolean> {
  for (let s = Atomics.load(w, TH_STATE); s === TS_RUNNING; s = Atomics.load(w, TH_STATE)) {
    const left = deadline - performance.now();
    if (left <= 0) return false;
    const r = Atomics.waitAsync(w, TH_STATE, s, left);
    if (r.async) await r.value;
  }
  return true;
}
