/*
 * Pipes: a byte stream between two files.  cf. FreeBSD sys/kern/sys_pipe.c.
 * Bytes are copied in and out of user memory as data: tags never cross (R10).
 */
import { PIPE_SIZE } from '../sys/socket.js';

export interface Pipe {
  readonly chunks: Uint8Array[];
  count: number /* bytes buffered */;
  readerOpen: boolean;
  writerOpen: boolean;
}

export function pipeCreate(): Pipe {
  return { chunks: [], count: 0, readerOpen: true, writerOpen: true };
}

/* Take up to n bytes. */
export function byteQueueTake(q: { chunks: Uint8Array[]; count: number }, n: number): Uint8Array {
  const out = new Uint8Array(Math.min(n, q.count));
  let done = 0;
  while (done < out.length) {
    const c = q.chunks[0];
    const take = Math.min(c.length, out.length - done);
    out.set(c.subarray(0, take), done);
    done += take;
    if (take === c.length) q.chunks.shift();
    else q.chunks[0] = c.subarray(take);
  }
  q.count -= out.length;
  return out;
}

/* Room left in a pipe buffer. */
export function pipeSpace(p: Pipe): number {
  return PIPE_SIZE - p.count;
}
