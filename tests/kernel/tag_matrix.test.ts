/*
 * §2 end to end: map-store-reload (MSR) for every mapping type M1–M13 under every regime,
 * without and with PROT_CAP, and under both store switches.  Expectations are the §2 table
 * (T = tag survives, F = SIGSEGV/SEGV_STORETAG/TRAPNO_STORE_CAP_PF at the mapping base,
 * E = mmap fails).  Under the 'strip' switch every F becomes "store done, reload untagged" (R5).
 */
import {
  PROT_CAP,
  PROT_READ,
  PROT_WRITE,
  type Regime,
  SEGV_STORETAG,
  SIGSEGV,
  type StoreCapFault,
  TRAPNO_STORE_CAP_PF,
} from '@cherisim/kernel';
import test from 'ava';
import { bootKernel } from '../_support/kernel_boot.js';
import { type Cell, msr } from '../_support/kernel_msr.js';

type O = 'T' | 'F' | 'E' | '-';
/* cell, rule, [dev, dev+CAP, strict, strict+CAP, pr2225, pr2225+CAP]; '-' = not applicable */
const ROWS: [Cell, string, O[]][] = [
  ['M1', 'R2 vm_tag_mmap_anon', ['T', 'T', 'T', 'T', 'T', 'T']],
  ['M2', 'R25 vm_tag_anon_shared_no_implied_cap', ['T', 'T', 'F', 'T', 'F', 'T']],
  ['M3', 'R21 vm_tag_dev_zero_shared', ['T', 'T', 'F', 'T', 'F', 'T']],
  ['M4', 'R2 vm_tag_dev_zero_private', ['T', 'T', 'T', 'T', 'T', 'T']],
  ['M5', 'R1 vm_notag_tmpfile_shared', ['F', 'E', 'F', 'E', 'F', 'E']],
  ['M6', 'R1 vm_tag_tmpfile_private', ['T', 'T', 'T', 'T', 'T', 'T']],
  ['M6p', 'R1 vm_tag_tmpfile_private_prefault', ['T', 'T', 'T', 'T', 'T', 'T']],
  ['M7', 'R21 vm_tag_shm_open_anon_shared', ['T', 'T', 'F', 'T', 'F', 'T']],
  ['M8', 'R21 vm_tag_shm_open_named_shared', ['T', 'T', 'F', 'T', 'F', 'T']],
  ['M9', 'R21 vm_tag_memfd_create_shared', ['T', 'T', 'F', 'T', 'F', 'T']],
  ['M10s', 'R32 vm_tag_shm_open_anon_private', ['T', 'T', 'T', 'T', 'T', 'T']],
  ['M10m', 'R32 memfd MAP_PRIVATE', ['T', 'T', 'T', 'T', 'T', 'T']],
  ['M13', 'R26 SysV shmat', ['F', '-', 'F', '-', 'T', '-']],
];
const REGIMES: Regime[] = ['cheribsd-dev', 'cheribsd-strict', 'pr2225'];

for (const [cell, rule, outs] of ROWS) {
  REGIMES.forEach((regime, ri) => {
    for (const withCap of [false, true]) {
      const want = outs[ri * 2 + (withCap ? 1 : 0)];
      if (want === '-') continue;
      for (const sw of ['fault', 'strip'] as StoreCapFault[]) {
        if (sw === 'strip' && want !== 'F') continue;
        const what =
          want === 'F'
            ? sw === 'fault'
              ? 'faults with SEGV_STORETAG at the base'
              : 'loses the tag silently'
            : want === 'T'
              ? 'keeps the tag'
              : 'is refused by mmap';
        test(`${rule.split(' ')[0]}: ${cell} (${rule.split(' ')[1] ?? ''}) R|W${withCap ? '|PROT_CAP' : ''} under ${regime}/${sw}: a capability store ${what}`, (t) => {
          const b = bootKernel({ regime, storeCapFault: sw });
          const out = msr(b, cell, PROT_READ | PROT_WRITE | (withCap ? PROT_CAP : 0));
          if (want === 'T') t.deepEqual(out, { kind: 'T' });
          else if (want === 'E') t.deepEqual(out, { kind: 'E', code: 'EACCES' });
          else if (sw === 'strip') t.deepEqual(out, { kind: 'untagged' });
          else {
            t.is(out.kind, 'F');
            if (out.kind === 'F') {
              t.is(out.signo, SIGSEGV);
              t.is(out.code, SEGV_STORETAG);
              t.is(out.addr, out.base);
              t.is(out.trapno, TRAPNO_STORE_CAP_PF);
            }
          }
          b.check();
        });
      }
    }
  });
}
