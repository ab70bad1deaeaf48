/*
 * One simulated hardware thread: checked data and capability loads and stores through a
 * capability register, with address translation through the vmspace's page tables and a
 * private soft TLB.  cf. Sail CHERI-RISC-V: checks in the order tag, seal, permission,
 * bounds, alignment; faults are thrown (CapabilityFault, PageFault, AlignmentFault) and
 * nothing is written when one is.  The fast path allocates nothing and makes no Atomics call
 * except where the capability-granule protocol (phys/granule.ts) needs one.
 */
import { CapabilityFault, CapEx } from '../cap/cap_fault.js';
import { CAP_OTYPE_UNSEALED } from '../cap/cap_otype.js';
import {
  CHERI_PERM_GLOBAL,
  CHERI_PERM_LOAD,
  CHERI_PERM_LOAD_CAP,
  CHERI_PERM_STORE,
  CHERI_PERM_STORE_CAP,
  CHERI_PERM_STORE_LOCAL_CAP,
} from '../cap/cap_perms.js';
import { MMU_LOAD_GEN, MMU_TLB_GEN, type MmuControl } from '../mmu/mmu_ctl.js';
import { PageTable } from '../mmu/page_table.js';
import { PTE_CD, PTE_CLG, PTE_CR, PTE_CW, PTE_R, PTE_V, PTE_W } from '../mmu/pte.js';
import { CAP_GRANULE_SHIFT, CAP_SIZE, PAGE_SIZE, VA_LIMIT } from '../param.js';
import { granuleClearTagForData, granuleLoadCap, granuleStoreCap } from '../phys/granule.js';
import type { PhysMem } from '../phys/physmem.js';
import {
  type CapRegFile,
  REG_DECODED,
  REG_F64_BASE,
  REG_F64_TOP,
  REG_OTYPE,
  REG_PERMS,
  REG_TAG,
  REG_W0,
  REG_W1,
  REG_W2,
  REG_W3,
  REG_WORDS,
} from './cap_regs.js';
import { AlignmentFault, PageFault, type PageFaultAccess } from './traps.js';

export const TLB_SIZE = 256; /* direct-mapped, power of two */

const NEED_READ = PTE_V | PTE_R;
const NEED_WRITE = PTE_V | PTE_W;
/* A tagged store also needs CW, and CD already set (else the slow path sets it). */
const NEED_CAP_STORE = PTE_V | PTE_W | PTE_CW | PTE_CD;
const TWO_32 = 4294967296;
/* In-memory form of the GLOBAL permission: pesbt bit 112 = bit 16 of word 1 (the mask leaves it alone). */
const MEM_W1_GLOBAL = CHERI_PERM_GLOBAL << 16;

export class Hart {
  readonly phys: PhysMem;
  readonly regs: CapRegFile;
  readonly mmu: MmuControl;
  readonly pageTable: PageTable;
  readonly #u8: Uint8Array;
  readonly #u16: Uint16Array;
  readonly #u32: Uint32Array;
  readonly #tags: Int32Array;
  readonly #witness: Uint32Array;
  readonly #r32: Uint32Array;
  readonly #ri32: Int32Array;
  readonly #rf64: Float64Array;
  readonly #mmuWords: Int32Array;
  readonly #tlbVpn = new Float64Array(TLB_SIZE).fill(-1);
  readonly #tlbPte = new Int32Array(TLB_SIZE);
  readonly #capWords = new Uint32Array(4);
  #tlbGen: number;
  #lastPte = 0; /* PTE of the last translation, for the cap-load checks */

  constructor(phys: PhysMem, mmu: MmuControl, regs: CapRegFile) {
    this.phys = phys;
    this.regs = regs;
    this.mmu = mmu;
    this.pageTable = new PageTable(phys, mmu.rootPfn);
    this.#u8 = phys.u8;
    this.#u16 = phys.u16;
    this.#u32 = phys.u32;
    this.#tags = phys.tags;
    this.#witness = phys.witness;
    this.#r32 = regs.u32;
    this.#ri32 = regs.i32;
    this.#rf64 = regs.f64;
    this.#mmuWords = mmu.words;
    this.#tlbGen = this.#mmuWords[MMU_TLB_GEN];
  }

  /** Drop every cached translation. */
  flushTlb(): void {
    this.#tlbVpn.fill(-1);
    this.#tlbGen = Atomics.load(this.#mmuWords, MMU_TLB_GEN);
  }

  /** Load `width` bytes (unsigned, little-endian) at auth.cursor + offset.  8 bytes: exact below 2^53. */
  load(auth: number, offset: number, width: 1 | 2 | 4 | 8): number {
    const va = this.#checkAccess(auth, offset, width, CHERI_PERM_LOAD, false);
    if ((va & (width - 1)) !== 0) return this.#loadMisaligned(va, width);
    const pa = this.#translate(va, NEED_READ, 'read');
    switch (width) {
      case 1:
        return this.#u8[pa];
      case 2:
        return this.#u16[pa >>> 1];
      case 4:
        return this.#u32[pa >>> 2];
      default:
        return this.#u32[pa >>> 2] + this.#u32[(pa >>> 2) + 1] * TWO_32;
    }
  }

