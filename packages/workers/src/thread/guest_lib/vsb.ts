/*
 * Varnish string buffers (vsb, FreeBSD's sbuf): text is appended with the buffer's bounds
 * enforced, VSB_finish reports whether anything overflowed, and VSB_data returns the string
 * with its capability cut down to len + 1 (seed 001: cheri_bounds_set(s->s_buf, s->s_len + 1)).
 *
 * A vsb is a number the guest holds; its buffer capability sits in a register of the thread's
 * register file, its state host-side.  VSB_new(buf, len) uses the caller's buffer (fixed
 * length); VSB_new(null, len) mallocs a fixed one; VSB_new_auto() mallocs and grows with
 * realloc.  Varnish's asserts abort the process.
 */
import { type Capability, capSetBounds } from '@cherisim/machine';
import type { CapRef, GuestCore } from '../guest_api.js';
import { libAbort, libAssert } from './lib_support.js';
import type { Heap } from './malloc.js';

const ENOMEM = 12;
const VSB_MINEXTENDSIZE = 16;
const VSB_MAXEXTENDSIZE = 4096;

interface Vsb {
  readonly reg: number /* register holding the buffer capability (address = start of the buffer) */;
  size: number;
  len: number;
  error: number;
  finished: boolean;
  readonly owned: boolean /* malloc'd by VSB_new: freed by VSB_destroy */;
  readonly auto: boolean /* grows with realloc */;
}

const utf8 = new TextEncoder();

/* printf-lite: %[-][0][width](s|d|i|u|x|X|c|%) */
export function formatPrintf(fmt: string, args: readonly unknown[]): string {
  let i = 0;
  return String(fmt).replace(
    /%(-?)(0?)(\d*)([sdiuxXc%])/g,
    (_m, left: string, zero: string, w: string, conv: string) => {
      if (conv === '%') return '%';
      const a = args[i++];
      let s: string;
      switch (conv) {
        case 's':
          s = String(a);
          break;
        case 'c':
          s = typeof a === 'number' ? String.fromCharCode(a) : String(a).slice(0, 1);
          break;
        case 'x':
        case 'X':
          s = Math.trunc(Number(a)).toString(16);
          if (conv === 'X') s = s.toUpperCase();
          break;
        default:
          s = String(Math.trunc(Number(a)));
      }
      const width = w === '' ? 0 : Number(w);
      if (s.length >= width) return s;
      if (left) return s.padEnd(width, ' ');
      if (zero && conv !== 's' && s.startsWith('-')) return `-${s.slice(1).padStart(width - 1, '0')}`;
      return s.padStart(width, zero && conv !== 's' ? '0' : ' ');
    },
  );
}

