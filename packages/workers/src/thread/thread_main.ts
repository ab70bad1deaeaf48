/*
 * Entry point of a simulated thread's worker: attach to physical memory, the vmspace's MMU
 * words and this thread's register file, compile the guest program in a sandbox, and run
 * the entry.  Returning from the entry is exit(status); an uncaught guest exception aborts
 * the process (SIGABRT) with a one-line reason.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { errnoName } from '@cherisim/kernel';
import { CapRegFile, Hart, MmuControl, PhysMem, type PhysMemShared } from '@cherisim/machine';
import { pino } from 'pino';
import type { CompiledGuest } from '../guest/compile.js';
import { GuestAbort, GuestError } from '../guest/guest_error.js';
import type { PlainData } from '../guest/plain_data.js';
import { createSandbox } from '../guest/sandbox.js';
import { Mailbox } from '../protocol/mailbox.js';
import { SYS_ABORT, SYS_THREAD_EXIT, sysno } from '../protocol/sysno.js';
import { ThreadCtl } from '../protocol/thread_ctl.js';
import { CapHandles } from './cap_handles.js';
import { makeGuestApi } from './guest_api.js';
import { GUEST_CONSTANTS } from './guest_constants.js';
import { ThreadKilled, ThreadSide } from './thread_side.js';

export interface ThreadStart {
  readonly phys: PhysMemShared;
  readonly mmu: SharedArrayBuffer;
  readonly regs: SharedArrayBuffer;
  readonly ctl: SharedArrayBuffer;
  readonly mailbox: SharedArrayBuffer;
  readonly program: CompiledGuest;
  readonly entry: string;
  readonly args: PlainData[];
  readonly inheritedHandles: number[];
  readonly safepointInterval: number;
  readonly spinUs: number;
  readonly initial: boolean /* the process's first thread: returning from it is exit() */;
  readonly traceCapStores: boolean /* report tagged stores to the kernel's tracer */;
  readonly pid: number;
  readonly tid: number;
  readonly logLevel: string /* this thread's pino level ('silent' by default) */;
}

const start = workerData as ThreadStart;
/* One root logger per thread; off the main thread pino must write synchronously or lose lines. */
const log = pino({ level: start.logLevel }, pino.destination({ dest: 2, sync: true })).child({
  pid: start.pid,
  tid: start.tid,
  subsys: 'thread',
});
const side = new ThreadSide(
  new ThreadCtl(start.ctl),
  new Mailbox(start.mailbox),
  start.safepointInterval,
  start.spinUs,
);
const regs = new CapRegFile(start.regs);
const hart = new Hart(new PhysMem({ shared: start.phys }), new MmuControl(start.mmu), regs);
const handles = new CapHandles(regs);
handles.adopt(start.inheritedHandles);

function abort(reason: string): void {
  log.warn({ reason }, 'guest aborted');
  side.syscall(SYS_ABORT, [reason.split('\n')[0].slice(0, 500)]);
}

try {
  side.start();
  const sandbox = createSandbox({
    compiled: start.program,
    api: makeGuestApi({
      hart,
      side,
      handles,
      errnoName,
      onCapStore: start.traceCapStores
        ? (va) => parentPort!.postMessage({ kind: 'cap-store', va })
        : undefined,
    }),
    constants: GUEST_CONSTANTS,
  });
  const ret = sandbox.call(start.entry, start.args);
  if (start.initial) {
    const status = typeof ret === 'number' && Number.isInteger(ret) ? ret & 0xff : 0;
    side.syscall(sysno('exit'), [status]);
  } else side.syscall(SYS_THREAD_EXIT, [ret ?? null]);
} catch (err) {
  if (err instanceof GuestAbort || err instanceof ThreadKilled) {
    /* the process already ended (exit, a fatal signal, or the kernel killed this thread) */
    log.debug({ why: err.message }, 'guest ended');
  } else if (err instanceof GuestError) abort(err.message);
  else abort(`internal error in the thread runtime: ${err instanceof Error ? err.message : String(err)}`);
} finally {
  side.exit();
}
