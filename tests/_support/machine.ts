/*
 * A bare machine for tests: small physical memory, a bump frame allocator, one address
 * space's page tables, and Harts that share them.  Stands in for the kernel's pmap.
 */
import {
  type Capability,
  CapRegFile,
  CHERI_PERM_SW_VMEM,
  CHERI_PERMS_ALL,
  capAlmighty,
  capAndPerms,
  capSetAddr,
  capSetBounds,
  Hart,
  MmuControl,
  PAGE_SIZE,
  PageTable,
  PhysMem,
  PTE_CR,
  PTE_CW,
  PTE_R,
  PTE_V,
  PTE_W,
  pteMake,
} from '@cherisim/machine';

export const PTE_RW_CAP = PTE_V | PTE_R | PTE_W | PTE_CR | PTE_CW;

export class TestMachine {
  readonly phys: PhysMem;
  readonly mmu: MmuControl;
  readonly pt: PageTable;
  #nextFrame = 0;

  constructor(bytes = 4 * 1024 * 1024) {
    this.phys = new PhysMem({ bytes });
    const root = this.allocFrame();
    this.mmu = MmuControl.create(root);
    this.pt = new PageTable(this.phys, root);
  }

  allocFrame = (): number => {
    const pfn = this.#nextFrame++;
    this.phys.zeroFrame(pfn);
    return pfn;
  };

  /** Map `pages` fresh frames at va with the given PTE flags; returns the first frame. */
  map(va: number, pages: number, flags = PTE_RW_CAP): number {
    let first = -1;
    for (let k = 0; k < pages; k++) {
      const pfn = this.allocFrame();
      if (first < 0) first = pfn;
      this.pt.enter(va + k * PAGE_SIZE, pteMake(pfn, flags), this.allocFrame);
    }
    return first;
  }

  /** Change the flags of an existing mapping (as pmap_protect would) and shoot down TLBs. */
  protect(va: number, flags: number): void {
    const pte = this.pt.lookup(va);
    this.pt.update(va, pteMake(pte >>> 8, flags));
    this.mmu.bumpTlbGen();
  }

  hart(nregs = 8): Hart {
    return new Hart(this.phys, this.mmu, CapRegFile.create(nregs));
  }
}

/**
 * A tagged capability for [base, base+len) with `perms` (default: all but VMEM, as malloc and
 * globals have: VMEM-bearing capabilities are exempt from revocation), from the almighty one.
 */
export function boundedCap(
  base: number,
  len: number,
  perms = CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM,
): Capability {
  return capAndPerms(capSetBounds(capSetAddr(capAlmighty(), BigInt(base)), BigInt(len)).cap, perms);
}
