/*
 * The kernel's half of the syscall mailbox: one async loop per thread, waiting with
 * Atomics.waitAsync so the kernel's event loop is never blocked.  A handler may take its
 * time (waitpid, a blocking read): the thread sleeps in Atomics.wait meanwhile.
 */
import type { Mailbox, MailValue, SyscallReply } from '../protocol/mailbox.js';
import { TH_REP_SEQ, TH_REQ_SEQ, TH_STATE, type ThreadCtl, TS_EXITED } from '../protocol/thread_ctl.js';
import { SYSCALL_SPIN_US } from '../thread/thread_side.js';

export type SyscallHandler = (sysno: number, args: MailValue[]) => SyscallReply | Promise<SyscallReply>;

/** Serve one thread's syscalls until it exits. Errors from the handler become `onError`'s reply. */
export async function serveThreadSyscalls(
  ctl: ThreadCtl,
  mailbox: Mailbox,
  handler: SyscallHandler,
  onError: (err: unknown) => SyscallReply,
  spinUs: () => number = () => SYSCALL_SPIN_US,
): Promise<void> {
  const w = ctl.words;
  let seen = Atomics.load(w, TH_REP_SEQ);
  for (;;) {
    /* Threads often call again at once: spin briefly before paying for a waitAsync wake-up. */
    spinUntilChanged(w, TH_REQ_SEQ, seen, spinUs());
    let seq = Atomics.load(w, TH_REQ_SEQ);
    while (seq === seen) {
      if (Atomics.load(w, TH_STATE) === TS_EXITED) return;
      const r = Atomics.waitAsync(w, TH_REQ_SEQ, seq);
      if (r.async) await r.value;
      seq = Atomics.load(w, TH_REQ_SEQ);
    }
    if (Atomics.load(w, TH_STATE) === TS_EXITED) return;
    const { sysno, args } = mailbox.readRequest();
    let reply: SyscallReply;
    try {
      reply = await handler(sysno, args);
    } catch (err) {
      reply = onError(err);
    }
    mailbox.writeReply(reply.errno, reply.value);
    seen = seq;
    Atomics.store(w, TH_REP_SEQ, seq);
    Atomics.notify(w, TH_REP_SEQ);
  }
}

function spinUntilChanged(w: Int32Array, i: number, old: number, us: number): void {
  if (us <= 0) return;
  const end = performance.now() + us / 1000;
  for (;;) {
    for (let k = 0; k < 64; k++) if (Atomics.load(w, i) !== old) return;
    if (performance.now() > end) return;
  }
}
