/* @cherisim/machine: the simulated hardware. No processes, no policy. */
export * from './cap/index.js';
export * from './cpu/cap_regs.js';
export * from './cpu/hart.js';
export * from './cpu/traps.js';
export * from './mmu/mmu_ctl.js';
export * from './mmu/page_table.js';
export * from './mmu/pte.js';
export * from './param.js';
export * from './phys/granule.js';
export * from './phys/physmem.js';
export * from './phys/tag_sweep.js';
