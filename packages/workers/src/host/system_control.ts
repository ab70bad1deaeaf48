/*
 * The control plane: a System running in its own worker, driven over comlink (spawn a
 * program, list processes and threads, kill, statistics, wait).  comlink carries only this
 * control traffic; guest threads talk to their kernel through the mailbox.
 */
import { Worker } from 'node:worker_threads';
import type { KernelStats } from '@cherisim/kernel';
import { type Remote, releaseProxy, wrap } from 'comlink';
import type { PlainData } from '../guest/plain_data.js';
import { nodeEndpoint } from '../protocol/comlink_endpoint.js';
import type { GuestProgramSource, ProcessOutcome, SystemOptions } from './system.js';

/** Options that can cross to the control worker (no logger object). */
export type RemoteSystemOptions = Omit<SystemOptions, 'logger'> & { logLevel?: string };

export interface SystemControlApi {
  start(program: GuestProgramSource, entry?: string, args?: PlainData[]): number;
  processes(): {
    pid: number;
    ppid: number;
    entry: string;
    threads: { tid: number; entry: string; state: string }[];
  }[];
  kill(pid: number, sig: number): number;
  stats(): KernelStats;
  wait(): Promise<ProcessOutcome[]>;
  shutdown(): Promise<void>;
}

export interface SystemControl {
  readonly api: Remote<SystemControlApi>;
  close(): Promise<void>;
}

/** Boot a System in a new worker and return a comlink proxy to it. */
export function openSystemControl(options: RemoteSystemOptions = {}): SystemControl {
  const worker = new Worker(new URL('./system_control_worker.js', import.meta.url), { workerData: options });
  const api = wrap<SystemControlApi>(nodeEndpoint(worker));
  return {
    api,
    async close() {
      try {
        await api.shutdown();
      } finally {
        api[releaseProxy]();
        await worker.terminate();
      }
    },
  };
}
