/* User address-space limits.  cf. machine/vmparam.h. */
import { PAGE_MASK, PAGE_SIZE } from './machine_if.js';

export const VM_MIN_USER_ADDRESS = 0x10000;
export const VM_MAX_USER_ADDRESS = 2 ** 47;
export const VM_MMAP_BASE = 0x20000000; /* where mmap without a hint starts looking */

export function roundPage(x: number): number {
  return Math.ceil(x / PAGE_SIZE) * PAGE_SIZE;
}
export function truncPage(x: number): number {
  return x - (x % PAGE_SIZE);
}
export function isPageAligned(x: number): boolean {
  return x % PAGE_SIZE === 0;
}
export { PAGE_MASK, PAGE_SIZE };
