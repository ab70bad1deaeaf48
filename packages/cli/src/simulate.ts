/*
 * How a verb runs one whole simulation: in this thread (a System whose threads are workers and
 * whose kernel is this thread), or in a piscina pool (SimulationPool), where each simulation's
 * kernel gets a pool thread of its own, so that many kernels spread over the cores.  A
 * logger cannot cross to a pool thread, so logging verbs run in this thread.
 */
import {
  type GuestProgramSource,
  type PlainData,
  type ProcessOutcome,
  SimulationPool,
  System,
  type SystemOptions,
} from '@cherisim/workers';

export type Simulate = (
  program: GuestProgramSource,
  entry: string,
  args: PlainData[],
  options: SystemOptions,
) => Promise<ProcessOutcome[]>;

export const simulateInThread: Simulate = async (program, entry, args, options) => {
  const system = new System(options);
  try {
    return await system.run(program, entry, args);
  } finally {
    await system.shutdown();
  }
};

/** A pooled simulator for `jobs` parallel simulations (or the in-thread one when logging). */
export function simulator(
  jobs: number,
  logging: boolean,
): { simulate: Simulate; close: () => Promise<void> } {
  if (logging || jobs <= 1) return { simulate: simulateInThread, close: async () => {} };
  const pool = new SimulationPool({ jobs });
  return {
    simulate: (program, entry, args, options) => {
      const { logger: _logger, ...cloneable } = options;
      return pool.run({ program, entry, args, options: cloneable });
    },
    close: () => pool.destroy(),
  };
}
