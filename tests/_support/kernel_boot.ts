/* Boot a single-threaded kernel over a small real machine, for kernel tests. */
import {
  bindMachine,
  type CapBits,
  type CheriPolicy,
  createKernel,
  type Kernel,
  kernelAssertConsistent,
  ProcHandle,
} from '@cherisim/kernel';
import { capAlmighty, capBuild, PhysMem } from '@cherisim/machine';

export const PAGE = 4096;

export interface Booted {
  readonly k: Kernel;
  readonly phys: PhysMem;
  spawn(name?: string): ProcHandle;
  handle(pid: number): ProcHandle;
  check(): void;
}

export function bootKernel(policy: Partial<CheriPolicy> = {}, mib = 16): Booted {
  const phys = new PhysMem({ bytes: mib * 1024 * 1024 });
  const k = createKernel({ machine: bindMachine(phys), policy });
  return {
    k,
    phys,
    spawn: (name = 'proc') => new ProcHandle(k, k.spawn(name)),
    handle: (pid) => new ProcHandle(k, k.procs.get(pid)!),
    check: () => kernelAssertConsistent(k),
  };
}

/* A tagged capability value (bytes of a real CC128 capability to [base, base+len)). */
export function tagged(base = 0x1000, len = 64): CapBits {
  const cap = capBuild(base, len);
  const [w0, w1, w2, w3] = cap.toMemWords();
  return { bytes: new Uint8Array(new Uint32Array([w0, w1, w2, w3]).buffer), tag: true };
}

/* The same bytes without the tag. */
export function untagged(c: CapBits): CapBits {
  return { bytes: c.bytes, tag: false };
}

export function almightyBytes(): Uint8Array {
  const [w0, w1, w2, w3] = capAlmighty().toMemWords();
  return new Uint8Array(new Uint32Array([w0, w1, w2, w3]).buffer);
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/* Outcome of the map-store-reload routine of cheribsdtest (§7). */
export type MsrOutcome =
  | { kind: 'T' } /* tag survived */
  | { kind: 'untagged' } /* store done, reload untagged (strip switch) */
  | { kind: 'F'; signo: number; code: number; addr: number; trapno: number; base: number } /* process died */
  | { kind: 'E'; code: string }; /* mmap failed */
