/*
 * Independent simulations in parallel: each task boots its own System (machine + kernel +
 * thread workers) inside a piscina worker and returns the processes' outcomes.  Used by the
 * experiments (suite, leak matrix, stress) to use every core.
 */
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import type { PlainData } from '../guest/plain_data.js';
import type { GuestProgramSource, ProcessOutcome, SystemOptions } from './system.js';

export interface SimulationTask {
  readonly program: GuestProgramSource;
  readonly entry?: string;
  readonly args?: PlainData[];
  readonly options?: Omit<SystemOptions, 'logger'>;
}

export class SimulationPool {
  readonly #pool: Piscina;

  constructor(opts: { jobs?: number } = {}) {
    const jobs = Math.max(1, opts.jobs ?? availableParallelism());
    this.#pool = new Piscina({
      filename: new URL('./simulation_task.js', import.meta.url).href,
      minThreads: 1,
      maxThreads: jobs,
      idleTimeout: 1000,
    });
  }

  run(task: SimulationTask): Promise<ProcessOutcome[]> {
    return this.#pool.run(task) as Promise<ProcessOutcome[]>;
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}
