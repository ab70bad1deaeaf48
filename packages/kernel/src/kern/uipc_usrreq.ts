/*
 * AF_UNIX sockets made by socketpair(2): stream and datagram.  cf. FreeBSD
 * sys/kern/uipc_usrreq.c.  Data are bytes (tags never cross, R10); SCM_RIGHTS carries
 * file references, held while the message is in flight and released if it is never
 * received (unp_dispose).  Reference cycles of in-flight sockets are not collected
 * (FreeBSD's unp_gc is not modelled).
 */
import type { File } from './file.js';

export const UNIX_STREAM_BUF = 65536;
export const UNIX_DGRAM_MAX = 16384;

export interface UnixMsg {
  data: Uint8Array;
  rights: File[];
}

export interface UnixSocket {
  readonly type: 'stream' | 'dgram';
  peer: UnixSocket | null /* null once the peer is closed */;
  readonly rcv: UnixMsg[] /* received, not yet read */;
  rcvBytes: number;
  open: boolean;
}

export function unixPair(type: 'stream' | 'dgram'): [UnixSocket, UnixSocket] {
  const a: UnixSocket = { type, peer: null, rcv: [], rcvBytes: 0, open: true };
  const b: UnixSocket = { type, peer: a, rcv: [], rcvBytes: 0, open: true };
  a.peer = b;
  return [a, b];
}

/* Bytes the peer can still accept. */
export function unixSpace(so: UnixSocket): number {
  const peer = so.peer;
  if (peer === null) return 0;
  return UNIX_STREAM_BUF - peer.rcvBytes;
}
