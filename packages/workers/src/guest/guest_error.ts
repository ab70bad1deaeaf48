/*
 * GuestError: what the host sees when a guest program cannot be compiled or run.
 * GuestAbort: what a host API function throws to end the running guest entry.
 *
 * A GuestError's message is one line, "file:line:column: reason" when a position is known.
 * Its stack holds that line and the guest's own frames only, never host frames.
 */
import type { PlainData } from './plain_data.js';

export type GuestErrorCode =
  /** Not a .ts/.mts/.js/.mjs file, or an option the sandbox refuses. */
  | 'ERR_GUEST_SOURCE'
  /** The program does not parse. */
  | 'ERR_GUEST_SYNTAX'
  /** An import of anything but 'cherisim', a dynamic import(), or import.meta. */
  | 'ERR_GUEST_IMPORT'
  /** async functions, await, for await: guests run synchronously. */
  | 'ERR_GUEST_ASYNC'
  /** No exported function of that name. */
  | 'ERR_GUEST_ENTRY'
  /** An argument given to an entry is not plain data. */
  | 'ERR_GUEST_ARGUMENT'
  /** The guest threw (at module top level or out of an entry). */
  | 'ERR_GUEST_THROW'
  /** An entry returned something that is not plain data. */
  | 'ERR_GUEST_RETURN'
  /** The module top level or an entry ran past the sandbox's timeout. */
  | 'ERR_GUEST_TIMEOUT'
  /** The sandbox cannot run anything any more (after a timeout, an abort, or a broken call). */
  | 'ERR_GUEST_DEAD'
  /** The call ended without the sandbox's own code completing (e.g. stack exhausted). */
  | 'ERR_GUEST_BROKEN'
  /** call() while another call of the same sandbox is running. */
  | 'ERR_GUEST_BUSY';

/** What the guest threw, as plain data (ERR_GUEST_THROW only). */
export interface GuestThrown {
  readonly name: string;
  readonly message: string;
  readonly code?: string | number;
  readonly errno?: number;
}

export interface GuestErrorDetails {
  readonly line?: number;
  readonly column?: number;
  /** Guest frames ("    at fn (file:line:col)" lines), already mapped to the source. */
  readonly frames?: string;
  readonly thrown?: GuestThrown;
}

export class GuestError extends Error {
  override name = 'GuestError';
  readonly code: GuestErrorCode;
  /** The guest file name, as given to compileGuest. */
  readonly file: string;
  /** 1-based position in the guest source, when known. */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** What the guest threw (ERR_GUEST_THROW only). */
  readonly thrown: GuestThrown | undefined;

  constructor(code: GuestErrorCode, file: string, reason: string, details: GuestErrorDetails = {}) {
    const where =
      details.line === undefined
        ? file
        : `${file}:${details.line}${details.column ? `:${details.column}` : ''}`;
    super(`${where}: ${reason}`);
    this.code = code;
    this.file = file;
    this.line = details.line;
    this.column = details.column;
    this.thrown = details.thrown;
    // No host frames: the guest's own frames, or nothing.
    this.stack = `GuestError: ${this.message}${details.frames ? `\n${details.frames}` : ''}`;
  }
}

/**
 * Thrown by a host API function to end the guest entry that called it (exit, fatal signal).
 * The guest cannot suppress it: it sees an error it may catch, but every later sys call
 * fails at once and its result is discarded.  Sandbox.call() then rethrows this object and
 * the sandbox is dead.
 */
export class GuestAbort extends Error {
  override name = 'GuestAbort';
  /** Whatever the host wants to report (an exit status, a signal description). */
  readonly value: PlainData;

  constructor(value: PlainData, message = 'guest aborted') {
    super(message);
    this.value = value;
  }
}
