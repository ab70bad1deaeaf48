/*
 * KASSERT / CHECK_OBJ: broken kernel invariants are bugs, never errnos.
 * cf. FreeBSD KASSERT(9) and Varnish miniobj.h.
 */
export const INVARIANTS = process.env.CHERISIM_INVARIANTS !== '0';

export class KernelPanic extends Error {
  override name = 'KernelPanic';
}

export function KASSERT(cond: unknown, msg: () => string): asserts cond {
  if (!cond) throw new KernelPanic(msg());
}

export function panic(msg: string): never {
  throw new KernelPanic(msg);
}

export function CHECK_OBJ(o: { magic: number } | null | undefined, magic: number): void {
  KASSERT(
    o != null && o.magic === magic,
    () => `bad magic 0x${o?.magic.toString(16)} (want 0x${magic.toString(16)})`,
  );
}
