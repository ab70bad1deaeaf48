/*
 * Per-address-space MMU control words, shared by the kernel and every thread of the vmspace.
 * Each word sits on its own 64-byte line: writers are rare, readers are every access.
 *
 * List of owners  (k) kernel (pmap) writes, threads read
 */
export const MMU_ROOT_PFN = 0; /* (k) frame of the page-table root; const after creation */
export const MMU_TLB_GEN = 16; /* (k) bumped after a PTE is removed or downgraded: flush soft TLBs */
export const MMU_LOAD_GEN = 32; /* (k) capability load generation, 0 or 1 (R47 load barrier) */
const MMU_CTL_WORDS = 48;

export class MmuControl {
  readonly words: Int32Array;

  constructor(shared: SharedArrayBuffer) {
    this.words = new Int32Array(shared);
  }

  static create(rootPfn: number): MmuControl {
    const ctl = new MmuControl(new SharedArrayBuffer(MMU_CTL_WORDS * 4));
    ctl.words[MMU_ROOT_PFN] = rootPfn;
    return ctl;
  }

  get shared(): SharedArrayBuffer {
    return this.words.buffer as SharedArrayBuffer;
  }

  get rootPfn(): number {
    return this.words[MMU_ROOT_PFN];
  }

  get tlbGen(): number {
    return Atomics.load(this.words, MMU_TLB_GEN);
  }

  /** Every thread drops its cached translations before its next access. */
  bumpTlbGen(): void {
    Atomics.add(this.words, MMU_TLB_GEN, 1);
  }

  get loadGen(): number {
    return Atomics.load(this.words, MMU_LOAD_GEN);
  }

  /** Flip the capability load generation (opening a load-side revocation epoch); flushes TLBs. */
  set loadGen(gen: number) {
    Atomics.store(this.words, MMU_LOAD_GEN, gen & 1);
    this.bumpTlbGen();
  }
}
