/*
 * Varnish workspaces on CHERI (seed 001, "How Varnish met CHERI"): a slab [s, e) handed out
 * front to back.  WS_Init bounds s to the slab with cheri_bounds_set, WS_Alloc returns a
 * capability bounded to the allocation, so an overrun faults instead of hitting a canary.
 *
 * A workspace is a number the guest holds; its state lives host-side.  s is a capability in a
 * register of the thread's register file (so revocation sees it, as it would see struct ws in
 * memory); f, r and e are kept as offsets from s, i.e. pointers derived from s.  Workspaces
 * belong to the thread that made them (a forked child or another thread does not see them).
 * Varnish's asserts abort the process (Varnish would panic).
 */
import { type Capability, capSetAddr, capSetBounds } from '@cherisim/machine';
import type { CapRef, GuestCore } from '../guest_api.js';
import { libAbort, libAssert } from './lib_support.js';

/** Varnish's PRNDUP: round up to pointer alignment (a capability, 16 bytes, on CHERI). */
const PALIGN = 16;
const PRNDUP = (n: number): number => Math.ceil(n / PALIGN) * PALIGN;
const WS_ID_SIZE = 4;

interface Ws {
  readonly id: string;
  readonly s: number /* register holding s, bounded to len */;
  readonly sBase: bigint;
  readonly len: number /* e - s */;
  f: number /* offset of the free pointer */;
  r: number | null /* offset of the reservation end, null when nothing is reserved */;
  overflowed: boolean;
}

