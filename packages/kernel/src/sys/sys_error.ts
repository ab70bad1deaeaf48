/*
 * SysError: an errno turned into an exception at the host API boundary
 * (tests, CLI, comlink).  Inside the kernel errors are numbers.
 */
import { ERRNO, type ErrnoName, errnoName } from './errno.js';

export class SysError extends Error {
  override name = 'SysError';
  readonly code: ErrnoName | `E${number}`;
  readonly errno: number;
  readonly syscall: string;
  readonly detail: string | undefined;

  constructor(errno: number, syscall: string, detail?: string, options?: ErrorOptions) {
    const code = errnoName(errno);
    super(`${syscall}: ${code}${detail ? ` (${detail})` : ''}`, options);
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.detail = detail;
  }

  static of(code: ErrnoName, syscall: string, detail?: string): SysError {
    return new SysError(ERRNO[code], syscall, detail);
  }
}
