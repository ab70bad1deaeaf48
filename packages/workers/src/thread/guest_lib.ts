/*
 * The guest library: what CHERI C programs get from libc and friends, built on the core
 * `sys` API (guest_api.ts).  cheri_bounds_set narrows a capability as CHERI C's builtin does.
 */
import { capSetBounds } from '@cherisim/machine';
import type { HostFunction } from '../guest/sandbox.js';
import type { GuestCore } from './guest_api.js';

export function makeGuestLib(core: GuestCore): Record<string, HostFunction> {
  return {
    /* cheri_bounds_set(cap, len): bounds [cursor, cursor+len), rounded outwards if unrepresentable */
    cheri_bounds_set: (v: unknown, len: number) => core.trapped(() => core.put(capSetBounds(core.cap(v), BigInt(len)).cap)),
  };
}
