/* The capability side of the machine: encoding, values, derivations, faults, printing. */
export * from './cap_fault.js';
export * from './cap_format.js';
export * from './cap_ops.js';
export * from './cap_otype.js';
export * from './cap_perms.js';
export * from './capability.js';
export * from './cc128.js';
export * from './cc128_base.js';
export * from './cc128_fast.js';
export * from './cc128_vectors.js';