export function makeVsbs(core: GuestCore, heap: () => Heap) {
  const vsbs = new Map<number, Vsb>();
  let nextId = 1;
  const { hart, handles } = core.ctx;

  const get = (v: unknown, func: string): Vsb => {
    const s = typeof v === 'number' ? vsbs.get(v) : undefined;
    if (s === undefined) libAbort(core, `${func}: not a vsb (bad magic): ${JSON.stringify(v) ?? String(v)}`);
    libAssert(core, s.len < s.size, func, 'assert_VSB_integrity: s_len < s_size');
    return s;
  };
  const unfinished = (s: Vsb, func: string) =>
    libAssert(core, !s.finished, func, 'assert_VSB_state(s, 0): the vsb is already finished');

  /* VSB_extend: grow an auto buffer with realloc; false when it cannot grow */
  const extend = (s: Vsb, add: number): boolean => {
    if (!s.auto) return false;
    let size = s.size;
    const want = s.size + add;
    while (size < want) size += Math.min(Math.max(size, VSB_MINEXTENDSIZE), VSB_MAXEXTENDSIZE);
    const c = heap().realloc(core.cap(s.reg), size);
    if (c === null) return false;
    hart.regs.set(s.reg, c);
    s.size = size;
    return true;
  };

  const putBytes = (s: Vsb, bytes: ArrayLike<number>): number => {
    for (let i = 0; i < bytes.length; i++) {
      if (s.error !== 0) return -1;
      if (s.size - s.len - 1 <= 0 && !extend(s, bytes.length - i)) {
        s.error = ENOMEM;
        return -1;
      }
      const off = s.len;
      const b = bytes[i] & 0xff;
      core.trapped(() => hart.store(s.reg, off, 1, b));
      s.len++;
    }
    return s.error !== 0 ? -1 : 0;
  };

  const create = (buf: Capability, size: number, owned: boolean, auto: boolean): number => {
    const reg = handles.alloc();
    hart.regs.set(reg, buf);
    const n = nextId++;
    vsbs.set(n, { reg, size, len: 0, error: 0, finished: false, owned, auto });
    return n;
  };

  return {
    /** VSB_new(buf, len): a fixed-length vsb over the caller's buffer, or malloc'd if buf is null. */
    VSB_new: (buf: unknown, len: number): number | null => {
      libAssert(core, Number.isSafeInteger(len) && len > 1, 'VSB_new', `length > 1 (got ${len})`);
      if (buf === null || buf === undefined) {
        const c = heap().malloc(len);
        if (c === null) return null;
        return create(c, len, true, false);
      }
      const c = core.cap(buf);
      libAssert(core, c.tag, 'VSB_new', 'buf != NULL');
      return create(c, len, false, false);
    },
    /** VSB_new_auto(): a malloc'd vsb that grows as text is added. */
    VSB_new_auto: (): number | null => {
      const c = heap().malloc(VSB_MINEXTENDSIZE);
      if (c === null) return null;
      return create(c, VSB_MINEXTENDSIZE, true, true);
    },
    /** VSB_cat(vsb, str): append str (UTF-8); 0, or -1 once the vsb has overflowed. */
    VSB_cat: (v: unknown, str: string): number => {
      const s = get(v, 'VSB_cat');
      unfinished(s, 'VSB_cat');
      return putBytes(s, utf8.encode(String(str)));
    },
    /** VSB_bcat(vsb, bytes): append bytes; 0 or -1. */
    VSB_bcat: (v: unknown, bytes: number[]): number => {
      const s = get(v, 'VSB_bcat');
      unfinished(s, 'VSB_bcat');
      libAssert(core, Array.isArray(bytes), 'VSB_bcat', 'bytes is an array');
      return putBytes(s, bytes);
    },
    /** VSB_putc(vsb, c): append one character (a char code or a one-character string). */
    VSB_putc: (v: unknown, c: number | string): number => {
      const s = get(v, 'VSB_putc');
      unfinished(s, 'VSB_putc');
      return putBytes(s, typeof c === 'number' ? [c] : utf8.encode(String(c)));
    },
    /** VSB_printf(vsb, fmt, ...args): printf-lite (%s %d %i %u %x %X %c %%, width, 0 and - flags). */
    VSB_printf: (v: unknown, fmt: string, ...args: unknown[]): number => {
      const s = get(v, 'VSB_printf');
      unfinished(s, 'VSB_printf');
      return putBytes(s, utf8.encode(formatPrintf(fmt, args)));
    },
    /** VSB_finish(vsb): NUL-terminate; 0, or -1 if it overflowed (VSB_error gives ENOMEM). */
    VSB_finish: (v: unknown): number => {
      const s = get(v, 'VSB_finish');
      unfinished(s, 'VSB_finish');
      const off = s.len;
      core.trapped(() => hart.store(s.reg, off, 1, 0));
      s.finished = true;
      return s.error !== 0 ? -1 : 0;
    },
    /** VSB_error(vsb): 0 or the errno of the overflow (ENOMEM). */
    VSB_error: (v: unknown): number => get(v, 'VSB_error').error,
    /** VSB_len(vsb): the string's length, or -1 after an overflow. */
    VSB_len: (v: unknown): number => {
      const s = get(v, 'VSB_len');
      return s.error !== 0 ? -1 : s.len;
    },
    /** VSB_data(vsb): the finished string, its capability bounded to len + 1 (the NUL). */
    VSB_data: (v: unknown): CapRef => {
      const s = get(v, 'VSB_data');
      libAssert(core, s.finished, 'VSB_data', 'assert_VSB_state(s, VSB_FINISHED): the vsb is not finished');
      const len = s.len;
      return core.trapped(() => core.put(capSetBounds(core.cap(s.reg), BigInt(len + 1)).cap));
    },
    /** VSB_clear(vsb): empty it for reuse. */
    VSB_clear: (v: unknown): void => {
      const s = get(v, 'VSB_clear');
      s.len = 0;
      s.error = 0;
      s.finished = false;
    },
    /** VSB_destroy(vsb): forget it; a malloc'd buffer is freed (to quarantine). */
    VSB_destroy: (v: unknown): void => {
      const s = get(v, 'VSB_destroy');
      if (s.owned) heap().free(core.cap(s.reg));
      handles.release(s.reg);
      vsbs.delete(v as number);
    },
  };
}
