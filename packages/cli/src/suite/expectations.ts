/*
 * The acceptance suite's EXPECTATIONS: for every test of the catalogue
 * (cheribsd-semantics.md §7), what the reference says must happen in each regime, with its
 * catalogue number and the rules it rests on.  This is DATA copied from the reference by hand:
 * nothing here is computed from the simulator's policy code (packages/kernel/src/kern/policy.ts),
 * so a disagreement between the two shows up as a FAIL.
 *
 * Regimes (§0.2): DEV rows apply to `cheribsd-dev`, STRICT to `cheribsd-strict`, PR2225 to
 * `pr2225`; the catalogue's "STRICT / PR2225 expected" column applies to both unless the row
 * says otherwise.  7.4 rows are cheriostest's STRICT expectations (FreeBSD, non-RVY); under
 * cheribsd-dev and pr2225 they take the §2 table's DEV and PR2225 columns for the same mapping
 * (each cell says which).  7.5 rows are PR2225 expectations; under the other regimes the §2
 * table decides (no owner model, no O_SHARECAP).
 *
 * Outcomes:
 *   pass           the body runs to success (PASS-T and "same" rows)
 *   fault          the body dies from `signal` (CT_FLAG_SIGNAL), with `code` (CT_FLAG_SI_CODE),
 *                  `trapno` (CT_FLAG_SI_TRAPNO) and, with siAddr, at the address the body
 *                  declared: the mapping base (CT_FLAG_SI_ADDR)
 *   errno          the call under test is refused with this errno (null: the reference leaves
 *                  the errno unspecified, any errno matches)
 *   xfail          expected to fail in this regime (ct_xfail_reason), with this failure code
 * `variant` picks the form of the test the regime's source runs (scenarios.ts): 'prot-cap' is
 * cheriostest's (S-PORT) form, which maps the shared object with PROT_CAP.
 */
import type { Regime } from '@cherisim/kernel';
import type { FailureName } from './scenarios.js';

export type Expected =
  | { readonly outcome: 'pass' }
  | {
      readonly outcome: 'fault';
      readonly signal: string;
      readonly code?: string;
      readonly trapno?: string;
      readonly siAddr?: 'base';
    }
  | { readonly outcome: 'errno'; readonly errno: string | null }
  | { readonly outcome: 'xfail'; readonly reason: string; readonly failure: FailureName };

export interface Cell {
  readonly expect: Expected;
  readonly variant?: string;
  /** Where the expectation comes from (catalogue column, §2 cell, rule). */
  readonly why: string;
}

export interface SuiteTest {
  readonly id: string;
  /** Catalogue section and number, e.g. "7.1 #8"; derived scenarios "7.5 D1". */
  readonly catalogue: string;
  /** Upstream test name (the id, less a disambiguating suffix). */
  readonly name: string;
  readonly source: string;
  readonly rules: string;
  readonly physMib?: number;
  readonly regimes: Readonly<Record<Regime, Cell>>;
}

export type NotRunStatus = 'not modelled' | 'pending: revocation' | 'not applicable' | 'unsupported';

export interface NotRunTest {
  readonly id: string;
  readonly catalogue: string;
  readonly status: NotRunStatus;
  readonly reason: string;
}

/* ---- outcome constructors (shorthand only: every cell below is still written out) ---------- */

const PASS: Expected = { outcome: 'pass' };
/* the catalogue's FAULT: SIGSEGV / SEGV_STORETAG / TRAPNO_STORE_CAP_PF at the mapping base */
const FAULT: Expected = {
  outcome: 'fault',
  signal: 'SIGSEGV',
  code: 'SEGV_STORETAG',
  trapno: 'TRAPNO_STORE_CAP_PF',
  siAddr: 'base',
};
/* cheriostest rows that state the signal and code only (#49), or add the trapno (#50, #51) */
const FAULT_CODE: Expected = { outcome: 'fault', signal: 'SIGSEGV', code: 'SEGV_STORETAG' };
const FAULT_TRAPNO: Expected = {
  outcome: 'fault',
  signal: 'SIGSEGV',
  code: 'SEGV_STORETAG',
  trapno: 'TRAPNO_STORE_CAP_PF',
};
const errno = (name: string | null): Expected => ({ outcome: 'errno', errno: name });
const xfail = (reason: string, failure: FailureName): Expected => ({ outcome: 'xfail', reason, failure });