  /** Store the low `width` bytes of `value` (two's complement if negative); clears the granule's tag. */
  store(auth: number, offset: number, width: 1 | 2 | 4 | 8, value: number): void {
    const va = this.#checkAccess(auth, offset, width, CHERI_PERM_STORE, false);
    if ((va & (width - 1)) !== 0) {
      this.#storeMisaligned(va, width, value);
      return;
    }
    const pa = this.#translate(va, NEED_WRITE, 'write');
    granuleClearTagForData(this.#tags, pa >>> CAP_GRANULE_SHIFT);
    switch (width) {
      case 1:
        this.#u8[pa] = value;
        return;
      case 2:
        this.#u16[pa >>> 1] = value;
        return;
      case 4:
        this.#u32[pa >>> 2] = value;
        return;
      default:
        this.#u32[pa >>> 2] = value >>> 0;
        this.#u32[(pa >>> 2) + 1] = Math.floor(value / TWO_32) >>> 0;
    }
  }

  /**
   * Capability load into register dst.  The tag is cleared if auth lacks LOAD_CAP or the page
   * lacks PTE_CR (R6: no fault); a tagged load through a page of a stale load generation
   * raises PageFault('cap-load-gen') for the revoker's load barrier (R47).
   */
  loadCap(dst: number, auth: number, offset: number): void {
    this.#checkReg(dst);
    const va = this.#checkAccess(auth, offset, CAP_SIZE, CHERI_PERM_LOAD, false);
    if ((va & (CAP_SIZE - 1)) !== 0) throw new AlignmentFault(va, CAP_SIZE);
    const pa = this.#translate(va, NEED_READ, 'cap-load');
    const w = this.#capWords;
    let tag = granuleLoadCap(this.#u32, this.#tags, this.#witness, pa >>> CAP_GRANULE_SHIFT, w);
    if (tag !== 0) {
      const pte = this.#lastPte;
      if ((this.#ri32[auth * REG_WORDS + REG_PERMS] & CHERI_PERM_LOAD_CAP) === 0 || (pte & PTE_CR) === 0)
        tag = 0;
      else if (((pte & PTE_CLG) !== 0 ? 1 : 0) !== this.#mmuWords[MMU_LOAD_GEN])
        throw new PageFault(va, 'cap-load', 'cap-load-gen');
    }
    const r = dst * REG_WORDS;
    const rw = this.#r32;
    rw[r + REG_W0] = w[0];
    rw[r + REG_W1] = w[1];
    rw[r + REG_W2] = w[2];
    rw[r + REG_W3] = w[3];
    rw[r + REG_TAG] = tag;
    rw[r + REG_DECODED] = 0;
  }

  /**
   * Capability store of register src.  A tagged store needs STORE_CAP on auth, STORE_LOCAL_CAP
   * too if src is not GLOBAL, and a page with PTE_CW (else PageFault('cap-store'), R5); it
   * sets the page's cap-dirty bit (R8).  An untagged value is stored as data.
   */
  storeCap(src: number, auth: number, offset: number): void {
    this.#checkReg(src);
    const rw = this.#r32;
    const s = src * REG_WORDS;
    const srcTag = rw[s + REG_TAG];
    const va =
      srcTag === 0
        ? this.#checkAccess(auth, offset, CAP_SIZE, CHERI_PERM_STORE, false)
        : this.#checkAccess(
            auth,
            offset,
            CAP_SIZE,
            CHERI_PERM_STORE | CHERI_PERM_STORE_CAP,
            (rw[s + REG_W1] & MEM_W1_GLOBAL) === 0,
          );
    if ((va & (CAP_SIZE - 1)) !== 0) throw new AlignmentFault(va, CAP_SIZE);
    const w0 = rw[s + REG_W0];
    const w1 = rw[s + REG_W1];
    const w2 = rw[s + REG_W2];
    const w3 = rw[s + REG_W3];
    if (srcTag !== 0) {
      const pa = this.#translate(va, NEED_CAP_STORE, 'cap-store');
      granuleStoreCap(this.#u32, this.#tags, this.#witness, pa >>> CAP_GRANULE_SHIFT, w0, w1, w2, w3);
    } else {
      const pa = this.#translate(va, NEED_WRITE, 'write');
      granuleClearTagForData(this.#tags, pa >>> CAP_GRANULE_SHIFT);
      const i = pa >>> 2;
      this.#u32[i] = w0;
      this.#u32[i + 1] = w1;
      this.#u32[i + 2] = w2;
      this.#u32[i + 3] = w3;
    }
  }

  /*
   * Checks in CHERI order (tag, seal, permissions, bounds) and returns the virtual address.
   * `perms` must all be present; `local` = a non-GLOBAL capability is being stored.
   */
  #checkAccess(auth: number, offset: number, width: number, perms: number, local: boolean): number {
    this.#checkReg(auth);
    if (this.#mmuWords[MMU_TLB_GEN] !== this.#tlbGen) this.flushTlb();
    const r = auth * REG_WORDS;
    const ri = this.#ri32;
    const cursor = this.#r32[r + REG_W3] * TWO_32 + this.#r32[r + REG_W2];
    const va = cursor + offset;
    if (ri[r + REG_TAG] === 0) throw new CapabilityFault(CapEx.TagViolation, auth, va);
    if (ri[r + REG_DECODED] === 0) this.regs.decode(auth);
    if (ri[r + REG_OTYPE] !== CAP_OTYPE_UNSEALED) throw new CapabilityFault(CapEx.SealViolation, auth, va);
    const have = ri[r + REG_PERMS];
    if ((have & perms) !== perms) throw new CapabilityFault(permViolation(perms & ~have), auth, va);
    if (local && (have & CHERI_PERM_STORE_LOCAL_CAP) === 0)
      throw new CapabilityFault(CapEx.PermitStoreLocalCapViolation, auth, va);
    const f = auth * 8;
    if (!(va >= this.#rf64[f + REG_F64_BASE] && va + width <= this.#rf64[f + REG_F64_TOP]))
      throw new CapabilityFault(CapEx.LengthViolation, auth, va);
    return va;
  }

  #checkReg(i: number): void {
    if (!(i >>> 0 === i && i < this.regs.nregs))
      throw new RangeError(`capability register ${i} does not exist (0..${this.regs.nregs - 1})`);
  }

  /* Virtual to physical through the soft TLB; `need` is the PTE bits the access requires. */
  #translate(va: number, need: number, access: PageFaultAccess): number {
    const vpn = Math.floor(va / PAGE_SIZE);
    const slot = vpn & (TLB_SIZE - 1);
    if (this.#tlbVpn[slot] === vpn) {
      const pte = this.#tlbPte[slot];
      if ((pte & need) === need) {
        this.#lastPte = pte;
        return (pte >>> 8) * PAGE_SIZE + (va - vpn * PAGE_SIZE);
      }
    }
    return this.#translateSlow(va, need, access);
  }

  #translateSlow(va: number, need: number, access: PageFaultAccess): number {
    if (!(va >= 0 && va < VA_LIMIT)) throw new PageFault(va, access, 'not-present');
    const idx = this.pageTable.pteIndex(va);
    const i32 = this.phys.i32;
    let pte = idx < 0 ? 0 : Atomics.load(i32, idx);
    if ((pte & PTE_V) === 0) throw new PageFault(va, access, 'not-present');
    if ((need & PTE_R) !== 0 && (pte & PTE_R) === 0) throw new PageFault(va, access, 'protection');
    if ((need & PTE_W) !== 0 && (pte & PTE_W) === 0) throw new PageFault(va, access, 'protection');
    if ((need & PTE_CW) !== 0) {
      if ((pte & PTE_CW) === 0) throw new PageFault(va, access, 'cap-store');
      if ((pte & PTE_CD) === 0) pte = Atomics.or(i32, idx, PTE_CD) | PTE_CD;
    }
    const vpn = Math.floor(va / PAGE_SIZE);
    const slot = vpn & (TLB_SIZE - 1);
    this.#tlbVpn[slot] = vpn;
    this.#tlbPte[slot] = pte;
    this.#lastPte = pte;
    return (pte >>> 8) * PAGE_SIZE + (va - vpn * PAGE_SIZE);
  }

  /* Misaligned data accesses go byte by byte (each byte translated: they may cross a page). */
  #loadMisaligned(va: number, width: number): number {
    for (let k = 0; k < width; k++) this.#translate(va + k, NEED_READ, 'read');
    let v = 0;
    for (let k = width - 1; k >= 0; k--) v = v * 256 + this.#u8[this.#translate(va + k, NEED_READ, 'read')];
    return v;
  }

  #storeMisaligned(va: number, width: number, value: number): void {
    for (let k = 0; k < width; k++) this.#translate(va + k, NEED_WRITE, 'write'); /* fault before writing */
    let lo = value >>> 0;
    let hi = Math.floor(value / TWO_32) >>> 0;
    for (let k = 0; k < width; k++) {
      const pa = this.#translate(va + k, NEED_WRITE, 'write');
      granuleClearTagForData(this.#tags, pa >>> CAP_GRANULE_SHIFT);
      this.#u8[pa] = lo & 0xff;
      lo = (lo >>> 8) | ((hi & 0xff) << 24);
      hi >>>= 8;
    }
  }
}

function permViolation(missing: number): CapEx {
  if ((missing & CHERI_PERM_LOAD) !== 0) return CapEx.PermitLoadViolation;
  if ((missing & CHERI_PERM_STORE) !== 0) return CapEx.PermitStoreViolation;
  return CapEx.PermitStoreCapViolation;
}
