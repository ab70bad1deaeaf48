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

  constructor(file: string) {
    this.#dest = pino.destination({ dest: file, sync: false, mkdir: true });
  }

  event(ev: string, fields: Record<string, unknown>): void {
    const line = JSON.stringify(
      { t: Math.round((performance.now() - this.#t0) * 1000) / 1000, ev, ...fields },
      replacer,
    );
    this.#dest.write(`${line}\n`);
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
