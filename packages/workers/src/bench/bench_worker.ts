/*
 * Worker side of the workers benchmarks: a bare Atomics ping-pong, null syscalls through the
 * mailbox, a comlink-exposed object, and a loop of operations with safepoint polls.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import { nodeEndpoint } from '../protocol/comlink_endpoint.js';
import { Mailbox } from '../protocol/mailbox.js';
import { ThreadCtl } from '../protocol/thread_ctl.js';
import { ThreadKilled, ThreadSide } from '../thread/thread_side.js';

export type BenchWorkerInput =
  | { mode: 'pingpong'; words: SharedArrayBuffer; rounds: number }
  | { mode: 'syscall'; ctl: SharedArrayBuffer; mailbox: SharedArrayBuffer; rounds: number }
  | { mode: 'comlink' }
  | { mode: 'spin'; ctl: SharedArrayBuffer; mailbox: SharedArrayBuffer; interval: number };

const input = workerData as BenchWorkerInput;
switch (input.mode) {
  case 'pingpong': {
    /* words[0]: request seq (worker writes), words[16]: reply seq (main writes) */
    const w = new Int32Array(input.words);
    for (let i = 1; i <= input.rounds; i++) {
      Atomics.store(w, 0, i);
      Atomics.notify(w, 0);
      while (Atomics.load(w, 16) !== i) Atomics.wait(w, 16, i - 1);
    }
    break;
  }
  case 'syscall': {
    const side = new ThreadSide(new ThreadCtl(input.ctl), new Mailbox(input.mailbox));
    side.start();
    for (let i = 0; i < input.rounds; i++) side.syscall(0, []);
    side.exit();
    break;
  }
  case 'comlink':
    expose({ ping: () => 0 }, nodeEndpoint(parentPort!));
    break;
  case 'spin': {
    const side = new ThreadSide(new ThreadCtl(input.ctl), new Mailbox(input.mailbox), input.interval);
    let x = 1;
    try {
      side.start();
      for (;;) {
        x = (Math.imul(x, 1103515245) + 12345) | 0; /* a few ns of simulated work per op */
        side.safepoint();
      }
    } catch (err) {
      if (!(err instanceof ThreadKilled)) throw err;
    } finally {
      side.exit();
    }
    parentPort!.postMessage(x);
    break;
  }
}
