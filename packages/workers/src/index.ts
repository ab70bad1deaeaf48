/* @cherisim/workers: simulated threads in worker_threads, the syscall mailbox, stop-the-world. */

export * from './bench/workers_bench.js';
export * from './guest/compile.js';
export * from './guest/guest_error.js';
export type { PlainData, Primitive } from './guest/plain_data.js';
export * from './guest/sandbox.js';
export * from './host/simulation_pool.js';
export * from './host/syscall_server.js';
export * from './host/system.js';
export * from './host/system_control.js';
export * from './host/thread_single.js';
export * from './protocol/mailbox.js';
export * from './protocol/sysno.js';
export * from './protocol/thread_ctl.js';
export * from './thread/guest_constants.js';
export * from './thread/thread_side.js';
