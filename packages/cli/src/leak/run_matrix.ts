/*
 * Run the leak matrix: one System per cell (channel × regime × direction), each running the
 * channel's guest program (channels.ts), and classify what happened from the two processes'
 * outcomes.  Nothing here knows what a cell "should" give: every answer comes from the run.
 *
 * Parallelism: a small async limiter on this thread.  Each cell's work happens in its own
 * System's worker threads (two per cell) while this thread only serves their system calls, so
 * `jobs` Systems at a time keep the cores busy without a pool; piscina would add a second layer
 * of workers (a System inside a pool worker, spawning its own workers) for no gain here.
 */
import { errnoName, REGIMES, type Regime, SEGV_STORETAG, SIGSEGV } from '@cherisim/kernel';
import type { ProcessOutcome, SystemOptions } from '@cherisim/workers';
import { describeOutcome } from '../report/outcome.js';
import { type Simulate, simulateInThread } from '../simulate.js';
import {
  type Channel,
  channelSource,
  type Direction,
  EXIT_MMAP_REFUSED,
  RECV_NOTHING,
  RECV_TAGGED,
  RECV_UNTAGGED,
  SEND_NO_SHARECAP,
} from './channels.js';

export type StoppedBy =
  | 'none'
  | 'store-fault'
  | 'stripped-on-load'
  | 'mmap-refused'
  | 'copied-bytes'
  | 'private-copy' /* MAP_PRIVATE: the sender's store went to its own copy, nothing arrived */
  | 'setup-failed' /* the program did not run as designed: a bug (here or in the kernel) */;

export interface MatrixRow {
  channel: string;
  regime: Regime;
  direction: Direction;
  tagCrossed: boolean;
  stoppedBy: StoppedBy;
  /** Which side stopped it (store-fault, mmap-refused), and how. */
  detail: string;
  errno?: string;
  rules: string;
  sender: string;
  receiver: string;
  ms: number;
}

export interface MatrixOptions {
  readonly channels: readonly Channel[];
  readonly regimes?: readonly Regime[];
  readonly jobs?: number;
  readonly physBytes?: number;
  readonly watchdogMs?: number;
  /** Receivers map with PROT_READ|PROT_CAP (default) or, as catalogue test #8, PROT_READ only. */
  readonly receiverCap?: boolean;
  /** Extra System options for a cell (store switch, logger, trace), given the cell's tag. */
  readonly systemOptions?: (tag: string) => Partial<SystemOptions> & { storeCapFault?: 'fault' | 'strip' };
  /** How each cell's simulation runs (default: in this thread). */
  readonly simulate?: Simulate;
}

interface Cell {
  readonly channel: Channel;
  readonly regime: Regime;
  readonly direction: Direction;
}

export function matrixCells(channels: readonly Channel[], regimes: readonly Regime[] = REGIMES): Cell[] {
  const cells: Cell[] = [];
  for (const channel of channels)
    for (const regime of regimes)
      for (const direction of channel.directions) cells.push({ channel, regime, direction });
  return cells;
}

/* Run every cell, at most `jobs` at a time; rows come back in cell order. */
export async function runMatrix(opts: MatrixOptions): Promise<MatrixRow[]> {
  const cells = matrixCells(opts.channels, opts.regimes ?? REGIMES);
  const rows: MatrixRow[] = new Array(cells.length);
  let next = 0;
  const lane = async () => {
    while (next < cells.length) {
      const i = next++;
      rows[i] = await runCell(cells[i], opts);
    }
  };
  const jobs = Math.max(1, Math.min(opts.jobs ?? 1, cells.length));
  await Promise.all(Array.from({ length: jobs }, lane));
  return rows;
}

