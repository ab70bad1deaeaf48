/* A simulated thread for the protocol tests: echo syscalls, then a loop of counted operations. */
import { parentPort, workerData } from 'node:worker_threads';
import { Mailbox, ThreadCtl, ThreadKilled, ThreadSide } from '@cherisim/workers';

export interface ProtocolWorkerInput {
  ctl: SharedArrayBuffer;
  mailbox: SharedArrayBuffer;
  counter: SharedArrayBuffer /* Int32[0]: operations done, for the test to watch */;
  syscalls: unknown[][] /* made first, replies posted back */;
  loop: 'safepoints' | 'no-safepoints' | 'none';
  syscallInLoopEvery?: number /* also make syscall 99 every N ops */;
}

const input = workerData as ProtocolWorkerInput;
const side = new ThreadSide(new ThreadCtl(input.ctl), new Mailbox(input.mailbox), 16);
const counter = new Int32Array(input.counter);
try {
  side.start();
  const replies = input.syscalls.map(([no, ...args]) => side.syscall(no as number, args));
  parentPort!.postMessage({ replies });
  if (input.loop !== 'none') {
    for (let i = 1; ; i++) {
      Atomics.add(counter, 0, 1);
      if (input.loop === 'safepoints') side.safepoint();
      if (input.syscallInLoopEvery && i % input.syscallInLoopEvery === 0) side.syscall(99, [i]);
    }
  }
} catch (err) {
  if (!(err instanceof ThreadKilled)) throw err;
  parentPort!.postMessage({ killed: true });
} finally {
  side.exit();
}
