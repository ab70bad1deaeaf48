/*
 * The guest library: what CHERI C programs get from libc and friends, built on the core
 * `sys` API (guest_api.ts).  Plain data in and out, capabilities as handles (CapRef).
 *
 *   CHERI C builtins   cheri_bounds_set, cheri_perms_and, cheri_tag_get, ... (below)
 *   malloc & co        guest_lib/malloc.ts: exact bounds, mrs-like quarantine, one heap per thread
 *   workspaces         guest_lib/workspace.ts: Varnish WS_* with bounded allocations
 *   string buffers     guest_lib/vsb.ts: Varnish VSB_*, VSB_data bounded to len + 1
 *   strings            loadString / storeString: NUL-terminated UTF-8 through a capability
 */
import {
  capAndPerms,
  capClearTag,
  capSetAddr,
  capSetBounds,
  capSetBoundsExact,
  cc128GetRepresentableLength,
  cc128GetRequiredAlignment,
} from '@cherisim/machine';
import type { HostFunction } from '../guest/sandbox.js';
import type { CapRef, GuestCore } from './guest_api.js';
import { Heap } from './guest_lib/malloc.js';
import { makeVsbs } from './guest_lib/vsb.js';
import { makeWorkspaces } from './guest_lib/workspace.js';

const num = (b: bigint): number => Number(b);
const utf8 = new TextEncoder();
const utf8Decode = new TextDecoder();

export function makeGuestLib(core: GuestCore): Record<string, HostFunction> {
  const { hart, handles } = core.ctx;
  let heapInstance: Heap | null = null; /* made on first use: no mmap for programs that never malloc */
  const heap = (): Heap => {
    heapInstance ??= new Heap(core);
    return heapInstance;
  };
  const capOrNull = (v: unknown) => (v === null || v === undefined ? null : core.cap(v));
  const putOrNull = (c: ReturnType<Heap['malloc']>): CapRef | null => (c === null ? null : core.put(c));

  return {
    /* ---- CHERI C builtins (cheriintrin.h names) ---- */
    /* cheri_bounds_set(cap, len): bounds [cursor, cursor+len), rounded outwards if unrepresentable */
    cheri_bounds_set: (v: unknown, len: number) =>
      core.trapped(() => core.put(capSetBounds(core.cap(v), BigInt(len)).cap)),
    /* cheri_bounds_set_exact(cap, len): as above, but an unrepresentable request faults */
    cheri_bounds_set_exact: (v: unknown, len: number) =>
      core.trapped(() => core.put(capSetBoundsExact(core.cap(v), BigInt(len)))),
    cheri_perms_and: (v: unknown, perms: number) =>
      core.trapped(() => core.put(capAndPerms(core.cap(v), perms))),
    cheri_perms_get: (v: unknown) => core.cap(v).perms,
    cheri_tag_get: (v: unknown) => core.cap(v).tag,
    cheri_tag_clear: (v: unknown) => core.put(capClearTag(core.cap(v))),
    cheri_is_null: (v: unknown) => {
      const c = core.cap(v);
      return !c.tag && c.cursor === 0n;
    },
    cheri_base_get: (v: unknown) => num(core.cap(v).base),
    cheri_length_get: (v: unknown) => num(core.cap(v).length),
    cheri_address_get: (v: unknown) => num(core.cap(v).cursor),
    cheri_address_set: (v: unknown, addr: number) =>
      core.trapped(() => core.put(capSetAddr(core.cap(v), BigInt(addr)))),
    cheri_offset_get: (v: unknown) => {
      const c = core.cap(v);
      return num(c.cursor - c.base);
    },
    cheri_offset_set: (v: unknown, off: number) => {
      const c = core.cap(v);
      return core.trapped(() => core.put(capSetAddr(c, c.base + BigInt(off))));
    },
    cheri_is_sealed: (v: unknown) => core.cap(v).isSealed,
    /* CRRL: the length a request of len bytes gets when its bounds must be exact */
    cheri_representable_length: (len: number) => num(cc128GetRepresentableLength(BigInt(len))),
    /* the base alignment CRAM asks for (a power of two; cheri_representable_alignment_mask = -this) */
    cheri_representable_alignment: (len: number) => num(cc128GetRequiredAlignment(BigInt(len))),

    /* ---- malloc & co (one heap per thread) ---- */
    malloc: (size: number) => putOrNull(heap().malloc(size)),
    calloc: (n: number, size: number) => putOrNull(heap().calloc(n, size)),
    realloc: (v: unknown, size: number) => putOrNull(heap().realloc(capOrNull(v), size)),
    free: (v: unknown) => heap().free(capOrNull(v)),
    malloc_usable_size: (v: unknown) => heap().usableSize(core.cap(v)),
    malloc_stats: () => heap().stats(),
    /* malloc_config({ minRevokeHeapBytes, quarantineRatio, loadSide, concurrentPasses }) → the config */
    malloc_config: (changes?: unknown) => heap().configure(changes),
    /* mrs: revoke the whole quarantine now and release it to the free list */
    malloc_revoke_quarantine_force_flush: () => heap().flushQuarantine(),

    /* ---- Varnish workspaces and string buffers ---- */
    ...makeWorkspaces(core),
    ...makeVsbs(core, heap),

    /* ---- strings ---- */
    /* loadString(cap, off = 0): bytes up to the NUL, as strlen reads them (no NUL within bounds: it faults) */
    loadString: (v: unknown, off = 0) => {
      const h = handles.check(v);
      const bytes: number[] = [];
      for (let i = off; ; i++) {
        const at = i;
        const b = core.trapped(() => hart.load(h, at, 1));
        if (b === 0) break;
        bytes.push(b);
      }
      return utf8Decode.decode(new Uint8Array(bytes));
    },
    /* storeString(cap, off, str): str in UTF-8 and a NUL; returns the bytes written before the NUL */
    storeString: (v: unknown, off: number, str: string) => {
      const h = handles.check(v);
      const bytes = utf8.encode(String(str));
      for (let i = 0; i <= bytes.length; i++) {
        const at = off + i;
        const b = i < bytes.length ? bytes[i] : 0;
        core.trapped(() => hart.store(h, at, 1, b));
      }
      return bytes.length;
    },
  };
}
