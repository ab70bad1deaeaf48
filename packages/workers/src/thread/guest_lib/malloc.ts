/*
 * malloc/calloc/realloc/free with an mrs-like quarantine (CheriBSD's libc malloc wrapper,
 * CTSRD-CHERI/mrs): allocations are handed out with exact bounds, freed chunks go to a
 * quarantine and are reused only after a revocation epoch has passed over them (R41-R43).
 *
 * One heap per simulated thread: its state lives host-side in the thread's worker (as libc's
 * would live in the thread's memory), so a pointer malloc'd by another thread, or inherited
 * from the parent across fork, is not this heap's and free() aborts on it.
 *
 * Layout.  The arena grows by anonymous private mmaps (PROT_READ|PROT_WRITE).  A request of
 * `size` bytes gets length L = CRRL(max(size, 1)) on a base aligned to max(16, CRAM(L)), so
 * the bounds are exactly [base, base+L) and one byte past the end faults; chunks start on
 * 16-byte granules and own whole granules (what shadow painting, 1 bit per granule, needs).
 * Handed-out capabilities lack EXECUTE and the VMEM software permission (as mrs strips it:
 * a capability with VMEM is the allocator's own, which revocation leaves alone).
 *
 * Revocation (mrs_revoke.ts): when the quarantine reaches heap / quarantineRatio and the heap
 * is at least minRevokeHeapBytes (mrs: 1/4 and 8 MiB; malloc_config changes both), or on
 * malloc_revoke_quarantine_force_flush(), the quarantine is painted in the shadow bitmap,
 * revoked (cheri_revoke until a full epoch has passed), unpainted and released to the free
 * list: after that, freed memory is reused.
 */