export function makeWorkspaces(core: GuestCore) {
  const wss = new Map<number, Ws>();
  let nextId = 1;

  /* CHECK_OBJ_NOTNULL(ws, WS_MAGIC) + WS_Assert */
  const get = (v: unknown, func: string): Ws => {
    const ws = typeof v === 'number' ? wss.get(v) : undefined;
    if (ws === undefined)
      libAbort(core, `${func}: not a workspace (bad magic): ${JSON.stringify(v) ?? String(v)}`);
    const s = core.cap(ws.s);
    libAssert(core, s.tag && s.base === ws.sBase, func, `WS_Assert(${ws.id}): s is intact`);
    libAssert(core, ws.f >= 0 && ws.f <= ws.len, func, `WS_Assert(${ws.id}): s <= f <= e`);
    libAssert(
      core,
      ws.r === null || (ws.r >= ws.f && ws.r <= ws.len),
      func,
      `WS_Assert(${ws.id}): f <= r <= e`,
    );
    return ws;
  };
  const sCap = (ws: Ws): Capability => core.cap(ws.s);
  /* cheri_bounds_set(s + off, n) */
  const slice = (ws: Ws, off: number, n: number): CapRef => {
    const s = sCap(ws);
    return core.put(capSetBounds(capSetAddr(s, s.cursor + BigInt(off)), BigInt(n)).cap);
  };
  const markOverflow = (ws: Ws) => {
    ws.overflowed = true;
  };
  const idOf = (ws: Ws) => (ws.overflowed ? ws.id[0].toUpperCase() + ws.id.slice(1) : ws.id);

  const reserve = (ws: Ws, func: string, bytes?: number): CapRef | null => {
    libAssert(core, ws.r === null, func, `ws->r == NULL (${ws.id} already has a reservation)`);
    const room = ws.len - ws.f;
    if (bytes === undefined) {
      ws.r = ws.len;
      return slice(ws, ws.f, room);
    }
    libAssert(core, Number.isSafeInteger(bytes) && bytes > 0, func, `bytes > 0 (got ${bytes})`);
    if (bytes > room) {
      markOverflow(ws);
      return null;
    }
    ws.r = ws.f + bytes;
    return slice(ws, ws.f, bytes);
  };

  return {
    /** WS_Init(space, id, len): a workspace over [space, space+len); returns its number. */
    WS_Init: (space: unknown, id: string, len: number): number => {
      const c = core.cap(space);
      libAssert(core, c.tag, 'WS_Init', 'space != NULL');
      libAssert(core, c.cursor % BigInt(PALIGN) === 0n, 'WS_Init', 'PAOK(space)');
      libAssert(core, typeof id === 'string' && id.length > 0, 'WS_Init', 'id is a string');
      libAssert(
        core,
        (id.charCodeAt(0) & 0x20) !== 0,
        'WS_Init',
        `id[0] & 0x20 (lower case id, got "${id}")`,
      );
      libAssert(core, Number.isSafeInteger(len) && len > 0, 'WS_Init', `len > 0 (got ${len})`);
      /* ws->s = cheri_bounds_set(space, len): a fault here (len beyond space) is the guest's */
      const s = core.trapped(() => capSetBounds(c, BigInt(len)).cap);
      const h = core.put(s).handle;
      const n = nextId++;
      wss.set(n, {
        id: id.slice(0, WS_ID_SIZE - 1),
        s: h,
        sBase: s.base,
        len,
        f: 0,
        r: null,
        overflowed: false,
      });
      return n;
    },
    /** WS_Alloc(ws, bytes): a capability bounded to PRNDUP(bytes), or null (overflow marked). */
    WS_Alloc: (v: unknown, bytes: number): CapRef | null => {
      const ws = get(v, 'WS_Alloc');
      libAssert(core, Number.isSafeInteger(bytes) && bytes > 0, 'WS_Alloc', `bytes > 0 (got ${bytes})`);
      libAssert(core, ws.r === null, 'WS_Alloc', `ws->r == NULL (${ws.id} has a reservation)`);
      const n = PRNDUP(bytes);
      if (ws.f + n > ws.len) {
        markOverflow(ws);
        return null;
      }
      const r = slice(ws, ws.f, n);
      ws.f += n;
      return r;
    },
    /** WS_Reserve(ws, bytes?): reserve bytes (all that is left if omitted); a capability to it, or null. */
    WS_Reserve: (v: unknown, bytes?: number) =>
      reserve(
        get(v, 'WS_Reserve'),
        'WS_Reserve',
        bytes === undefined || bytes === null || bytes === 0 ? undefined : bytes,
      ),
    WS_ReserveAll: (v: unknown) => reserve(get(v, 'WS_ReserveAll'), 'WS_ReserveAll'),
    WS_ReserveSize: (v: unknown, bytes: number) => reserve(get(v, 'WS_ReserveSize'), 'WS_ReserveSize', bytes),
    /** WS_Release(ws, bytes): keep the first bytes of the reservation (f += PRNDUP(bytes)), end it. */
    WS_Release: (v: unknown, bytes: number): void => {
      const ws = get(v, 'WS_Release');
      libAssert(core, ws.r !== null, 'WS_Release', `ws->r != NULL (${ws.id} has no reservation)`);
      libAssert(core, Number.isSafeInteger(bytes) && bytes >= 0, 'WS_Release', `bytes >= 0 (got ${bytes})`);
      libAssert(
        core,
        ws.f + bytes <= ws.r,
        'WS_Release',
        `ws->f + bytes <= ws->r (releasing ${bytes} bytes of a ${ws.r - ws.f}-byte reservation)`,
      );
      ws.f = Math.min(ws.f + PRNDUP(bytes), ws.len);
      ws.r = null;
    },
    /** WS_Snapshot(ws): the front pointer's offset, for WS_Reset. */
    WS_Snapshot: (v: unknown): number => {
      const ws = get(v, 'WS_Snapshot');
      libAssert(core, ws.r === null, 'WS_Snapshot', `ws->r == NULL (${ws.id} has a reservation)`);
      return ws.f;
    },
    /** WS_Reset(ws, snapshot): roll the front pointer back (capabilities handed out stay valid: no revocation). */
    WS_Reset: (v: unknown, snap: number): void => {
      const ws = get(v, 'WS_Reset');
      libAssert(core, ws.r === null, 'WS_Reset', `ws->r == NULL (${ws.id} has a reservation)`);
      libAssert(
        core,
        Number.isSafeInteger(snap) && snap >= 0 && snap <= ws.f,
        'WS_Reset',
        `s <= snapshot <= f`,
      );
      ws.f = snap;
    },
    /** WS_Rollback(ws, snapshot = 0): reset (to s if 0) and clear the overflow mark. */
    WS_Rollback: (v: unknown, snap = 0): void => {
      const ws = get(v, 'WS_Rollback');
      libAssert(
        core,
        Number.isSafeInteger(snap) && snap >= 0 && snap <= ws.f,
        'WS_Rollback',
        `s <= snapshot <= f`,
      );
      ws.r = null;
      ws.f = snap;
      ws.overflowed = false;
    },
    WS_Overflowed: (v: unknown): boolean => get(v, 'WS_Overflowed').overflowed,
    WS_MarkOverflow: (v: unknown): void => markOverflow(get(v, 'WS_MarkOverflow')),
    /** WS_Inuse(ws): bytes allocated (f - s). */
    WS_Inuse: (v: unknown): number => get(v, 'WS_Inuse').f,
    /** WS_ID(ws): the id; its first letter is upper case once the workspace overflowed (as Varnish marks it). */
    WS_ID: (v: unknown): string => idOf(get(v, 'WS_ID')),
    /** WS_Stats(ws): the accounting, for tests and tracing. */
    WS_Stats: (v: unknown) => {
      const ws = get(v, 'WS_Stats');
      return {
        id: idOf(ws),
        len: ws.len,
        used: ws.f,
        reserved: ws.r === null ? 0 : ws.r - ws.f,
        free: ws.len - (ws.r ?? ws.f),
        overflowed: ws.overflowed,
      };
    },
    /** WS_Free(ws): forget the workspace and release its s register (the space itself is the caller's). */
    WS_Free: (v: unknown): void => {
      const ws = get(v, 'WS_Free');
      core.ctx.handles.release(ws.s);
      wss.delete(v as number);
    },
  };
}
