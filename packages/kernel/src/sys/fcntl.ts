/* open(2) flags and lseek whence values: FreeBSD sys/sys/fcntl.h, sys/unistd.h. */
export const O_RDONLY = 0x0000;
export const O_WRONLY = 0x0001;
export const O_RDWR = 0x0002;
export const O_ACCMODE = 0x0003;
export const O_NONBLOCK = 0x0004;
export const O_APPEND = 0x0008;
export const O_CREAT = 0x0200;
export const O_TRUNC = 0x0400;
export const O_EXCL = 0x0800;
export const O_DIRECTORY = 0x00020000;
export const O_EXEC = 0x00040000;
export const O_CLOEXEC = 0x00100000;
/*
 * PR #2225: shm-specific O_ flags reuse values meaningless for shm; the exact
 * value of O_SHARECAP is unknown.  We alias O_DIRECTORY.  [assumed]
 */
export const O_SHARECAP = O_DIRECTORY;

/* Kernel file flags (FREAD/FWRITE = FFLAGS(O_ACCMODE)). */
export const FREAD = 0x0001;
export const FWRITE = 0x0002;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;

export const PATH_MAX = 1024;
