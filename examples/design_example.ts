/*
 * The two-process example of DESIGN.md: does a capability stored by the parent in a shared
 * memory object reach a forked child that maps the object PROT_READ (no PROT_CAP)?
 *
 *   cherisim run examples/design_example.ts --regime cheribsd-dev      # child exits 1: the tag crossed (R13)
 *   cherisim run examples/design_example.ts --regime cheribsd-strict   # child exits 0 (R21)
 *   cherisim run examples/design_example.ts                            # pr2225: child exits 0 (R21, R22)
 *
 * The parent returns the child's exit status, so `cherisim run` exits 1 when the tag crossed.
 */
import type { Sys } from 'cherisim';
import { MAP_SHARED, O_RDWR, PAGE_SIZE, PROT_CAP, PROT_READ, PROT_WRITE, SHM_ANON } from 'cherisim';

export function main(sys: Sys) {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_CAP, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, p); /* capability store through p */
  const pid = sys.fork('child', { fd }); /* child runs child(sys, arg) in a new worker */
  return sys.waitpid(pid).exitStatus;
}

export function child(sys: Sys, { fd }: { fd: number }) {
  const q = sys.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  sys.exit(sys.loadCap(q, 0).tag ? 1 : 0); /* 1 = a tag crossed address spaces */
}