const cell = (expect: Expected, why: string, variant?: string): Cell =>
  variant === undefined ? { expect, why } : { expect, why, variant };

const SHM_SURPRISE = 'Tags currently survive cross-AS aliasing of SHM_ANON objects';
const HOARD = "unmapped part of shm objects aren't revoked";

export const SUITE: readonly SuiteTest[] = [
  /* ---- 7.1 Protection / mapping type (S-TVM @0180b39) ---------------------------------- */
  {
    id: 'vm_tag_mmap_anon',
    catalogue: '7.1 #1',
    name: 'vm_tag_mmap_anon',
    source: 'S-TVM',
    rules: 'R2, M1',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #1 DEV: PASS-T'),
      'cheribsd-strict': cell(PASS, '7.1 #1 STRICT: PASS-T'),
      pr2225: cell(PASS, '7.1 #1 PR2225: PASS-T'),
    },
  },
  {
    id: 'vm_tag_mmap_anon_cap',
    catalogue: '7.1 #2',
    name: 'vm_tag_mmap_anon_cap',
    source: 'S-TVM',
    rules: 'R2, M1',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #2 DEV: PASS-T'),
      'cheribsd-strict': cell(PASS, '7.1 #2 STRICT: PASS-T'),
      pr2225: cell(PASS, '7.1 #2 PR2225: PASS-T'),
    },
  },
  {
    id: 'vm_notag_mmap_no_cap',
    catalogue: '7.1 #3',
    name: 'vm_notag_mmap_no_cap',
    source: 'S-TVM',
    rules: 'R3, R5',
    regimes: {
      'cheribsd-dev': cell(FAULT, '7.1 #3 DEV: FAULT (si_addr = base)'),
      'cheribsd-strict': cell(FAULT, '7.1 #3 STRICT: FAULT (non-RVY)'),
      pr2225: cell(FAULT, '7.1 #3 PR2225: FAULT (non-RVY)'),
    },
  },
  {
    id: 'vm_notag_mprotect_no_cap',
    catalogue: '7.1 #4',
    name: 'vm_notag_mprotect_no_cap',
    source: 'S-TVM',
    rules: 'R4, R5',
    regimes: {
      'cheribsd-dev': cell(FAULT, '7.1 #4 DEV: FAULT'),
      'cheribsd-strict': cell(FAULT, '7.1 #4 STRICT: FAULT'),
      pr2225: cell(FAULT, '7.1 #4 PR2225: FAULT'),
    },
  },
  {
    id: 'vm_mmap_diallowed_prot',
    catalogue: '7.1 #5',
    name: 'vm_mmap_diallowed_prot',
    source: 'S-TVM',
    rules: 'R3',
    regimes: {
      'cheribsd-dev': cell(errno('ENOTSUP'), '7.1 #5 DEV: each of the 4 combinations ENOTSUP'),
      'cheribsd-strict': cell(errno('ENOTSUP'), '7.1 #5 STRICT: same'),
      pr2225: cell(errno('ENOTSUP'), '7.1 #5 PR2225: same'),
    },
  },
  {
    id: 'vm_tag_shm_open_anon_shared',
    catalogue: '7.1 #6',
    name: 'vm_tag_shm_open_anon_shared',
    source: 'S-TVM; S-PORT',
    rules: 'M7, R13, R21',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #6 DEV: PASS-T (M7 DEV implied: T)'),
      'cheribsd-strict': cell(FAULT, '7.1 #6 STRICT: FAULT without PROT_CAP (S-PORT no_implied_cap)'),
      pr2225: cell(FAULT, '7.1 #6 PR2225 column: FAULT without PROT_CAP (M7 PR2225: F, R21)'),
    },
  },
  {
    id: 'vm_tag_shm_open_anon_private',
    catalogue: '7.1 #7',
    name: 'vm_tag_shm_open_anon_private',
    source: 'S-TVM',
    rules: 'M10',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #7 DEV: PASS-T'),
      'cheribsd-strict': cell(PASS, '7.1 #7 STRICT: PASS-T'),
      pr2225: cell(PASS, '7.1 #7 PR2225: PASS-T'),
    },
  },
  {
    id: 'vm_shm_open_anon_unix_surprise',
    catalogue: '7.1 #8',
    name: 'vm_shm_open_anon_unix_surprise',
    source: 'S-TVM; PR #2225',
    rules: 'R13, M7, R21, R22, R29',
    regimes: {
      'cheribsd-dev': cell(
        xfail(SHM_SURPRISE, 'TAG_SURVIVED'),
        '7.1 #8 DEV: XFAIL (child sees the tag, exits 1), R13',
      ),
      'cheribsd-strict': cell(
        PASS,
        '7.1 #8 STRICT/PR2225 column: the child must not see the tag (STRICT: M7 no implied caps for the PROT_READ receiver, R21); sender asks PROT_CAP as the PR version does (R29)',
        'prot-cap',
      ),
      pr2225: cell(
        PASS,
        '7.1 #8 PR2225: expected PASS (child must not see the tag); sender maps with PROT_CAP (R21, R29), receiver MAP_SHARED PROT_READ',
        'prot-cap',
      ),
    },
  },
  {
    id: 'shm_open_read_nocaps',
    catalogue: '7.1 #9',
    name: 'shm_open_read_nocaps',
    source: 'S-TVM',
    rules: 'R9',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #9 DEV: read value untagged, bytes equal'),
      'cheribsd-strict': cell(
        PASS,
        '7.1 #9 STRICT: same (mapping with PROT_CAP so the store can happen, as S-PORT #55)',
        'prot-cap',
      ),
      pr2225: cell(PASS, '7.1 #9 PR2225: same (owner maps with PROT_CAP, R21)', 'prot-cap'),
    },
  },
  {
    id: 'shm_open_write_nocaps',
    catalogue: '7.1 #10',
    name: 'shm_open_write_nocaps',
    source: 'S-TVM',
    rules: 'R9',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #10 DEV: mapping value untagged, bytes equal'),
      'cheribsd-strict': cell(
        PASS,
        '7.1 #10 STRICT: same (mapping with PROT_CAP so a tag could be seen, as S-PORT #56/#57)',
        'prot-cap',
      ),
      pr2225: cell(PASS, '7.1 #10 PR2225: same (owner maps with PROT_CAP, R21)', 'prot-cap'),
    },
  },
  {
    id: 'vm_tag_dev_zero_shared',
    catalogue: '7.1 #13',
    name: 'vm_tag_dev_zero_shared',
    source: 'S-TVM; S-PORT',
    rules: 'M3',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #13 DEV: PASS-T (implied)'),
      'cheribsd-strict': cell(PASS, '7.1 #13 STRICT: S-PORT uses R|W|PROT_CAP -> PASS-T', 'prot-cap'),
      pr2225: cell(PASS, '7.1 #13 PR2225 column: S-PORT form R|W|PROT_CAP -> PASS-T (M3 as M2)', 'prot-cap'),
    },
  },
  {
    id: 'vm_tag_dev_zero_private',
    catalogue: '7.1 #14',
    name: 'vm_tag_dev_zero_private',
    source: 'S-TVM',
    rules: 'M4',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #14 DEV: PASS-T'),
      'cheribsd-strict': cell(PASS, '7.1 #14 STRICT: PASS-T'),
      pr2225: cell(PASS, '7.1 #14 PR2225: PASS-T'),
    },
  },
  {
    id: 'vm_notag_tmpfile_shared',
    catalogue: '7.1 #15',
    name: 'vm_notag_tmpfile_shared',
    source: 'S-TVM',
    rules: 'M5, R1, R5, R15',
    regimes: {
      'cheribsd-dev': cell(FAULT, '7.1 #15 DEV: FAULT (si_addr = base)'),
      'cheribsd-strict': cell(FAULT, '7.1 #15 STRICT: FAULT (non-RVY)'),
      pr2225: cell(FAULT, '7.1 #15 PR2225: FAULT (non-RVY)'),
    },
  },
  {
    id: 'vm_tag_tmpfile_private',
    catalogue: '7.1 #16',
    name: 'vm_tag_tmpfile_private',
    source: 'S-TVM',
    rules: 'M6',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #16 DEV: PASS-T'),
      'cheribsd-strict': cell(PASS, '7.1 #16 STRICT: PASS-T'),
      pr2225: cell(PASS, '7.1 #16 PR2225: PASS-T'),
    },
  },
  {
    id: 'vm_tag_tmpfile_private_prefault',
    catalogue: '7.1 #17',
    name: 'vm_tag_tmpfile_private_prefault',
    source: 'S-TVM',
    rules: 'M6',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #17 DEV: PASS-T'),
      'cheribsd-strict': cell(PASS, '7.1 #17 STRICT: PASS-T'),
      pr2225: cell(PASS, '7.1 #17 PR2225: PASS-T'),
    },
  },
  {
    id: 'vm_cow_read',
    catalogue: '7.1 #18',
    name: 'vm_cow_read',
    source: 'S-TVM; S-PORT',
    rules: 'R32, M10',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #18 DEV: copy read tagged'),
      'cheribsd-strict': cell(PASS, '7.1 #18 STRICT: same (real mapped with PROT_CAP in S-PORT)', 'prot-cap'),
      pr2225: cell(PASS, '7.1 #18 PR2225: same (real mapped with PROT_CAP; owner, R22)', 'prot-cap'),
    },
  },
  {
    id: 'vm_shm_largepage_basic',
    catalogue: '7.1 #19',
    name: 'vm_shm_largepage_basic',
    source: 'S-TVM',
    rules: 'M12',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #19 DEV: tags at start, middle and last page of each large page (M12)'),
      'cheribsd-strict': cell(PASS, 'M12 STRICT: not in the catalogue; as M7 with PROT_CAP -> T', 'prot-cap'),
      pr2225: cell(PASS, 'M12 PR2225 [I] as M7: the owner with PROT_CAP -> T', 'prot-cap'),
    },
  },
  {
    id: 'vm_capdirty',
    catalogue: '7.1 #20',
    name: 'vm_capdirty',
    source: 'S-TVM',
    rules: 'R8',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.1 #20 DEV: R8 expectations (vm.capstore_on_alloc unset)'),
      'cheribsd-strict': cell(PASS, '7.1 #20 STRICT: same'),
      pr2225: cell(PASS, '7.1 #20 PR2225: same'),
    },
  },
  /* ---- 7.3 IPC, swap, CheriABI ----------------------------------------------------------- */
  ...(
    [
      ['test_ipc_pipe_capsize_tagstripped', '7.3 #41'],
      ['test_ipc_pipe_8k_tagstripped', '7.3 #42'],
      ['test_ipc_socket_local_stream_capsize_tagstripped', '7.3 #43'],
      ['test_ipc_socket_local_stream_8k_tagstripped', '7.3 #44'],
    ] as const
  ).map(
    ([id, catalogue]): SuiteTest => ({
      id,
      catalogue,
      name: id,
      source: 'S-IPC',
      rules: 'R10',
      regimes: {
        'cheribsd-dev': cell(PASS, `${catalogue}: bytes equal, tag clear`),
        'cheribsd-strict': cell(PASS, `${catalogue}: bytes equal, tag clear (regime-independent)`),
        pr2225: cell(PASS, `${catalogue}: bytes equal, tag clear (regime-independent)`),
      },
    }),
  ),
  {
    id: 'vm_swap',
    catalogue: '7.3 #47',
    name: 'vm_swap (cheribsdtest_vm_swap; registered name unverified)',
    source: 'S-SWAP',
    rules: 'R11',
    physMib: 16,
    regimes: {
      'cheribsd-dev': cell(PASS, '7.3 #47: zero mismatches, no page in core after MS_PAGEOUT'),
      'cheribsd-strict': cell(PASS, '7.3 #47: zero mismatches (private anon memory, regime-independent)'),
      pr2225: cell(PASS, '7.3 #47: zero mismatches (private anon memory, regime-independent)'),
    },
  },
  {
    id: 'minherit_bounds',
    catalogue: '7.3 #48',
    name: 'minherit bounds test (cheribsdtest_cheriabi.c; name not recorded)',
    source: 'S-TABI; S-PORTABI',
    rules: 'R34, R27',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.3 #48 DEV: EPROT, EPROT; NONE and SHARE succeed'),
      'cheribsd-strict': cell(PASS, '7.3 #48: as DEV (the minherit limits R27 are PR2225 only)'),
      pr2225: cell(
        errno(null),
        '7.3 #48 PR2225: SHARE on a cap-bearing private mapping is refused (R27; errno unknown)',
      ),
    },
  },
  /* ---- 7.4 cheriostest (S-PORT): STRICT expectations, FreeBSD non-RVY ----------------------- */
  {
    id: 'vm_tag_shm_open_named_shared_no_implied_cap',
    catalogue: '7.4 #49',
    name: 'vm_tag_shm_open_named_shared_no_implied_cap',
    source: 'S-PORT',
    rules: 'M8, R21',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M8 DEV: T (implied) [I]'),
      'cheribsd-strict': cell(FAULT_CODE, '7.4 #49: FAULT (SIGSEGV, SEGV_STORETAG)'),
      pr2225: cell(FAULT_CODE, '§2 M8 PR2225 (as M7): F without PROT_CAP'),
    },
  },
  {
    id: 'vm_tag_shm_open_anon_shared_no_implied_cap',
    catalogue: '7.4 #50',
    name: 'vm_tag_shm_open_anon_shared_no_implied_cap',
    source: 'S-PORT',
    rules: 'M7, R21',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M7 DEV: T (implied) [V S-TVM]'),
      'cheribsd-strict': cell(FAULT_TRAPNO, '7.4 #50: FAULT (+ trapno TRAPNO_STORE_CAP_PF)'),
      pr2225: cell(FAULT_TRAPNO, '§2 M7 PR2225: F without PROT_CAP'),
    },
  },
  {
    id: 'vm_tag_anon_shared_no_implied_cap',
    catalogue: '7.4 #51',
    name: 'vm_tag_anon_shared_no_implied_cap',
    source: 'S-PORT',
    rules: 'M2, R21, R25',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M2 DEV: T (implied; #2673 proposes to stop)'),
      'cheribsd-strict': cell(FAULT_TRAPNO, '7.4 #51: FAULT (+ trapno), PR #2673 behaviour'),
      pr2225: cell(FAULT_TRAPNO, '§2 M2 PR2225: F without PROT_CAP (R25)'),
    },
  },
  {
    id: 'vm_tag_memfd_create_shared',
    catalogue: '7.4 #52',
    name: 'vm_tag_memfd_create_shared',
    source: 'S-PORT',
    rules: 'M9, R21',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M9 DEV: T (implied) [I]'),
      'cheribsd-strict': cell(FAULT, '7.4 #52: FAULT'),
      pr2225: cell(FAULT, '§2 M9 PR2225 (as M7): F without PROT_CAP'),
    },
  },
  {
    id: 'vm_tag_shm_open_anon_shared.port',
    catalogue: '7.4 #53',
    name: 'vm_tag_shm_open_anon_shared (PORT variant)',
    source: 'S-PORT',
    rules: 'M7, R22',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M7 DEV with PROT_CAP: T'),
      'cheribsd-strict': cell(PASS, '7.4 #53: PASS-T'),
      pr2225: cell(PASS, '§2 M7 PR2225: with PROT_CAP in the owner vmspace (the creator, R22): T'),
    },
  },
  {
    id: 'vm_shm_open_named_unix_surprise',
    catalogue: '7.4 #54',
    name: 'vm_shm_open_named_unix_surprise',
    source: 'S-PORT',
    rules: 'R13, M8, R22',
    regimes: {
      'cheribsd-dev': cell(
        xfail('tags survive cross-AS aliasing of named shm (R13; PROT_CAP on both sides)', 'TAG_SURVIVED'),
        '§2 M8 DEV with PROT_CAP: T; as #8 DEV',
      ),
      'cheribsd-strict': cell(
        xfail('FreeBSD: marked expected-failure ("tags survive")', 'TAG_SURVIVED'),
        '7.4 #54 FreeBSD: expected-failure (pass/fail logic here is #8\'s; the port\'s is inverted: "treat as unreliable")',
      ),
      pr2225: cell(
        errno(null),
        "R22 / 7.5 D3: the non-owner receiver's PROT_CAP mapping is refused (errno unspecified)",
      ),
    },
  },
  {
    id: 'shm_open_named_read_nocaps',
    catalogue: '7.4 #55',
    name: 'shm_open_named_read_nocaps',
    source: 'S-PORT',
    rules: 'R9',
    regimes: {
      'cheribsd-dev': cell(PASS, 'R9: read(2) never moves tags (regime-independent)'),
      'cheribsd-strict': cell(PASS, '7.4 #55: untagged'),
      pr2225: cell(PASS, 'R9 (the creator owns the object, R22)'),
    },
  },
  {
    id: 'shm_open_anon_shm',
    catalogue: '7.4 #56',
    name: 'shm_open_anon_shm (named write)',
    source: 'S-PORT',
    rules: 'R9',
    regimes: {
      'cheribsd-dev': cell(PASS, 'R9: write(2) never moves tags (regime-independent)'),
      'cheribsd-strict': cell(PASS, '7.4 #56: mapping holds untagged bytes'),
      pr2225: cell(PASS, 'R9 (the creator owns the object, R22)'),
    },
  },
  {
    id: 'memfd_create_anon_write_nocaps',
    catalogue: '7.4 #57',
    name: 'memfd_create_anon_write_nocaps',
    source: 'S-PORT',
    rules: 'R9',
    regimes: {
      'cheribsd-dev': cell(PASS, 'R9: write(2) never moves tags (regime-independent)'),
      'cheribsd-strict': cell(PASS, '7.4 #57: mapping holds untagged bytes'),
      pr2225: cell(PASS, 'R9 (the creator owns the memfd, R22)'),
    },
  },
  /* ---- 7.5 derived PR2225 scenarios (NOT upstream tests) --------------------------------- */
  {
    id: 'pr2225_d1_owner_prot_cap',
    catalogue: '7.5 D1 (derived)',
    name: 'D1 owner maps SHM_ANON R|W|PROT_CAP shared, stores',
    source: 'R20-R29',
    rules: 'R21, R22',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M7 DEV with PROT_CAP: T'),
      'cheribsd-strict': cell(PASS, '§2 M7 STRICT with PROT_CAP: T'),
      pr2225: cell(PASS, '7.5 D1: PASS-T'),
    },
  },
  {
    id: 'pr2225_d2_owner_no_prot_cap',
    catalogue: '7.5 D2 (derived)',
    name: 'D2 owner maps R|W (no PROT_CAP) shared, stores',
    source: 'R20-R29',
    rules: 'R21',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M7 DEV: T (implied)'),
      'cheribsd-strict': cell(FAULT, '§2 M7 STRICT: F without PROT_CAP'),
      pr2225: cell(FAULT, '7.5 D2: FAULT'),
    },
  },
  {
    id: 'pr2225_d3_second_process_prot_cap',
    catalogue: '7.5 D3 (derived)',
    name: 'D3 second process (fd via SCM_RIGHTS) maps R|W|PROT_CAP shared',
    source: 'R20-R29',
    rules: 'R22',
    regimes: {
      'cheribsd-dev': cell(
        PASS,
        '§2 M7 DEV with PROT_CAP: T (no owner model): mapped, store and reload tagged',
      ),
      'cheribsd-strict': cell(PASS, '§2 M7 STRICT with PROT_CAP: T (no owner model)'),
      pr2225: cell(errno(null), '7.5 D3: refused (errno unspecified) [I]'),
    },
  },
  {
    id: 'pr2225_d4_second_process_read',
    catalogue: '7.5 D4 (derived)',
    name: "D4 second process maps PROT_READ shared, loads the owner's cap",
    source: 'R20-R29',
    rules: 'R22, R6, R13',
    regimes: {
      'cheribsd-dev': cell(
        xfail('R13: DEV leaks capabilities across address spaces through shm (as #8)', 'TAG_SURVIVED'),
        '§2 M7 DEV: T (implied) for the PROT_READ receiver',
      ),
      'cheribsd-strict': cell(PASS, '§2 M7 STRICT: no implied caps, the load strips (R6)'),
      pr2225: cell(PASS, '7.5 D4: untagged'),
    },
  },
  {
    id: 'pr2225_d5_sharecap_fork',
    catalogue: '7.5 D5 (derived)',
    name: 'D5 O_SHARECAP object: owner forks, child reads the inherited mapping; non-owner PROT_CAP mmap',
    source: 'R20-R29',
    rules: 'R24, M11',
    regimes: {
      'cheribsd-dev': cell(
        errno('EINVAL'),
        'R24: O_SHARECAP exists only in PR2225; shm_open refuses flags outside its allow-list [I]',
      ),
      'cheribsd-strict': cell(
        errno('EINVAL'),
        'R24: O_SHARECAP exists only in PR2225; shm_open refuses flags outside its allow-list [I]',
      ),
      pr2225: cell(PASS, '7.5 D5: child reads tagged; non-owner PROT_CAP mmap allowed'),
    },
  },
  {
    id: 'pr2225_d7_owner_exit',
    catalogue: '7.5 D7 (derived)',
    name: 'D7 owner exits; a third process maps with PROT_CAP',
    source: 'R20-R29',
    rules: 'R22',
    regimes: {
      'cheribsd-dev': cell(PASS, '§2 M8 DEV with PROT_CAP: T (no owner model); the stored tag is there'),
      'cheribsd-strict': cell(PASS, '§2 M8 STRICT with PROT_CAP: T (no owner model)'),
      pr2225: cell(
        errno(null),
        "7.5 D7 / R22: orphan policy 'none-may-cap' (the default): no vmspace may map it PROT_CAP",
      ),
    },
  },
  {
    id: 'cheri_revoke_lightly',
    catalogue: '7.2 #22',
    name: 'cheri_revoke_lightly',
    source: 'S-TVM',
    rules: 'R40, R42, R43, R46',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.2 #22: painted base revoked; epochs published; unpainted not revoked'),
      'cheribsd-strict': cell(PASS, '7.2 #22: same (revocation is not a regime matter)'),
      pr2225: cell(PASS, '7.2 #22: same'),
    },
  },
  {
    id: 'cheri_revoke_loadside',
    catalogue: '7.2 #23',
    name: 'cheri_revoke_loadside',
    source: 'S-TVM',
    rules: 'R8, R40, R47',
    regimes: {
      'cheribsd-dev': cell(
        PASS,
        '7.2 #23: barrier returns revoked; CAPSTORE 110 → 110 → 100 → 000 across passes',
      ),
      'cheribsd-strict': cell(PASS, '7.2 #23: same (revocation is not a regime matter)'),
      pr2225: cell(PASS, '7.2 #23: same'),
    },
  },
  {
    id: 'cheri_revoke_async',
    catalogue: '7.2 #24',
    name: 'cheri_revoke_async',
    source: 'S-TVM',
    rules: 'R43, R44',
    regimes: {
      'cheribsd-dev': cell(
        PASS,
        '7.2 #24: enqueue == dequeue+1 at return, equal to the info page; closes at start+2; revoked',
      ),
      'cheribsd-strict': cell(PASS, '7.2 #24: same'),
      pr2225: cell(PASS, '7.2 #24: same'),
    },
  },
  {
    id: 'cheri_revoke_async_fork',
    catalogue: '7.2 #25',
    name: 'cheri_revoke_async_fork',
    source: 'S-TVM',
    rules: 'R30, R43, R44',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.2 #25: as #24 while another thread loops fork/_exit/waitpid'),
      'cheribsd-strict': cell(PASS, '7.2 #25: same'),
      pr2225: cell(PASS, '7.2 #25: same'),
    },
  },
  {
    id: 'cheri_revoke_lib',
    catalogue: '7.2 #26',
    name: 'cheri_revoke_lib',
    source: 'S-TVM',
    rules: 'R40, R42, R43, R46',
    regimes: {
      'cheribsd-dev': cell(
        PASS,
        '7.2 #26: every cap in the chunk revoked, none outside (paranoia 2), once and split',
      ),
      'cheribsd-strict': cell(PASS, '7.2 #26: same'),
      pr2225: cell(PASS, '7.2 #26: same'),
    },
  },
  {
    id: 'cheri_revoke_lib_fork',
    catalogue: '7.2 #27',
    name: 'cheri_revoke_lib_fork',
    source: 'S-TVM',
    rules: 'R30, R43',
    regimes: {
      'cheribsd-dev': cell(PASS, '7.2 #27: a forked child revokes on its own copy: exit 0'),
      'cheribsd-strict': cell(PASS, '7.2 #27: same'),
      pr2225: cell(PASS, '7.2 #27: same'),
    },
  },
  {
    id: 'cheri_revoke_shm_anon_hoard_unmapped',
    catalogue: '7.2 #40',
    name: 'cheri_revoke_shm_anon_hoard_unmapped',
    source: 'S-TVM; PR #2210; PR #2225',
    rules: 'R49',
    regimes: {
      'cheribsd-dev': cell(
        xfail(HOARD, 'NOT_REVOKED'),
        '7.2 #40 DEV: XFAIL, the unmapped shm page is not swept (R49)',
      ),
      'cheribsd-strict': cell(
        xfail(HOARD, 'NOT_REVOKED'),
        '7.2 #40 STRICT: no PR #2225 mapping-in either, so as DEV (R49)',
      ),
      pr2225: cell(PASS, '7.2 #40 PR2225: the local object is swept during the pass (R49)'),
    },
  },
  {
    id: 'pr2225_d6_revoke_local_shm',
    catalogue: '7.5 D6 (derived)',
    name: 'pr2225_d6_revoke_local_shm',
    source: 'PR #2225 (derived)',
    rules: 'R49, R24',
    regimes: {
      'cheribsd-dev': cell(errno('EINVAL'), 'D6: O_SHARECAP does not exist outside PR #2225 (EINVAL)'),
      'cheribsd-strict': cell(errno('EINVAL'), 'D6: O_SHARECAP does not exist outside PR #2225 (EINVAL)'),
      pr2225: cell(PASS, 'D6: the local object is swept, unmapped; the O_SHARECAP object is not (R49, R24)'),
    },
  },
];