import { MAP_ANON, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '@cherisim/kernel';
import {
  type Capability,
  CHERI_PERM_EXECUTE,
  CHERI_PERM_SW_VMEM,
  capAndPerms,
  capSetAddr,
  capSetBoundsExact,
  cc128GetRepresentableLength,
  cc128GetRequiredAlignment,
} from '@cherisim/machine';
import { type GuestCore, GuestSysError } from '../guest_api.js';
import { clears } from './epoch.js';
import { hex, libAbort, storeCapReg, withReg } from './lib_support.js';
import { MrsRevoker } from './mrs_revoke.js';

/** mrs: revoke once quarantine >= heap / QUARANTINE_RATIO ... */
export const QUARANTINE_RATIO = 4;
/** ... and only if the heap is at least this big (mrs.c MIN_REVOKE_HEAP_SIZE). */
export const MIN_REVOKE_HEAP_SIZE = 8 * 1024 * 1024;
/** How much the arena grows by at least (one mmap). */
export const ARENA_GROWTH = 1024 * 1024;
/** Larger requests return null (ENOMEM), as a request beyond the user address space would. */
export const MALLOC_MAX = 2 ** 47;

const GRANULE = 16;
const PAGE = 4096;
const USER_PERMS_CLEAR = CHERI_PERM_EXECUTE | CHERI_PERM_SW_VMEM;

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

export type ChunkState = 'live' | 'quarantined';

export interface Chunk {
  readonly base: number;
  readonly length: number /* the bounds' length: CRRL of the request */;
  readonly footprint: number /* length rounded up to whole granules */;
  state: ChunkState;
  /** The epoch label stamped when the chunk entered quarantine (null: no epoch clock yet). */
  enqueueEpoch: bigint | null;
}

interface Region {
  readonly base: number;
  readonly end: number;
  readonly cap: Capability /* the mapping's capability, VMEM included: the allocator's own */;
  bump: number;
}

/**
 * THE REVOCATION BOUNDARY (implemented by MrsRevoker, mrs_revoke.ts; with no revoker,
 * quarantined chunks are never reused, which is safe):
 *   - epoch(): the epoch label to stamp on chunks entering quarantine (the `enqueue` counter),
 *     or null: revoke() stamps them (after painting them, as mrs reads enqueue);
 *   - revoke(chunks): paint the shadow bitmap for these chunks (keyed by base, 1 bit per
 *     16-byte granule, R40), run cheri_revoke until a full epoch has passed, unpaint the ones
 *     the reached epoch clears, and return the epoch counter now.
 * Heap.flushQuarantine() calls it and then releaseCleared(now), which moves every chunk whose
 * stamp `clears(now, enqueueEpoch)` to the free list.
 */
export interface QuarantineRevoker {
  epoch(): bigint | null;
  revoke(chunks: readonly Chunk[]): bigint;
}

/** malloc_config(): the revocation policy of this thread's heap. */
export interface MallocConfig {
  [key: string]: number | boolean | null;
  /** Revoke only once the heap is at least this big (mrs MIN_REVOKE_HEAP_SIZE, 8 MiB). */
  minRevokeHeapBytes: number;
  /** Revoke once quarantine >= heap / quarantineRatio (mrs QUARANTINE_RATIO, 4). */
  quarantineRatio: number;
  /** Open epochs load-side (FORCE_LOAD_SIDE) or store-side (FORCE_STORE_SIDE); null: the sysctl. */
  loadSide: boolean | null;
  /** Non-LAST cheri_revoke calls before the LAST_PASS ones (mrs CONCURRENT_REVOCATION_PASSES). */
  concurrentPasses: number;
}

export interface MallocStats {
  [key: string]: number | boolean;
  /** mrs's allocated_size: bytes handed out and not yet back from quarantine (live + quarantined). */
  heapBytes: number;
  /** Bytes in live allocations. */
  allocatedBytes: number;
  liveChunks: number;
  /** Bytes freed but not yet revoked. */
  quarantineBytes: number;
  quarantinedChunks: number;
  /** Bytes revoked and reusable (the free list). */
  freeListBytes: number;
  /** Bytes of arena obtained with mmap. */
  arenaBytes: number;
  /** mrs's trigger: quarantine >= heap / QUARANTINE_RATIO and heap >= MIN_REVOKE_HEAP_SIZE. */
  revocationDue: boolean;
  /** How many frees found the trigger set (each would have flushed the quarantine). */
  revocationsDue: number;
  /** Quarantine flushes run (each a full revocation epoch or more). */
  revocations: number;
  /** cheri_revoke calls made by those flushes. */
  revokeCalls: number;
  /** Chunks released from quarantine to the free list by revocation. */
  releasedChunks: number;
  /** The dequeue epoch the last flush reached (-1: none yet). */
  lastEpoch: number;
  quarantineRatio: number;
  minRevokeHeapBytes: number;
}

export class Heap {
  readonly #core: GuestCore;
  readonly #chunks = new Map<number, Chunk>() /* by base: live and quarantined */;
  readonly #quarantine: Chunk[] = [];
  readonly #free = new Map<number, number[]>() /* bounds length -> bases (revoked chunks) */;
  readonly #regions: Region[] = [];
  #region: Region | null = null /* the region small requests are carved from */;
  #arenaBytes = 0;
  #allocatedBytes = 0;
  #quarantineBytes = 0;
  #freeListBytes = 0;
  #revocationsDue = 0;
  #revocations = 0;
  #releasedChunks = 0;
  #lastEpoch = -1;
  readonly #config: MallocConfig = {
    minRevokeHeapBytes: MIN_REVOKE_HEAP_SIZE,
    quarantineRatio: QUARANTINE_RATIO,
    loadSide: null,
    concurrentPasses: 0,
  };
  readonly #mrs: MrsRevoker;
  /** The revocation step; null: quarantined memory is never reused. */
  revoker: QuarantineRevoker | null;

  constructor(core: GuestCore) {
    this.#core = core;
    this.#mrs = new MrsRevoker(core, (base) => this.#regionOf(base), this.#config);
    this.revoker = this.#mrs;
  }

  /**
   * malloc_config(changes): set any of minRevokeHeapBytes (integer >= 0), quarantineRatio
   * (number > 0), loadSide (boolean or null), concurrentPasses (integer 0..16); returns the
   * whole configuration.  A bad value throws EINVAL and changes nothing.
   */
  configure(changes: unknown): MallocConfig {
    const bad = (what: string): never => {
      throw new GuestSysError('malloc_config', 'EINVAL', 22, what);
    };
    if (changes !== null && changes !== undefined) {
      if (typeof changes !== 'object' || Array.isArray(changes)) bad('expected an object');
      const c = changes as Record<string, unknown>;
      const next = { ...this.#config };
      for (const [k, v] of Object.entries(c)) {
        if (k === 'minRevokeHeapBytes') {
          if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
            bad(`${k}: expected an integer >= 0`);
          next.minRevokeHeapBytes = v as number;
        } else if (k === 'quarantineRatio') {
          if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(`${k}: expected a number > 0`);
          next.quarantineRatio = v as number;
        } else if (k === 'loadSide') {
          if (typeof v !== 'boolean' && v !== null) bad(`${k}: expected a boolean or null`);
          next.loadSide = v as boolean | null;
        } else if (k === 'concurrentPasses') {
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 16) bad(`${k}: expected 0..16`);
          next.concurrentPasses = v as number;
        } else bad(`unknown option ${k}`);
      }
      Object.assign(this.#config, next);
    }
    return { ...this.#config };
  }

  /** malloc(size): a capability with exact bounds, or null (ENOMEM). */
  malloc(size: number): Capability | null {
    if (typeof size !== 'number' || Number.isNaN(size)) throw new TypeError(`malloc: size must be a number`);
    if (size < 0 || size > MALLOC_MAX || !Number.isFinite(size)) return null;
    const length = Number(cc128GetRepresentableLength(BigInt(Math.max(1, Math.ceil(size)))));
    const align = Math.max(GRANULE, Number(cc128GetRequiredAlignment(BigInt(length))));
    const footprint = alignUp(length, GRANULE);
    let base = this.#free.get(length)?.pop();
    let region: Region | null;
    if (base !== undefined) {
      this.#freeListBytes -= length;
      region = this.#regionOf(base);
    } else {
      region = this.#carve(footprint, align);
      if (region === null) return null;
      base = region.bump;
      region.bump += footprint;
    }
    if (region === null) throw new Error(`malloc: free-list chunk ${hex(base)} outside the arena`);
    const chunk: Chunk = { base, length, footprint, state: 'live', enqueueEpoch: null };
    this.#chunks.set(base, chunk);
    this.#allocatedBytes += length;
    const c = capSetBoundsExact(capSetAddr(region.cap, BigInt(base)), BigInt(length));
    return capAndPerms(c, c.perms & ~USER_PERMS_CLEAR);
  }

  /** calloc(n, size): malloc(n*size), zeroed (data and tags). */
  calloc(n: number, size: number): Capability | null {
    const total = n * size;
    if (!Number.isSafeInteger(n) || !Number.isSafeInteger(size) || n < 0 || size < 0 || total > MALLOC_MAX)
      return null;
    const c = this.malloc(total);
    if (c === null) return null;
    const { hart } = this.#core.ctx;
    const len = Number(c.length);
    withReg(this.#core, c, (r) => {
      let off = 0;
      for (; off + 8 <= len; off += 8) this.#core.trapped(() => hart.store(r, off, 8, 0));
      for (; off < len; off++) this.#core.trapped(() => hart.store(r, off, 1, 0));
    });
    return c;
  }

  /**
   * realloc(p, size): a new chunk holding the old one's first min(old, new) bytes, copied
   * granule by granule with capability loads and stores so that tags survive; the old chunk
   * goes to quarantine.  Null (and p untouched) if the new chunk cannot be had.
   */
  realloc(old: Capability | null, size: number): Capability | null {
    if (old === null || this.#isNull(old)) return this.malloc(size);
    const chunk = this.#validate(old, 'realloc');
    const c = this.malloc(size);
    if (c === null) return null;
    const n = Math.min(chunk.length, Number(c.length));
    const core = this.#core;
    const { hart, handles } = core.ctx;
    withReg(core, old, (src) =>
      withReg(core, c, (dst) => {
        const tmp = handles.alloc();
        try {
          let off = 0;
          for (; off + GRANULE <= n; off += GRANULE) {
            core.trapped(() => hart.loadCap(tmp, src, off));
            storeCapReg(core, tmp, dst, off);
          }
          for (; off < n; off++) {
            const b = core.trapped(() => hart.load(src, off, 1));
            core.trapped(() => hart.store(dst, off, 1, b));
          }
        } finally {
          handles.release(tmp);
        }
      }),
    );
    this.#enqueue(chunk);
    return c;
  }

  /** free(p): NULL is a no-op; a pointer malloc did not return, or a double free, aborts. */
  free(p: Capability | null): void {
    if (p === null || this.#isNull(p)) return;
    this.#enqueue(this.#validate(p, 'free'));
  }

  /** malloc_usable_size(p): the bounds' length of a live allocation. */
  usableSize(p: Capability): number {
    return this.#validate(p, 'malloc_usable_size').length;
  }

  get revocationDue(): boolean {
    const heap = this.#allocatedBytes + this.#quarantineBytes;
    const { minRevokeHeapBytes, quarantineRatio } = this.#config;
    return (
      this.#quarantineBytes > 0 &&
      heap >= minRevokeHeapBytes &&
      this.#quarantineBytes * quarantineRatio >= heap
    );
  }

  stats(): MallocStats {
    return {
      heapBytes: this.#allocatedBytes + this.#quarantineBytes,
      allocatedBytes: this.#allocatedBytes,
      liveChunks: this.#chunks.size - this.#quarantine.length,
      quarantineBytes: this.#quarantineBytes,
      quarantinedChunks: this.#quarantine.length,
      freeListBytes: this.#freeListBytes,
      arenaBytes: this.#arenaBytes,
      revocationDue: this.revocationDue,
      revocationsDue: this.#revocationsDue,
      revocations: this.#revocations,
      revokeCalls: this.#mrs.calls,
      releasedChunks: this.#releasedChunks,
      lastEpoch: this.#lastEpoch,
      quarantineRatio: this.#config.quarantineRatio,
      minRevokeHeapBytes: this.#config.minRevokeHeapBytes,
    };
  }

  /**
   * The quarantine flush mrs runs when the trigger is set: hand the quarantine to the revoker,
   * then release what the epoch it reached clears.  Without a revoker this does nothing.
   */
  flushQuarantine(): void {
    if (this.revoker === null || this.#quarantine.length === 0) return;
    const now = this.revoker.revoke(this.#quarantine.slice());
    this.#revocations++;
    this.#lastEpoch = Number(now);
    this.releaseCleared(now);
  }

  /** Move every quarantined chunk whose enqueue epoch `clears(now, then)` to the free list. */
  releaseCleared(now: bigint): void {
    for (let i = this.#quarantine.length - 1; i >= 0; i--) {
      const ch = this.#quarantine[i];
      if (ch.enqueueEpoch === null || !clears(now, ch.enqueueEpoch)) continue;
      this.#quarantine.splice(i, 1);
      this.#chunks.delete(ch.base);
      this.#quarantineBytes -= ch.length;
      this.#freeListBytes += ch.length;
      this.#releasedChunks++;
      const list = this.#free.get(ch.length);
      if (list) list.push(ch.base);
      else this.#free.set(ch.length, [ch.base]);
    }
  }

  #enqueue(chunk: Chunk): void {
    chunk.state = 'quarantined';
    chunk.enqueueEpoch = this.revoker?.epoch() ?? null;
    this.#quarantine.push(chunk);
    this.#allocatedBytes -= chunk.length;
    this.#quarantineBytes += chunk.length;
    if (this.revocationDue) {
      this.#revocationsDue++;
      this.flushQuarantine();
    }
  }

  #isNull(c: Capability): boolean {
    return !c.tag && c.cursor === 0n;
  }

  /* What mrs's validate_freed_pointer checks, plus the double free jemalloc would catch. */
  #validate(p: Capability, func: string): Chunk {
    const core = this.#core;
    const addr = Number(p.cursor);
    if (!p.tag) libAbort(core, `${func}(): untagged capability ${hex(addr)}: not a pointer malloc returned`);
    if (p.isSealed)
      libAbort(core, `${func}(): sealed capability ${hex(addr)}: not a pointer malloc returned`);
    if (p.perms === 0)
      libAbort(core, `${func}(): revoked capability ${hex(addr)}: use after free (the chunk was revoked)`);
    const base = Number(p.base);
    const chunk = this.#chunks.get(base);
    if (chunk === undefined || p.cursor !== p.base)
      libAbort(core, `${func}(): ${hex(addr)} is not a pointer malloc returned (bad pointer)`);
    if (Number(p.length) !== chunk.length)
      libAbort(
        core,
        `${func}(): ${hex(addr)} has length ${Number(p.length)}, not the allocation's ${chunk.length} (bad pointer)`,
      );
    if (chunk.state === 'quarantined')
      libAbort(
        core,
        func === 'free'
          ? `free(): double free of ${hex(addr)} (the chunk is already in quarantine)`
          : `${func}(): ${hex(addr)} was already freed (use after free; the chunk is in quarantine)`,
      );
    return chunk;
  }

  #regionOf(base: number): Region | null {
    return this.#regions.find((r) => base >= r.base && base < r.end) ?? null;
  }

  /* A region with room for `footprint` bytes at an `align`-aligned bump pointer, or null (ENOMEM). */
  #carve(footprint: number, align: number): Region | null {
    const cur = this.#region;
    if (cur !== null) {
      const at = alignUp(cur.bump, align);
      if (at + footprint <= cur.end) {
        cur.bump = at;
        return cur;
      }
    }
    const size = alignUp(footprint + Math.max(0, align - PAGE), PAGE);
    const mapBytes = Math.max(ARENA_GROWTH, size);
    let va: number;
    try {
      va = this.#core.call(
        'mmap',
        0,
        mapBytes,
        PROT_READ | PROT_WRITE,
        MAP_ANON | MAP_PRIVATE,
        -1,
        0,
      ) as number;
    } catch (e) {
      if (e instanceof GuestSysError) return null /* ENOMEM and friends: malloc returns NULL */;
      throw e;
    }
    const ref = this.#core.mappingCap(va, mapBytes, PROT_READ | PROT_WRITE);
    const cap = this.#core.cap(ref);
    this.#core.ctx.handles.release(ref.handle);
    const region: Region = { base: va, end: va + mapBytes, cap, bump: alignUp(va, align) };
    this.#regions.push(region);
    this.#arenaBytes += mapBytes;
    /* a big request gets its own region; the current one keeps serving small ones */
    if (cur === null || mapBytes === ARENA_GROWTH) this.#region = region;
    return region;
  }
}
