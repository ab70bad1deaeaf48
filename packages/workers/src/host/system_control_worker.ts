/* Worker side of the control plane: one System, exposed over comlink. */
import { parentPort, workerData } from 'node:worker_threads';
import { expose } from 'comlink';
import { pino } from 'pino';
import { nodeEndpoint } from '../protocol/comlink_endpoint.js';
import { System } from './system.js';
import type { RemoteSystemOptions, SystemControlApi } from './system_control.js';

const { logLevel, ...options } = workerData as RemoteSystemOptions;
const logger = logLevel ? pino({ level: logLevel }, pino.destination({ dest: 2, sync: true })) : undefined;
const system = new System({ ...options, logger });

const api: SystemControlApi = {
  start: (program, entry, args) => system.start(program, entry, args),
  processes: () => system.processes(),
  kill: (pid, sig) => system.kill(pid, sig),
  stats: () => system.kernel.stats(),
  wait: () => system.wait(),
  shutdown: () => system.shutdown(),
};
expose(api, nodeEndpoint(parentPort!));
