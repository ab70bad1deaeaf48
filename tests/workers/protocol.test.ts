import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import {
  Mailbox,
  type SyscallHandler,
  serveThreadSyscalls,
  TH_KILL,
  TH_STOP_REQ,
  ThreadCtl,
  ThreadSingleTimeout,
  TS_EXITED,
  threadResume,
  threadSingle,
} from '@cherisim/workers';
import test, { type ExecutionContext } from 'ava';
import type { ProtocolWorkerInput } from '../_support/protocol_worker.js';

function spawn(
  t: ExecutionContext,
  input: Omit<ProtocolWorkerInput, 'ctl' | 'mailbox' | 'counter'>,
  handler: SyscallHandler,
) {
  const ctl = ThreadCtl.create();
  const mailbox = Mailbox.create(64 * 1024);
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(new URL('../_support/protocol_worker.js', import.meta.url), {
    workerData: { ...input, ctl: ctl.shared, mailbox: mailbox.shared, counter: counter.buffer },
  });
  t.teardown(() => worker.terminate());
  const messages: unknown[] = [];
  const firstMessage = new Promise<unknown>((resolve) => worker.once('message', resolve));
  worker.on('message', (m) => messages.push(m));
  const served = serveThreadSyscalls(ctl, mailbox, handler, () => ({ errno: 5, value: undefined }));
  return {
    ctl,
    counter,
    worker,
    firstMessage,
    messages,
    served,
    thread: { ctl, name: 'pid 1 tid 1 (test)' },
  };
}

const echo: SyscallHandler = (sysno, args) => ({
  errno: sysno === 13 ? 13 : 0,
  value: args.length === 1 ? args[0] : args,
});

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(2);
  }
}

test('syscalls carry numbers, strings, bytes and objects both ways, and errno', async (t) => {
  const bytes = new Uint8Array([1, 2, 3]);
  const s = spawn(
    t,
    {
      syscalls: [
        [1, 42],
        [2, 1.5, -3, 2 ** 40],
        [3, 'path/name'],
        [4, bytes],
        [5, { a: [1, 'x'] }],
        [13, 0],
      ],
      loop: 'none',
    },
    echo,
  );
  const { replies } = (await s.firstMessage) as { replies: { errno: number; value: unknown }[] };
  t.deepEqual(replies[0], { errno: 0, value: 42 });
  t.deepEqual(replies[1].value, [1.5, -3, 2 ** 40]);
  t.is(replies[2].value, 'path/name');
  t.deepEqual([...(replies[3].value as Uint8Array)], [1, 2, 3]);
  t.deepEqual(replies[4].value, { a: [1, 'x'] });
  t.is(replies[5].errno, 13);
  await s.served;
  t.is(s.ctl.state, TS_EXITED);
});

test('a handler that throws answers the thread with the error reply instead of hanging it', async (t) => {
  const s = spawn(t, { syscalls: [[1, 1]], loop: 'none' }, () => {
    throw new Error('kernel bug');
  });
  const { replies } = (await s.firstMessage) as { replies: { errno: number }[] };
  t.is(replies[0].errno, 5);
});

test('thread_single parks a running thread at a safepoint and resume lets it go on', async (t) => {
  const s = spawn(t, { syscalls: [], loop: 'safepoints' }, echo);
  await until(() => Atomics.load(s.counter, 0) > 1000);
  await threadSingle([s.thread], 5000);
  const stoppedAt = Atomics.load(s.counter, 0);
  await sleep(50);
  t.true(Atomics.load(s.counter, 0) - stoppedAt <= 16, 'at most one safepoint interval after the stop');
  const frozen = Atomics.load(s.counter, 0);
  await sleep(20);
  t.is(Atomics.load(s.counter, 0), frozen);
  threadResume([s.thread]);
  await until(() => Atomics.load(s.counter, 0) > frozen + 1000);
  t.pass();
});

test('a thread blocked in a syscall counts as stopped and does not run on until resumed', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const s = spawn(t, { syscalls: [], loop: 'safepoints', syscallInLoopEvery: 100 }, async (no, args) => {
    if (no === 99 && args[0] === 100) await gate;
    return { errno: 0, value: 0 };
  });
  await until(() => Atomics.load(s.counter, 0) >= 100);
  await threadSingle([s.thread], 2000); // the thread is blocked in syscall 99
  release();
  await sleep(50); // the reply arrived while stopped: the thread must park on its way out
  t.is(Atomics.load(s.counter, 0), 100);
  threadResume([s.thread]);
  await until(() => Atomics.load(s.counter, 0) > 300);
  t.pass();
});

test('a thread that never reaches a safepoint is named in the error and the stop is rolled back', async (t) => {
  const s = spawn(t, { syscalls: [], loop: 'no-safepoints' }, echo);
  await until(() => Atomics.load(s.counter, 0) > 10);
  const err = await t.throwsAsync(threadSingle([s.thread], 100), { instanceOf: ThreadSingleTimeout });
  t.deepEqual(err?.laggards, ['pid 1 tid 1 (test)']);
  t.regex(err?.message ?? '', /pid 1 tid 1 \(test\) did not reach a safepoint within 100 ms/);
  t.is(Atomics.load(s.ctl.words, TH_STOP_REQ), 0);
});

test('a killed thread unwinds at its next safepoint and exits', async (t) => {
  const s = spawn(t, { syscalls: [], loop: 'safepoints' }, echo);
  await until(() => Atomics.load(s.counter, 0) > 100);
  Atomics.store(s.ctl.words, TH_KILL, 1);
  await s.served;
  t.is(s.ctl.state, TS_EXITED);
  await until(() => s.messages.some((m) => (m as { killed?: boolean }).killed));
  t.pass();
});
