/*
 * One simulated hardware thread: checked data and capability loads and stores through a
 * capability register, with address translation through the vmspace's page tables and a
 * private soft TLB.  cf. Sail CHERI-RISC-V: checks in the order tag, seal, permission,
 * bounds, alignment; faults are thrown (CapabilityFault, PageFault, AlignmentFault) and
 * nothing is written when one is.
 *
 * Fast path: per kind of access (read, write, capability store) a direct-mapped table of
 * *access windows*, indexed like the TLB by virtual page.  A window caches one authorising
 * register's checked result for one page: the virtual range where its tag, seal, permission
 * and bounds checks all pass AND the page is mapped with the needed PTE bits, plus the
 * physical offset.  A hit costs a few compares, like a hardware TLB hit.  A window is keyed
 * by (register, REG_VERSION): any rewrite of the register bumps its version, so its windows
 * die; a TLB-generation change flushes all of them.
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
import { CAP_GRANULE_SHIFT, CAP_SIZE, PAGE_SHIFT, PAGE_SIZE, VA_LIMIT } from '../param.js';
import { granuleClearTagForData, granuleLoadCap, granuleStoreCap } from '../phys/granule.js';
import type { PhysMem } from '../phys/physmem.js';
import {
  type CapRegFile,
  REG_F64_BASE,
  REG_F64_TOP,
  REG_OTYPE,
  REG_PERMS,
  REG_TAG,
  REG_VERSION,
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

/* What a capability load through the read window does with a tag it finds. */
const CAPLOAD_STRIP = 0; /* auth lacks LOAD_CAP or the page lacks PTE_CR (R6) */
const CAPLOAD_KEEP = 1;
const CAPLOAD_TRAP = 2; /* stale load generation (R47) */

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
  #lastPte = 0; /* PTE of the last slow-path translation */
  readonly #rWin = new WindowTable();
  readonly #wWin = new WindowTable();
  readonly #cWin = new WindowTable();
  readonly #rCapLoad = new Uint8Array(TLB_SIZE); /* per read window: CAPLOAD_* */
  readonly #cLocalOk = new Uint8Array(TLB_SIZE); /* per cap-store window: auth has STORE_LOCAL_CAP */

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

  /** Drop every cached translation and access window. */
  flushTlb(): void {
    this.#tlbVpn.fill(-1);
    this.#tlbGen = Atomics.load(this.#mmuWords, MMU_TLB_GEN);
    this.#rWin.flush();
    this.#wWin.flush();
    this.#cWin.flush();
  }

  /** Load `width` bytes (unsigned, little-endian) at auth.cursor + offset.  8 bytes: exact below 2^53. */
  load(auth: number, offset: number, width: 1 | 2 | 4 | 8): number {
    const r = auth * REG_WORDS;
    const lo = this.#r32[r + REG_W2] + offset; /* low bits of va, for the slot and alignment */
    const va = this.#r32[r + REG_W3] * TWO_32 + lo;
    const slot = (lo >>> PAGE_SHIFT) & (TLB_SIZE - 1);
    const win = this.#rWin;
    if (
      win.reg[slot] === auth &&
      win.gen[slot] === this.#ri32[r + REG_VERSION] &&
      va >= win.lo[slot] &&
      va + width <= win.hi[slot] &&
      (lo & (width - 1)) === 0 &&
      this.#mmuWords[MMU_TLB_GEN] === this.#tlbGen
    )
      return this.#read(va + win.delta[slot], width);
    return this.#loadSlow(auth, va, width);
  }

  #read(pa: number, width: number): number {
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

  #loadSlow(auth: number, va: number, width: number): number {
    this.#checkAccess(auth, va, width, CHERI_PERM_LOAD, false);
    if ((va & (width - 1)) !== 0) return this.#loadMisaligned(va, width);
    const pa = this.#translate(va, NEED_READ, 'read');
    this.#openReadWindow(auth, va, pa);
    return this.#read(pa, width);
  }

  /** Store the low `width` bytes of `value` (two's complement if negative); clears the granule's tag. */
  store(auth: number, offset: number, width: 1 | 2 | 4 | 8, value: number): void {
    const r = auth * REG_WORDS;
    const lo = this.#r32[r + REG_W2] + offset; /* low bits of va, for the slot and alignment */
    const va = this.#r32[r + REG_W3] * TWO_32 + lo;
    const slot = (lo >>> PAGE_SHIFT) & (TLB_SIZE - 1);
    const win = this.#wWin;
    if (
      win.reg[slot] === auth &&
      win.gen[slot] === this.#ri32[r + REG_VERSION] &&
      va >= win.lo[slot] &&
      va + width <= win.hi[slot] &&
      (lo & (width - 1)) === 0 &&
      this.#mmuWords[MMU_TLB_GEN] === this.#tlbGen
    )
      this.#write(va + win.delta[slot], width, value);
    else this.#storeSlow(auth, va, width, value);
  }

  #write(pa: number, width: number, value: number): void {
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

  #storeSlow(auth: number, va: number, width: number, value: number): void {
    this.#checkAccess(auth, va, width, CHERI_PERM_STORE, false);
    if ((va & (width - 1)) !== 0) {
      this.#storeMisaligned(va, width, value);
      return;
    }
    const pa = this.#translate(va, NEED_WRITE, 'write');
    this.#openWriteWindow(auth, va, pa);
    this.#write(pa, width, value);
  }

  /**
   * Capability load into register dst.  The tag is cleared if auth lacks LOAD_CAP or the page
   * lacks PTE_CR (R6: no fault); a tagged load through a page of a stale load generation
   * raises PageFault('cap-load-gen') for the revoker's load barrier (R47).
   */
  loadCap(dst: number, auth: number, offset: number): void {
    const r = auth * REG_WORDS;
    const lo = this.#r32[r + REG_W2] + offset; /* low bits of va, for the slot and alignment */
    const va = this.#r32[r + REG_W3] * TWO_32 + lo;
    const slot = (lo >>> PAGE_SHIFT) & (TLB_SIZE - 1);
    const win = this.#rWin;
    const pa =
      win.reg[slot] === auth &&
      win.gen[slot] === this.#ri32[r + REG_VERSION] &&
      va >= win.lo[slot] &&
      va + CAP_SIZE <= win.hi[slot] &&
      (lo & (CAP_SIZE - 1)) === 0 &&
      dst >>> 0 === dst &&
      dst < this.regs.nregs &&
      this.#mmuWords[MMU_TLB_GEN] === this.#tlbGen
        ? va + win.delta[slot]
        : this.#loadCapSlow(dst, auth, va);
    const w = this.#capWords;
    let tag = granuleLoadCap(this.#u32, this.#tags, this.#witness, pa >>> CAP_GRANULE_SHIFT, w);
    const capLoad = this.#rCapLoad[slot];
    if (tag !== 0 && capLoad !== CAPLOAD_KEEP) {
      if (capLoad === CAPLOAD_TRAP) throw new PageFault(va, 'cap-load', 'cap-load-gen');
      tag = 0;
    }
    const d = dst * REG_WORDS;
    const rw = this.#r32;
    rw[d + REG_W0] = w[0];
    rw[d + REG_W1] = w[1];
    rw[d + REG_W2] = w[2];
    rw[d + REG_W3] = w[3];
    rw[d + REG_TAG] = tag;
    rw[d + REG_VERSION]++; /* dst's windows and decode cache die */
  }

  /* Full checks for a capability load; opens the read window and returns the physical address. */
  #loadCapSlow(dst: number, auth: number, va: number): number {
    this.#checkReg(dst);
    this.#checkAccess(auth, va, CAP_SIZE, CHERI_PERM_LOAD, false);
    if ((va & (CAP_SIZE - 1)) !== 0) throw new AlignmentFault(va, CAP_SIZE);
    const pa = this.#translate(va, NEED_READ, 'cap-load');
    this.#openReadWindow(auth, va, pa);
    return pa;
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
    const w0 = rw[s + REG_W0];
    const w1 = rw[s + REG_W1];
    const w2 = rw[s + REG_W2];
    const w3 = rw[s + REG_W3];
    if (rw[s + REG_TAG] === 0) {
      this.#storeUntaggedCap(auth, offset, w0, w1, w2, w3);
      return;
    }
    const r = auth * REG_WORDS;
    const lo = rw[r + REG_W2] + offset;
    const va = rw[r + REG_W3] * TWO_32 + lo;
    const local = (w1 & MEM_W1_GLOBAL) === 0;
    const slot = (lo >>> PAGE_SHIFT) & (TLB_SIZE - 1);
    const win = this.#cWin;
    const pa =
      win.reg[slot] === auth &&
      win.gen[slot] === this.#ri32[r + REG_VERSION] &&
      va >= win.lo[slot] &&
      va + CAP_SIZE <= win.hi[slot] &&
      (lo & (CAP_SIZE - 1)) === 0 &&
      (!local || this.#cLocalOk[slot] !== 0) &&
      this.#mmuWords[MMU_TLB_GEN] === this.#tlbGen
        ? va + win.delta[slot]
        : this.#storeCapSlow(auth, va, local);
    granuleStoreCap(this.#u32, this.#tags, this.#witness, pa >>> CAP_GRANULE_SHIFT, w0, w1, w2, w3);
  }

  #storeCapSlow(auth: number, va: number, local: boolean): number {
    this.#checkAccess(auth, va, CAP_SIZE, CHERI_PERM_STORE | CHERI_PERM_STORE_CAP, local);
    if ((va & (CAP_SIZE - 1)) !== 0) throw new AlignmentFault(va, CAP_SIZE);
    const pa = this.#translate(va, NEED_CAP_STORE, 'cap-store');
    this.#openCapStoreWindow(auth, va, pa);
    return pa;
  }

  #storeUntaggedCap(auth: number, offset: number, w0: number, w1: number, w2: number, w3: number): void {
    const r = auth * REG_WORDS;
    const va = this.#r32[r + REG_W3] * TWO_32 + this.#r32[r + REG_W2] + offset;
    this.#checkAccess(auth, va, CAP_SIZE, CHERI_PERM_STORE, false);
    if ((va & (CAP_SIZE - 1)) !== 0) throw new AlignmentFault(va, CAP_SIZE);
    const pa = this.#translate(va, NEED_WRITE, 'write');
    granuleClearTagForData(this.#tags, pa >>> CAP_GRANULE_SHIFT);
    const i = pa >>> 2;
    this.#u32[i] = w0;
    this.#u32[i + 1] = w1;
    this.#u32[i + 2] = w2;
    this.#u32[i + 3] = w3;
  }

  /*
   * The full check, in CHERI order (tag, seal, permissions, bounds), of an access of `width`
   * bytes at va through auth.  `perms` must all be present; `local` = a non-GLOBAL capability
   * is being stored (needs STORE_LOCAL_CAP).
   */
  #checkAccess(auth: number, va: number, width: number, perms: number, local: boolean): void {
    this.#checkReg(auth);
    if (this.#mmuWords[MMU_TLB_GEN] !== this.#tlbGen) this.flushTlb();
    const r = auth * REG_WORDS;
    const ri = this.#ri32;
    if (ri[r + REG_TAG] === 0) throw new CapabilityFault(CapEx.TagViolation, auth, va);
    if (!this.regs.decoded(auth)) this.regs.decode(auth);
    if (ri[r + REG_OTYPE] !== CAP_OTYPE_UNSEALED) throw new CapabilityFault(CapEx.SealViolation, auth, va);
    const have = ri[r + REG_PERMS];
    if ((have & perms) !== perms) throw new CapabilityFault(permViolation(perms & ~have), auth, va);
    if (local && (have & CHERI_PERM_STORE_LOCAL_CAP) === 0)
      throw new CapabilityFault(CapEx.PermitStoreLocalCapViolation, auth, va);
    const f = auth * 8;
    if (!(va >= this.#rf64[f + REG_F64_BASE] && va + width <= this.#rf64[f + REG_F64_TOP]))
      throw new CapabilityFault(CapEx.LengthViolation, auth, va);
  }

  /* Cache the checked result for the page containing va, clipped to auth's bounds. */
  #openWindow(win: WindowTable, auth: number, va: number, pa: number): number {
    const page = va - (va % PAGE_SIZE);
    const slot = ((va % TWO_32) >>> PAGE_SHIFT) & (TLB_SIZE - 1); /* as the fast paths index */
    win.reg[slot] = auth;
    win.gen[slot] = this.#ri32[auth * REG_WORDS + REG_VERSION];
    win.lo[slot] = Math.max(this.#rf64[auth * 8 + REG_F64_BASE], page);
    win.hi[slot] = Math.min(this.#rf64[auth * 8 + REG_F64_TOP], page + PAGE_SIZE);
    win.delta[slot] = pa - va;
    return slot;
  }

  #openReadWindow(auth: number, va: number, pa: number): void {
    const slot = this.#openWindow(this.#rWin, auth, va, pa);
    const pte = this.#lastPte;
    if ((this.#ri32[auth * REG_WORDS + REG_PERMS] & CHERI_PERM_LOAD_CAP) === 0 || (pte & PTE_CR) === 0)
      this.#rCapLoad[slot] = CAPLOAD_STRIP;
    else if (((pte & PTE_CLG) !== 0 ? 1 : 0) !== this.#mmuWords[MMU_LOAD_GEN])
      this.#rCapLoad[slot] = CAPLOAD_TRAP;
    else this.#rCapLoad[slot] = CAPLOAD_KEEP;
  }

  #openWriteWindow(auth: number, va: number, pa: number): void {
    this.#openWindow(this.#wWin, auth, va, pa);
  }

  #openCapStoreWindow(auth: number, va: number, pa: number): void {
    const slot = this.#openWindow(this.#cWin, auth, va, pa);
    this.#cLocalOk[slot] =
      (this.#ri32[auth * REG_WORDS + REG_PERMS] & CHERI_PERM_STORE_LOCAL_CAP) !== 0 ? 1 : 0;
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

/* Access windows, struct-of-arrays, one slot per TLB index. */
class WindowTable {
  readonly reg = new Int32Array(TLB_SIZE).fill(-1);
  readonly gen = new Int32Array(TLB_SIZE);
  readonly lo = new Float64Array(TLB_SIZE);
  readonly hi = new Float64Array(TLB_SIZE);
  readonly delta = new Float64Array(TLB_SIZE);

  flush(): void {
    this.reg.fill(-1);
  }
}