async function runCell(cell: Cell, opts: MatrixOptions): Promise<MatrixRow> {
  const { channel, regime, direction } = cell;
  const { storeCapFault, ...extra } = opts.systemOptions?.(`${channel.id}/${regime}/${direction}`) ?? {};
  const t0 = performance.now();
  const outcomes = await (opts.simulate ?? simulateInThread)(
    { filename: `leak-matrix/${channel.id}.ts`, source: channelSource(channel) },
    'main',
    [{ direction, receiverCap: opts.receiverCap !== false }],
    {
      ...extra,
      policy: { regime, ...(storeCapFault ? { storeCapFault } : {}) },
      physBytes: opts.physBytes ?? 8 * 1024 * 1024,
      watchdogMs: opts.watchdogMs ?? 10_000,
    },
  );
  const ms = Math.round(performance.now() - t0);
  return {
    channel: channel.id,
    regime,
    direction,
    ...classify(channel, direction, outcomes),
    rules: channel.rules,
    ms,
  };
}

type Verdict = Pick<MatrixRow, 'tagCrossed' | 'stoppedBy' | 'detail' | 'errno' | 'sender' | 'receiver'>;

/* What stopped the tag (or that nothing did), from how the sender and the receiver ended. */
export function classify(
  channel: Channel,
  direction: Direction,
  outcomes: readonly ProcessOutcome[],
): Verdict {
  const parent = outcomes.find((o) => o.entry === 'main');
  const child = outcomes.find((o) => o.entry === 'child');
  const [sender, receiver] = direction === 'parent-to-child' ? [parent, child] : [child, parent];
  const base = {
    sender: sender ? describeOutcome(sender) : 'did not run',
    receiver: receiver ? describeOutcome(receiver) : 'did not run',
  };
  const v = (tagCrossed: boolean, stoppedBy: StoppedBy, detail: string, errno?: string): Verdict =>
    errno === undefined
      ? { tagCrossed, stoppedBy, detail, ...base }
      : { tagCrossed, stoppedBy, detail, errno, ...base };
  const sideName = (o: ProcessOutcome | undefined) => (o === parent ? 'parent' : 'child');
  if (sender === undefined || receiver === undefined) return v(false, 'setup-failed', 'a process is missing');

  if (sender.termsig !== null) {
    if (sender.termsig === SIGSEGV && sender.siginfo?.si_code === SEGV_STORETAG)
      return v(false, 'store-fault', `sender (${sideName(sender)}): ${base.sender}`);
    return v(false, 'setup-failed', `sender (${sideName(sender)}): ${base.sender}`);
  }
  const sent = sender.exitStatus ?? -1;
  if (sent >= EXIT_MMAP_REFUSED) {
    const errno = errnoName(sent - EXIT_MMAP_REFUSED);
    return v(false, 'mmap-refused', `sender (${sideName(sender)}) mmap failed: ${errno}`, errno);
  }
  const note =
    sent === SEND_NO_SHARECAP ? '; O_SHARECAP is not defined in this regime (EINVAL), opened without it' : '';
  if (sent !== 0 && sent !== SEND_NO_SHARECAP) return v(false, 'setup-failed', `sender: ${base.sender}`);
  if (receiver.termsig !== null)
    return v(false, 'setup-failed', `receiver (${sideName(receiver)}): ${base.receiver}`);
  const got = receiver.exitStatus ?? -1;
  if (got === RECV_TAGGED)
    return v(true, 'none', `receiver (${sideName(receiver)}) loaded a tagged capability${note}`);
  if (got >= EXIT_MMAP_REFUSED) {
    const errno = errnoName(got - EXIT_MMAP_REFUSED);
    return v(false, 'mmap-refused', `receiver (${sideName(receiver)}) mmap failed: ${errno}${note}`, errno);
  }
  if (got === RECV_UNTAGGED) {
    if (channel.carrier === 'bytes')
      return v(false, 'copied-bytes', `the bytes arrived, the kernel copied them without the tag${note}`);
    return v(false, 'stripped-on-load', `the bytes arrived, the receiver's load cleared the tag${note}`);
  }
  if (got === RECV_NOTHING && channel.carrier === 'private')
    return v(false, 'private-copy', `nothing arrived: the store went to a private copy${note}`);
  return v(false, 'setup-failed', `receiver (${sideName(receiver)}): ${base.receiver}`);
}
