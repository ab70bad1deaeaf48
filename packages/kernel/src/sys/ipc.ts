/* SysV IPC: sys/sys/ipc.h, sys/sys/shm.h (FreeBSD values). */
export const IPC_PRIVATE = 0;
export const IPC_CREAT = 0o1000;
export const IPC_EXCL = 0o2000;
export const IPC_NOWAIT = 0o4000;
export const IPC_RMID = 0;
export const IPC_SET = 1;
export const IPC_STAT = 2;
export const SHM_RDONLY = 0o10000;
export const SHM_RND = 0o20000;
export const SHMMIN = 1;
export const SHMMAX = 64 * 1024 * 1024;
