/*
 * Event tracing (cf. Varnish's DSLb and CheriBSD's ktrace): one NDJSON line per event —
 * system calls, traps, signals and exits, forks and threads, and capability stores into
 * mappings that write through to a shared object.  Buffered; flushed on close.
 */
import { pino } from 'pino';

type Dest = ReturnType<typeof pino.destination>;

export class Tracer {
  readonly #dest: Dest;
  readonly #t0 = performance.now();
  readonly #tag: string | undefined;

  /* Appends: systems that share a file write whole lines (O_APPEND), told apart by `tag`. */
  constructor(file: string, tag?: string) {
    this.#dest = pino.destination({ dest: file, sync: false, mkdir: true, append: true });
    this.#tag = tag;
  }

  event(ev: string, fields: Record<string, unknown>): void {
    const t = Math.round((performance.now() - this.#t0) * 1000) / 1000;
    const head = this.#tag === undefined ? { t, ev } : { t, sys: this.#tag, ev };
    this.#dest.write(`${JSON.stringify({ ...head, ...fields }, replacer)}\n`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#dest.flushSync();
      this.#dest.end();
      this.#dest.once('close', () => resolve());
    });
  }
}

/* Byte buffers are summarised, not dumped; bigints become strings. */
function replacer(_key: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: v.length };
  if (typeof v === 'bigint') return v.toString();
  return v;
}
