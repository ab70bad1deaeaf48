/*
 * Binding of the kernel to @cherisim/machine: physical memory, page tables, MMU control
 * words, and a GuestCpu over a Hart for the kernel's single-threaded core.
 *
 * The Hart performs checked accesses through a capability register; the single-threaded
 * core drives it with an almighty authority in register AUTH (cursor 0), so an access at
 * `va` is `hart.load(AUTH, va, …)`.  Capability values travel through register VAL.
 */
import {
  CapRegFile,
  capAlmighty,
  Hart,
  MmuControl,
  PageTable,
  type PhysMem,
  REG_TAG,
  REG_W0,
  REG_WORDS,
} from '@cherisim/machine';
import type { CapBits, GuestCpu, MachineWithCpu, MmuControlLike, PageTableLike } from './machine_if.js';

const AUTH = 0;
const VAL = 1;

export class HartCpu implements GuestCpu {
  readonly hart: Hart;
  readonly regs: CapRegFile;

  constructor(phys: PhysMem, mmu: MmuControl) {
    this.regs = CapRegFile.create();
    this.regs.set(AUTH, capAlmighty());
    this.hart = new Hart(phys, mmu, this.regs);
  }

  load(va: number, width: 1 | 2 | 4 | 8): number {
    return this.hart.load(AUTH, va, width);
  }

  store(va: number, width: 1 | 2 | 4 | 8, value: number): void {
    this.hart.store(AUTH, va, width, value);
  }

  loadCap(va: number): CapBits {
    this.hart.loadCap(VAL, AUTH, va);
    const r = VAL * REG_WORDS;
    const w = this.regs.u32;
    const words = new Uint32Array([w[r + REG_W0], w[r + REG_W0 + 1], w[r + REG_W0 + 2], w[r + REG_W0 + 3]]);
    return { bytes: new Uint8Array(words.buffer), tag: w[r + REG_TAG] !== 0 };
  }

  storeCap(va: number, cap: CapBits): void {
    const b = cap.bytes;
    const dv = new DataView(b.buffer, b.byteOffset, 16);
    this.regs.setWords(
      VAL,
      dv.getUint32(0, true),
      dv.getUint32(4, true),
      dv.getUint32(8, true),
      dv.getUint32(12, true),
      cap.tag ? 1 : 0,
    );
    this.hart.storeCap(VAL, AUTH, va);
  }

  flushTlb(): void {
    this.hart.flushTlb();
  }
}

/* A machine binding over one PhysMem (default 256 MiB as the machine decides). */
export function bindMachine(phys: PhysMem): MachineWithCpu & { readonly phys: PhysMem } {
  return {
    phys,
    createPageTable: (rootPfn: number): PageTableLike => new PageTable(phys, rootPfn),
    createMmuControl: (rootPfn: number): MmuControlLike => MmuControl.create(rootPfn),
    createCpu: (_pt: PageTableLike, mmu: MmuControlLike): GuestCpu => new HartCpu(phys, mmu as MmuControl),
    cloneCpu: (parent: GuestCpu, _pt: PageTableLike, mmu: MmuControlLike): GuestCpu => {
      const child = new HartCpu(phys, mmu as MmuControl);
      if (parent instanceof HartCpu) child.regs.u32.set(parent.regs.u32);
      return child;
    },
  };
}
