/*
 * The syscall mailbox: one SharedArrayBuffer per thread carrying one request and then its
 * reply.  Numbers-only calls (most of them) travel in float64 slots with no serialisation;
 * anything else (strings, byte buffers, objects) is v8-serialised into the byte area.
 *
 *   Int32 [0..7]    header: MB_SYSNO, MB_FORMAT, MB_NARGS, MB_LEN, MB_ERRNO, MB_RFORMAT, MB_RLEN
 *   Float64 [4..15] MB_F64_ARGS argument slots, MB_F64_RET the numeric return value
 *   bytes [128..]   serialised request or reply
 */
import { deserialize, serialize } from 'node:v8';

export const MB_SYSNO = 0;
export const MB_FORMAT = 1;
export const MB_NARGS = 2;
export const MB_LEN = 3;
export const MB_ERRNO = 4;
export const MB_RFORMAT = 5;
export const MB_RLEN = 6;
const MB_F64_ARGS = 4; /* float64 index of the first argument slot */
export const MB_MAX_NUMERIC_ARGS = 8;
const MB_F64_RET = 12;
const MB_BYTES = 128;

const FMT_NUMBERS = 0;
const FMT_SERIALIZED = 1;
const FMT_UNDEFINED = 2;

export const DEFAULT_MAILBOX_BYTES = 256 * 1024;

/** Values that may cross the mailbox: structured-clone data, never functions or host objects. */
export type MailValue = unknown;

export class MailboxOverflow extends RangeError {
  override name = 'MailboxOverflow';
}

export interface SyscallReply {
  errno: number;
  value: MailValue;
}

export class Mailbox {
  readonly i32: Int32Array;
  readonly f64: Float64Array;
  readonly u8: Uint8Array;

  constructor(shared: SharedArrayBuffer) {
    this.i32 = new Int32Array(shared, 0, 8);
    this.f64 = new Float64Array(shared, 0, 16);
    this.u8 = new Uint8Array(shared);
  }

  static create(bytes = DEFAULT_MAILBOX_BYTES): Mailbox {
    return new Mailbox(new SharedArrayBuffer(bytes));
  }

  get shared(): SharedArrayBuffer {
    return this.u8.buffer as SharedArrayBuffer;
  }

  writeRequest(sysno: number, args: readonly MailValue[]): void {
    const h = this.i32;
    h[MB_SYSNO] = sysno;
    if (args.length <= MB_MAX_NUMERIC_ARGS && args.every((a) => typeof a === 'number')) {
      h[MB_FORMAT] = FMT_NUMBERS;
      h[MB_NARGS] = args.length;
      for (let i = 0; i < args.length; i++) this.f64[MB_F64_ARGS + i] = args[i] as number;
      return;
    }
    h[MB_FORMAT] = FMT_SERIALIZED;
    h[MB_LEN] = this.#put(serialize(args));
  }

  readRequest(): { sysno: number; args: MailValue[] } {
    const h = this.i32;
    if (h[MB_FORMAT] === FMT_NUMBERS) {
      const args: number[] = new Array(h[MB_NARGS]);
      for (let i = 0; i < args.length; i++) args[i] = this.f64[MB_F64_ARGS + i];
      return { sysno: h[MB_SYSNO], args };
    }
    return { sysno: h[MB_SYSNO], args: deserialize(this.u8.slice(MB_BYTES, MB_BYTES + h[MB_LEN])) };
  }

  writeReply(errno: number, value: MailValue): void {
    const h = this.i32;
    h[MB_ERRNO] = errno;
    if (typeof value === 'number') {
      h[MB_RFORMAT] = FMT_NUMBERS;
      this.f64[MB_F64_RET] = value;
    } else if (value === undefined) {
      h[MB_RFORMAT] = FMT_UNDEFINED;
    } else {
      h[MB_RFORMAT] = FMT_SERIALIZED;
      h[MB_RLEN] = this.#put(serialize(value));
    }
  }

  readReply(): SyscallReply {
    const h = this.i32;
    const errno = h[MB_ERRNO];
    switch (h[MB_RFORMAT]) {
      case FMT_NUMBERS:
        return { errno, value: this.f64[MB_F64_RET] };
      case FMT_UNDEFINED:
        return { errno, value: undefined };
      default:
        return { errno, value: deserialize(this.u8.slice(MB_BYTES, MB_BYTES + h[MB_RLEN])) };
    }
  }

  #put(bytes: Uint8Array): number {
    if (MB_BYTES + bytes.length > this.u8.length)
      throw new MailboxOverflow(
        `syscall data of ${bytes.length} bytes exceeds the ${this.u8.length - MB_BYTES}-byte mailbox`,
      );
    this.u8.set(bytes, MB_BYTES);
    return bytes.length;
  }
}