/* ---- the rest of the catalogue: listed, never run, never counted as passed ------------------ */

const notModelled = (n: string, id: string, reason: string): NotRunTest => ({
  id,
  catalogue: `7.2 #${n}`,
  status: 'not modelled',
  reason,
});

export const NOT_RUN: readonly NotRunTest[] = [
  {
    id: 'vm_cap_share_fd_kqueue',
    catalogue: '7.1 #11',
    status: 'not modelled',
    reason: 'kqueue and rfork(RFPROC) (a shared fd table) are not modelled',
  },
  {
    id: 'vm_cap_share_sigaction',
    catalogue: '7.1 #12',
    status: 'not modelled',
    reason: 'rfork(RFPROC|RFSIGSHARE) (a shared sigaction table) is not modelled',
  },

  {
    id: 'vm_reservation_mmap_shared',
    catalogue: '7.1 #21',
    status: 'unsupported',
    reason:
      'the kernel does not round mmap lengths / align bases to the capability representability mask (CRRL/CRAM): mappings are placed on page boundaries only',
  },
  ...[
    'fork_exec_once',
    'fork_exec_split_prior',
    'fork_exec_once_opened',
    'rfork_exec_split',
    'vfork_exec_once',
    'vfork_exec_split_prior',
    'vfork_exec_once_opened',
    'posix_spawn_split',
    'posix_spawn_once_prior',
    'posix_spawn_split_opened',
  ].map((v, i) =>
    notModelled(
      String(28 + i),
      `cheri_revoke_lib_child_${v}`,
      'exec, vfork, rfork and posix_spawn are not modelled',
    ),
  ),
  notModelled(
    '38',
    'revoke_largest_quarantined_reservation',
    'quarantined reservations (R41) are not modelled',
  ),
  notModelled('39', 'revoke_merge_quarantined', 'quarantined reservations (R41) are not modelled'),
  {
    id: 'test_ipc_socket_tcp_stream_capsize_tagstripped',
    catalogue: '7.3 #45',
    status: 'not applicable',
    reason: 'loopback TCP is not modelled (AF_UNIX only)',
  },
  {
    id: 'test_ipc_socket_tcp_stream_8k_tagstripped',
    catalogue: '7.3 #46',
    status: 'not applicable',
    reason: 'loopback TCP is not modelled (AF_UNIX only)',
  },
  {
    id: 'vm_reservation_mmap_shared_memfd_open',
    catalogue: '7.4 #58',
    status: 'unsupported',
    reason: 'as #21: no representability rounding of mmap lengths and bases in the kernel',
  },
];
