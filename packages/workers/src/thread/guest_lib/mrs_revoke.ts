/*
 * The revocation step of malloc's quarantine (the QuarantineRevoker of malloc.ts), as mrs and
 * CheriBSD's libc malloc do it (R40-R43):
 *
 *   1. paint: set the shadow bit of every granule of every chunk entering the flush, through
 *      the arena's slice of the shadow bitmap (cheri_revoke_get_shadow(NOVMMAP, arena), one
 *      per arena mapping, asked for lazily: the arena capability keeps VMEM for this);
 *   2. stamp: read the `enqueue` epoch AFTER painting (the published info struct) and stamp it
 *      on those chunks;
 *   3. revoke: optionally `concurrentPasses` non-LAST calls (mrs's CONCURRENT_REVOCATION_PASSES:
 *      they open the epoch with the world running), then cheri_revoke(LAST_PASS, start) until
 *      clears(dequeue, start);
 *   4. unpaint the chunks whose stamp the reached epoch clears; the heap then moves exactly
 *      those to its free list (Heap.releaseCleared).
 *
 * The shadow belongs to the process; one heap per thread paints only its own arenas (whole
 * pages, so whole shadow bytes: no two heaps share a shadow byte), so the read-modify-write of
 * a partly covered byte needs no lock.
 */
import {
  type Capability,
  CHERI_PERM_GLOBAL,
  CHERI_PERM_LOAD,
  CHERI_PERM_STORE,
  capAndPerms,
  capSetAddr,
  capSetBounds,
} from '@cherisim/machine';
import { SYS_CHERI_REVOKE } from '../../protocol/sysno.js';
import type { GuestCore } from '../guest_api.js';
import { clears } from './epoch.js';
import { hex, libAbort, withReg } from './lib_support.js';
import type { Chunk, QuarantineRevoker } from './malloc.js';

/* cheri_revoke(2) ABI values (sys/revoke.ts, R44); kept local to avoid the kernel's runtime here. */
const CHERI_REVOKE_LAST_PASS = 0x0001;
const CHERI_REVOKE_FORCE_LOAD_SIDE = 0x0040;
const CHERI_REVOKE_FORCE_STORE_SIDE = 0x0080;
const CHERI_REVOKE_SHADOW_NOVMMAP = 0x00;
const CHERI_REVOKE_SHADOW_INFO_STRUCT = 0x03;
const ERESTART = -1;
const GRANULE = 16;
const MAX_RESTARTS = 100;

export interface RevokeSideConfig {
  /** Open epochs load-side (CHERI_REVOKE_FORCE_LOAD_SIDE) instead of store-side. */
  loadSide: boolean | null /* null: the kernel's sysctl decides */;
  /** Non-LAST cheri_revoke calls before the LAST_PASS ones (mrs CONCURRENT_REVOCATION_PASSES). */
  concurrentPasses: number;
}

/** What the heap tells the revoker about one arena mapping. */
export interface ArenaInfo {
  readonly base: number;
  readonly end: number;
  readonly cap: Capability /* the mapping's capability, VMEM included */;
}

interface RevokeReply {
  epochs: { enqueue: number; dequeue: number };
}

export class MrsRevoker implements QuarantineRevoker {
  readonly #core: GuestCore;
  readonly #arenaOf: (base: number) => ArenaInfo | null;
  readonly #config: RevokeSideConfig;
  readonly #shadows = new Map<number, Capability>() /* arena base -> shadow slice capability */;
  /** cheri_revoke calls made (every pass, LAST or not). */
  calls = 0;

  constructor(core: GuestCore, arenaOf: (base: number) => ArenaInfo | null, config: RevokeSideConfig) {
    this.#core = core;
    this.#arenaOf = arenaOf;
    this.#config = config;
  }

  /* Chunks are stamped when the flush paints them (after painting, as mrs reads enqueue). */
  epoch(): bigint | null {
    return null;
  }

