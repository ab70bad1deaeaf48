/* map-store-reload (MSR) of cheribsdtest, run in a fresh process of a booted kernel. */
import {
  IPC_CREAT,
  IPC_PRIVATE,
  MAP_ANON,
  MAP_PREFAULT_READ,
  MAP_PRIVATE,
  MAP_SHARED,
  O_CREAT,
  O_RDWR,
  ProcessTerminated,
  type ProcHandle,
  SHM_ANON,
  SysError,
  WTERMSIG,
} from '@cherisim/kernel';
import { type Booted, type MsrOutcome, PAGE, sameBytes, tagged } from './kernel_boot.js';

export type Cell =
  | 'M1'
  | 'M2'
  | 'M3'
  | 'M4'
  | 'M5'
  | 'M6'
  | 'M6p'
  | 'M7'
  | 'M8'
  | 'M9'
  | 'M10s'
  | 'M10m'
  | 'M13';

/* Map one page for `cell` in p with `prot`; returns the address. */
export function mapCell(p: ProcHandle, cell: Cell, prot: number): number {
  switch (cell) {
    case 'M1':
      return p.mmap(0, PAGE, prot, MAP_ANON);
    case 'M2':
      return p.mmap(0, PAGE, prot, MAP_ANON | MAP_SHARED);
    case 'M3':
    case 'M4': {
      const fd = p.open('/dev/zero', O_RDWR);
      return p.mmap(0, PAGE, prot, cell === 'M3' ? MAP_SHARED : MAP_PRIVATE, fd, 0);
    }
    case 'M5':
    case 'M6':
    case 'M6p': {
      const fd = p.open(`/tmp/f${p.pid}`, O_RDWR | O_CREAT);
      p.unlink(`/tmp/f${p.pid}`);
      p.ftruncate(fd, PAGE);
      const fl = cell === 'M5' ? MAP_SHARED : cell === 'M6' ? MAP_PRIVATE : MAP_PRIVATE | MAP_PREFAULT_READ;
      return p.mmap(0, PAGE, prot, fl, fd, 0);
    }
    case 'M7':
    case 'M10s': {
      const fd = p.shm_open(SHM_ANON, O_RDWR);
      p.ftruncate(fd, PAGE);
      return p.mmap(0, PAGE, prot, cell === 'M7' ? MAP_SHARED : MAP_PRIVATE, fd, 0);
    }
    case 'M8': {
      const fd = p.shm_open(`/shm${p.pid}`, O_RDWR | O_CREAT);
      p.shm_unlink(`/shm${p.pid}`);
      p.ftruncate(fd, PAGE);
      return p.mmap(0, PAGE, prot, MAP_SHARED, fd, 0);
    }
    case 'M9':
    case 'M10m': {
      const fd = p.memfd_create('m');
      p.ftruncate(fd, PAGE);
      return p.mmap(0, PAGE, prot, cell === 'M9' ? MAP_SHARED : MAP_PRIVATE, fd, 0);
    }
    case 'M13': {
      const id = p.shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
      return p.shmat(id, 0, 0);
    }
  }
}

export function msr(b: Booted, cell: Cell, prot: number): MsrOutcome {
  const p = b.spawn(cell);
  let base: number;
  try {
    base = mapCell(p, cell, prot);
  } catch (e) {
    if (e instanceof SysError) return { kind: 'E', code: e.code };
    throw e;
  }
  const c = tagged();
  try {
    p.storeCap(base, c);
  } catch (e) {
    if (!(e instanceof ProcessTerminated)) throw e;
    const w = b.handle(1).waitpid(p.pid)!;
    const si = w.siginfo!;
    return {
      kind: 'F',
      signo: WTERMSIG(w.status),
      code: si.si_code,
      addr: si.si_addr,
      trapno: si.si_trapno,
      base,
    };
  }
  const r = p.loadCap(base);
  if (!sameBytes(r.bytes, c.bytes)) throw new Error('reloaded bytes differ');
  p.exit(0);
  b.handle(1).waitpid(p.pid);
  return r.tag ? { kind: 'T' } : { kind: 'untagged' };
}
