/*
 * The kernel's VM state that is not per address space: the frame allocator, the live
 * objects (for accounting), the id counters and the CHERI policy.  One per kernel, so
 * that tests can boot many kernels side by side.
 */
import type { Logger } from 'pino';
import type { CheriPolicy } from '../kern/policy.js';
import type { MachineLike } from './machine_if.js';
import type { VmObject } from './vm_object.js';
import { VmPhys } from './vm_page.js';

export class VmContext {
  readonly machine: MachineLike;
  readonly phys: VmPhys;
  readonly policy: CheriPolicy;
  readonly log: Logger;
  readonly objects = new Set<VmObject>(); /* every live vm_object */
  readonly liveVmspaces = new Set<number>(); /* ids of vmspaces not yet freed (never reused) */
  nextObjectId = 1;
  nextVmspaceId = 1;

  constructor(machine: MachineLike, policy: CheriPolicy, log: Logger) {
    this.machine = machine;
    this.phys = new VmPhys(machine.phys);
    this.policy = policy;
    this.log = log;
  }
}
