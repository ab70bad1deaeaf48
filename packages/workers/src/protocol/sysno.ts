/*
 * System-call numbers on the mailbox.  The kernel's own calls go by name through its sysent
 * table; this list gives each a number so that a numbers-only call needs no serialisation.
 * The runtime adds its calls: traps (a fault the thread could not resolve itself), fork with
 * an entry point, and abort (an uncaught guest exception).
 */
export const KERNEL_SYSCALLS = [
  'mmap',
  'munmap',
  'mprotect',
  'minherit',
  'madvise',
  'mincore',
  'msync',
  'shm_open',
  'shm_unlink',
  'memfd_create',
  'ftruncate',
  'open',
  'close',
  'read',
  'write',
  'lseek',
  'unlink',
  'shmget',
  'shmat',
  'shmdt',
  'shmctl',
  'pipe',
  'socketpair',
  'sendmsg',
  'recvmsg',
  'exit',
  'waitpid',
  'getpid',
  'getppid',
  'kill',
  'cheri_revoke_get_shadow',
  'shm_create_largepage',
] as const;

export type KernelSyscall = (typeof KERNEL_SYSCALLS)[number];

/* Runtime calls, numbered after the kernel's. */
export const SYS_TRAP_PAGE = 100; /* (vaddr, access, cause, w0..w3?) → TrapAction */
export const SYS_TRAP_CAP = 101; /* (code, vaddr) → TrapAction */
export const SYS_TRAP_ALIGN = 102; /* (vaddr) → TrapAction */
export const SYS_FORK = 103; /* (entry, arg) → child pid */
export const SYS_ABORT = 104; /* (reason): an uncaught guest exception ends the process */
export const SYS_THREAD_CREATE = 105; /* (entry, arg, live handles) → tid */
export const SYS_THREAD_EXIT = 106; /* (return value): a thread other than the first returned */
export const SYS_THREAD_JOIN = 107; /* (tid) → that thread's return value, once it has ended */
export const SYS_CHERI_REVOKE = 108; /* (flags, start epoch) → CheriRevokeSyscallInfo; stops the world */

export function sysno(name: KernelSyscall): number {
  return KERNEL_SYSCALLS.indexOf(name);
}

export const PAGE_FAULT_ACCESS = ['read', 'write', 'cap-load', 'cap-store'] as const;
export const PAGE_FAULT_CAUSE = ['not-present', 'protection', 'cap-store', 'cap-load-gen'] as const;
export const TRAP_ACTIONS = ['retry', 'stripped', 'handled', 'killed'] as const;
