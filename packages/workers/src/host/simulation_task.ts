/* piscina task: one whole simulation (see simulation_pool.ts). */
import type { SimulationTask } from './simulation_pool.js';
import { type ProcessOutcome, System } from './system.js';

export default async function runSimulation(task: SimulationTask): Promise<ProcessOutcome[]> {
  const system = new System(task.options ?? {});
  try {
    return await system.run(task.program, task.entry ?? 'main', task.args ?? []);
  } finally {
    await system.shutdown();
  }
}