  revoke(chunks: readonly Chunk[]): bigint {
    const fresh = chunks.filter((ch) => ch.enqueueEpoch === null);
    for (const ch of fresh) this.#paint(ch, true);
    const start = this.#info().enqueue; /* read after painting */
    for (const ch of fresh) ch.enqueueEpoch = BigInt(start);
    const side =
      this.#config.loadSide === null
        ? 0
        : this.#config.loadSide
          ? CHERI_REVOKE_FORCE_LOAD_SIDE
          : CHERI_REVOKE_FORCE_STORE_SIDE;
    let dequeue = this.#info().dequeue;
    for (let i = 0; i < this.#config.concurrentPasses && !clears(BigInt(dequeue), BigInt(start)); i++)
      dequeue = this.#cheriRevoke(side, start).epochs.dequeue;
    while (!clears(BigInt(dequeue), BigInt(start)))
      dequeue = this.#cheriRevoke(CHERI_REVOKE_LAST_PASS | side, start).epochs.dequeue;
    const now = BigInt(dequeue);
    for (const ch of chunks)
      if (ch.enqueueEpoch !== null && clears(now, ch.enqueueEpoch)) this.#paint(ch, false);
    return now;
  }

  #info(): { enqueue: number; dequeue: number } {
    const info = this.#core.call('cheri_revoke_get_shadow', CHERI_REVOKE_SHADOW_INFO_STRUCT, 0, 0) as {
      epochs: { enqueue: number; dequeue: number };
    };
    return info.epochs;
  }

  /* cheri_revoke(flags, start): another revoker busy or a failed world stop (ERESTART) is retried. */
  #cheriRevoke(flags: number, start: number): RevokeReply {
    const { side, errnoName } = this.#core.ctx;
    for (let tries = 0; ; tries++) {
      side.safepoint();
      const r = side.syscall(SYS_CHERI_REVOKE, [flags, start]);
      this.calls++;
      if (r.errno === 0) {
        /* the transport answers td.retobj after waking parked calls, which may have replaced
           it (another thread's waitpid, say): then read the published epochs instead */
        const v = r.value as RevokeReply | null;
        return v?.epochs !== undefined ? v : { epochs: this.#info() };
      }
      if (r.errno !== ERESTART || tries >= MAX_RESTARTS)
        libAbort(this.#core, `malloc: cheri_revoke(${hex(flags)}, ${start}) failed: ${errnoName(r.errno)}`);
    }
  }

  /* The shadow slice of the arena holding base (asked for once per arena mapping). */
  #shadow(arena: ArenaInfo): Capability {
    let c = this.#shadows.get(arena.base);
    if (c !== undefined) return c;
    const core = this.#core;
    const slice = core.call(
      'cheri_revoke_get_shadow',
      CHERI_REVOKE_SHADOW_NOVMMAP,
      arena.base,
      arena.end - arena.base,
    ) as {
      base: number;
      length: number;
    };
    const regs = core.ctx.hart.regs;
    const ROOT = regs.ddcIdx;
    const s = capSetBounds(
      capSetAddr(regs.get(ROOT), BigInt(slice.base), ROOT),
      BigInt(slice.length),
      ROOT,
    ).cap;
    c = capAndPerms(s, CHERI_PERM_GLOBAL | CHERI_PERM_LOAD | CHERI_PERM_STORE, ROOT);
    this.#shadows.set(arena.base, c);
    return c;
  }

  /* Set (paint) or clear the shadow bits of the chunk's granules. */
  #paint(ch: Chunk, on: boolean): void {
    const core = this.#core;
    const arena = this.#arenaOf(ch.base);
    if (arena === null) libAbort(core, `malloc: quarantined chunk ${hex(ch.base)} outside the arena`);
    const { hart } = core.ctx;
    const g0 = (ch.base - arena.base) / GRANULE;
    const g1 = g0 + ch.footprint / GRANULE; /* exclusive */
    withReg(core, this.#shadow(arena), (r) => {
      let g = g0;
      while (g < g1) {
        const byte = Math.floor(g / 8);
        /* a run of 32 granules on a 4-byte boundary of the shadow: one word */
        if (g % 32 === 0 && g + 32 <= g1) {
          const off = byte;
          core.trapped(() => hart.store(r, off, 4, on ? 0xffffffff : 0));
          g += 32;
          continue;
        }
        const hi = Math.min(g1, (byte + 1) * 8);
        let mask = 0;
        for (let k = g; k < hi; k++) mask |= 1 << (k % 8);
        if (mask === 0xff) core.trapped(() => hart.store(r, byte, 1, on ? 0xff : 0));
        else {
          const old = core.trapped(() => hart.load(r, byte, 1));
          const v = on ? old | mask : old & ~mask & 0xff;
          core.trapped(() => hart.store(r, byte, 1, v));
        }
        g = hi;
      }
    });
  }
}
