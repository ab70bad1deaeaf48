/*
 * What the guest library's parts share: ending the process the way libc does (abort(3) with
 * a reason, as a failed assert or a bad free() does), and scratch capability registers for
 * copies that must go through the Hart (so that tags travel and bounds are checked).
 */
import { type Capability, REG_TAG, REG_W0, REG_WORDS } from '@cherisim/machine';
import { GuestAbort } from '../../guest/guest_error.js';
import { SYS_ABORT } from '../../protocol/sysno.js';
import type { GuestCore } from '../guest_api.js';

/** abort(3): SIGABRT for the whole process with a one-line reason; the guest cannot catch it. */
export function libAbort(core: GuestCore, reason: string): never {
  core.ctx.side.syscall(SYS_ABORT, [reason]);
  throw new GuestAbort('abort', reason);
}

/** A C-style assert(): abort with "func: assertion failed: what" when cond is false. */
export function libAssert(core: GuestCore, cond: boolean, func: string, what: string): asserts cond {
  if (!cond) libAbort(core, `${func}: assertion failed: ${what}`);
}

/** Run fn with capability c in a scratch register (released afterwards). */
export function withReg<T>(core: GuestCore, c: Capability, fn: (reg: number) => T): T {
  const { handles } = core.ctx;
  const h = handles.alloc();
  try {
    core.ctx.hart.regs.set(h, c);
    return fn(h);
  } finally {
    handles.release(h);
  }
}

/** A capability store of register src through register auth at offset, as sys.storeCap does it. */
export function storeCapReg(core: GuestCore, src: number, auth: number, off: number): void {
  const { hart } = core.ctx;
  const w = hart.regs.u32;
  core.trapped(
    () => hart.storeCap(src, auth, off),
    () => [0, 1, 2, 3].map((k) => w[src * REG_WORDS + REG_W0 + k]),
  );
  if (core.ctx.onCapStore && w[src * REG_WORDS + REG_TAG] !== 0)
    core.ctx.onCapStore(Number(hart.regs.get(auth).cursor) + off);
}

export const hex = (n: number): string => `0x${n.toString(16)}`;
