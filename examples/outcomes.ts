/*
 * Three ways a process ends, side by side: a child whose capability store hits a page without
 * cap-store permission (SIGSEGV, SEGV_STORETAG, R5), a child that throws (SIGABRT with the
 * exception as its reason), and the parent, which exits with the number of children that
 * died of a signal.
 *
 *   cherisim run examples/outcomes.ts                 # parent exits 2
 *   cherisim run examples/outcomes.ts --entry boom    # just the throwing entry
 *   cherisim run examples/outcomes.ts -- 1            # main(sys, 1): one child only
 */
import type { Sys } from 'cherisim';
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE, SHM_ANON } from 'cherisim';

export function main(sys: Sys, children = 2) {
  const entries = ['storeFault', 'boom'].slice(0, children);
  let signalled = 0;
  for (const entry of entries) {
    const pid = sys.fork(entry, null);
    if (sys.waitpid(pid).termsig !== null) signalled++;
  }
  return signalled;
}

export function storeFault(sys: Sys) {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  /* no PROT_CAP: under pr2225 and cheribsd-strict a shared shm mapping has no cap-store (M7) */
  const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  sys.storeCap(p, 32, p);
  return 0;
}

export function boom(_sys: Sys) {
  throw new Error('kaboom');
}
