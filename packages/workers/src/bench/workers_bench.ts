/*
 * Benchmarks of the thread transport, each against its floor measured in the same run:
 *   - a null syscall round trip vs a bare Atomics ping-pong (worker Atomics.wait, main
 *     Atomics.waitAsync: the same primitives the mailbox uses) vs a comlink call;
 *   - stop-the-world (thread_single + resume) latency for N threads running safepoint loops.
 */
import { Worker } from 'node:worker_threads';
import { type Remote, releaseProxy, wrap } from 'comlink';
import { serveThreadSyscalls } from '../host/syscall_server.js';
import { threadResume, threadSingle } from '../host/thread_single.js';
import { nodeEndpoint } from '../protocol/comlink_endpoint.js';
import { Mailbox } from '../protocol/mailbox.js';
import { TH_KILL, TH_STATE, ThreadCtl, TS_RUNNING } from '../protocol/thread_ctl.js';
import type { BenchWorkerInput } from './bench_worker.js';

const workerUrl = new URL('./bench_worker.js', import.meta.url);

function startWorker(input: BenchWorkerInput): Worker {
  return new Worker(workerUrl, { workerData: input });
}

function exited(w: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    w.once('error', reject);
    w.once('exit', () => resolve());
  });
}

export interface SyscallBenchResult {
  rounds: number;
  pingPongUs: number /* median µs per round trip */;
  syscallUs: number;
  comlinkUs: number;
  syscallVsPingPong: number;
  comlinkVsSyscall: number;
}

async function pingPong(rounds: number): Promise<number> {
  const words = new Int32Array(new SharedArrayBuffer(128));
  const w = startWorker({ mode: 'pingpong', words: words.buffer as SharedArrayBuffer, rounds });
  const done = exited(w);
  const t0 = performance.now();
  for (let i = 1; i <= rounds; i++) {
    while (Atomics.load(words, 0) !== i) {
      const r = Atomics.waitAsync(words, 0, i - 1);
      if (r.async) await r.value;
    }
    Atomics.store(words, 16, i);
    Atomics.notify(words, 16);
  }
  const us = ((performance.now() - t0) * 1000) / rounds;
  await done;
  return us;
}

async function nullSyscalls(rounds: number): Promise<number> {
  const ctl = ThreadCtl.create();
  const mailbox = Mailbox.create(4096);
  const w = startWorker({ mode: 'syscall', ctl: ctl.shared, mailbox: mailbox.shared, rounds });
  const done = exited(w);
  const t0 = performance.now();
  await serveThreadSyscalls(
    ctl,
    mailbox,
    () => ({ errno: 0, value: 0 }),
    () => ({ errno: 5, value: 0 }),
  );
  const us = ((performance.now() - t0) * 1000) / rounds;
  await done;
  return us;
}

async function comlinkCalls(rounds: number): Promise<number> {
  const w = startWorker({ mode: 'comlink' });
  const api: Remote<{ ping(): number }> = wrap(nodeEndpoint(w));
  await api.ping();
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await api.ping();
  const us = ((performance.now() - t0) * 1000) / rounds;
  api[releaseProxy]();
  await w.terminate();
  return us;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

export async function runSyscallBench(
  opts: { rounds?: number; reps?: number } = {},
): Promise<SyscallBenchResult> {
  const rounds = opts.rounds ?? 5000;
  const reps = opts.reps ?? 3;
  const p: number[] = [];
  const s: number[] = [];
  const c: number[] = [];
  for (let r = 0; r < reps; r++) {
    p.push(await pingPong(rounds));
    s.push(await nullSyscalls(rounds));
    c.push(await comlinkCalls(rounds));
  }
  const pingPongUs = median(p);
  const syscallUs = median(s);
  const comlinkUs = median(c);
  return {
    rounds,
    pingPongUs,
    syscallUs,
    comlinkUs,
    syscallVsPingPong: syscallUs / pingPongUs,
    comlinkVsSyscall: comlinkUs / syscallUs,
  };
}

export interface StwBenchRow {
  threads: number;
  cycles: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
}

/** Stop+resume latency: from the stop request until every thread is running guest code again. */
export async function runStwBench(opts: { threads?: number[]; cycles?: number; interval?: number } = {}) {
  const rows: StwBenchRow[] = [];
  for (const n of opts.threads ?? [1, 2, 4, 8]) {
    const cycles = opts.cycles ?? 200;
    const ctls = Array.from({ length: n }, () => ThreadCtl.create());
    const threads = ctls.map((ctl, i) => ({ ctl, name: `bench thread ${i}` }));
    const workers = ctls.map((ctl) =>
      startWorker({
        mode: 'spin',
        ctl: ctl.shared,
        mailbox: Mailbox.create(4096).shared,
        interval: opts.interval ?? 128,
      }),
    );
    const done = Promise.all(workers.map(exited));
    await Promise.all(ctls.map((c) => waitRunning(c)));
    const samples: number[] = [];
    for (let k = 0; k < cycles; k++) {
      const t0 = performance.now();
      await threadSingle(threads, 10_000);
      threadResume(threads);
      await Promise.all(ctls.map((c) => waitRunning(c)));
      samples.push((performance.now() - t0) * 1000);
    }
    for (const c of ctls) Atomics.store(c.words, TH_KILL, 1);
    await done;
    samples.sort((a, b) => a - b);
    rows.push({
      threads: n,
      cycles,
      p50Us: samples[samples.length >> 1],
      p99Us: samples[Math.min(samples.length - 1, Math.floor(samples.length * 0.99))],
      maxUs: samples[samples.length - 1],
    });
  }
  return rows;
}

async function waitRunning(ctl: ThreadCtl): Promise<void> {
  for (let s = Atomics.load(ctl.words, TH_STATE); s !== TS_RUNNING; s = Atomics.load(ctl.words, TH_STATE)) {
    const r = Atomics.waitAsync(ctl.words, TH_STATE, s, 50);
    if (r.async) await r.value;
  }
}
