/*
 * Guest capability handles: a guest holds register numbers of its thread's register file,
 * never capability bits.  Handles are allocated from the general registers; the last two
 * registers (PCC, DDC) are the runtime's: DDC holds the thread's root capability, from which
 * the runtime derives what mmap and friends return, as CheriBSD derives them from the
 * vmspace's root.  Released handles are reused.
 */
import type { CapRegFile } from '@cherisim/machine';

export class HandleError extends Error {
  override name = 'TypeError';
}

export class CapHandles {
  readonly regs: CapRegFile;
  readonly #free: number[] = [];
  readonly #live: Uint8Array;
  #next = 0;

  constructor(regs: CapRegFile) {
    this.regs = regs;
    this.#live = new Uint8Array(regs.nregs);
  }

  /** Registers guest handles may name: all but PCC and DDC. */
  get capacity(): number {
    return this.regs.nregs - 2;
  }

  alloc(): number {
    const h = this.#free.pop() ?? (this.#next < this.capacity ? this.#next++ : -1);
    if (h < 0)
      throw new HandleError(
        `out of capability registers (${this.capacity} live handles); release unused ones with sys.release`,
      );
    this.#live[h] = 1;
    return h;
  }

  /** Mark handles inherited from a parent's register file (fork) as live. */
  adopt(handles: Iterable<number>): void {
    for (const h of handles) {
      this.#live[h] = 1;
      this.#next = Math.max(this.#next, h + 1);
    }
    for (let h = 0; h < this.#next; h++) if (this.#live[h] === 0) this.#free.push(h);
  }

  liveHandles(): number[] {
    const out: number[] = [];
    for (let h = 0; h < this.#next; h++) if (this.#live[h] === 1) out.push(h);
    return out;
  }

  /** The register a guest value names: a handle number or a CapRef-like `{ handle }`. */
  check(v: unknown): number {
    const h = typeof v === 'object' && v !== null ? (v as { handle?: unknown }).handle : v;
    if (typeof h !== 'number' || !Number.isInteger(h) || h < 0 || h >= this.capacity || this.#live[h] === 0)
      throw new HandleError(`not a live capability handle: ${JSON.stringify(h) ?? String(h)}`);
    return h;
  }

  release(v: unknown): void {
    const h = this.check(v);
    this.regs.clear(h);
    this.#live[h] = 0;
    this.#free.push(h);
  }
}
