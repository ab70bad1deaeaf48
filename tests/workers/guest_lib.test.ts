/*
 * The guest library (issue 4 point 3): malloc with exact bounds and an mrs-like quarantine,
 * CHERI C builtins, Varnish workspaces and string buffers, run as real guest programs.
 * A guest checks with `check(cond, what)`: a failed check throws, which aborts the process
 * with the reason, and the test shows it.
 */
import { SIGABRT, SIGPROT } from '@cherisim/kernel';
import { type ProcessOutcome, System, type SystemOptions } from '@cherisim/workers';
import test, { type ExecutionContext } from 'ava';

const PROT_CHERI_BOUNDS = 1;

const PRELUDE = `
import { PAGE_SIZE, PROT_READ, PROT_WRITE, MAP_ANON, MAP_PRIVATE, SIGPROT, ENOMEM,
         CHERI_PERM_SW_VMEM, CHERI_PERM_EXECUTE, CHERI_PERM_LOAD, CHERI_PERM_STORE } from 'cherisim';
function check(cond: unknown, what: string): void { if (!cond) throw new Error('check failed: ' + what); }
function eq(a: unknown, b: unknown, what: string): void {
  if (a !== b) throw new Error('check failed: ' + what + ': ' + JSON.stringify(a) + ' !== ' + JSON.stringify(b));
}
/* fork a child at entry and return its wait status */
function child(sys: any, entry: string): any { return sys.waitpid(sys.fork(entry, null)); }
`;

async function run(t: ExecutionContext, body: string, opts: SystemOptions = {}): Promise<ProcessOutcome[]> {
  const sys = new System({ physBytes: 8 << 20, ...opts });
  t.teardown(() => sys.shutdown());
  const before = sys.kernel.stats();
  const out = await sys.run({ filename: 'guest_lib_guest.ts', source: PRELUDE + body }, 'main');
  const after = sys.kernel.stats();
  t.is(after.framesUsed, before.framesUsed, "the heaps' frames are released with their processes");
  t.is(after.objects, before.objects, 'VM objects released');
  return out;
}

function byEntry(out: ProcessOutcome[], entry: string): ProcessOutcome {
  const o = out.find((x) => x.entry === entry);
  if (!o) throw new Error(`no process ran ${entry}`);
  return o;
}

/* main returned 0 with every check passed */
function passed(t: ExecutionContext, out: ProcessOutcome[]): void {
  const main = byEntry(out, 'main');
  t.is(main.reason, null, 'no failed check in main');
  t.is(main.exitStatus, 0);
}

function boundsFault(t: ExecutionContext, o: ProcessOutcome): void {
  t.is(o.termsig, SIGPROT, `${o.entry} ends with SIGPROT (${o.reason ?? o.exitStatus})`);
  t.is(o.siginfo?.si_code, PROT_CHERI_BOUNDS, 'si_code PROT_CHERI_BOUNDS');
}

function aborted(t: ExecutionContext, o: ProcessOutcome, reason: RegExp): void {
  t.is(o.termsig, SIGABRT, `${o.entry} ends with SIGABRT (exit status ${o.exitStatus})`);
  t.regex(o.reason ?? '', reason);
}

test('malloc: exact bounds padded with CRRL/CRAM, no VMEM/EXECUTE, and one byte past the end is SIGPROT/PROT_CHERI_BOUNDS', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const p = sys.malloc(100);
       check(p.tag, 'tagged');
       eq(p.length, 100, 'length');
       eq(p.address, p.base, 'address at base');
       eq(p.base % 16, 0, 'granule aligned');
       eq(p.perms & (CHERI_PERM_SW_VMEM | CHERI_PERM_EXECUTE), 0, 'no VMEM, no EXECUTE');
       check((p.perms & (CHERI_PERM_LOAD | CHERI_PERM_STORE)) === (CHERI_PERM_LOAD | CHERI_PERM_STORE), 'load+store');
       sys.store(p, 99, 1, 7);
       eq(sys.load(p, 99, 1), 7, 'last byte');
       const big = 100001;
       const L = sys.cheri_representable_length(big);
       check(L > big, 'CRRL pads an unrepresentable length');
       const q = sys.malloc(big);
       eq(q.length, L, 'length is CRRL(size)');
       eq(q.base % sys.cheri_representable_alignment(big), 0, 'base aligned to CRAM(size)');
       eq(sys.malloc_usable_size(q), L, 'malloc_usable_size');
       sys.store(q, L - 1, 1, 1);
       const z = sys.malloc(0);
       check(z.tag && z.length >= 1, 'malloc(0) is a valid minimal allocation');
       check(z.base >= p.base + 100 || z.base + z.length <= p.base, 'malloc(0) does not overlap');
       eq(sys.malloc(2 ** 50), null, 'huge malloc is NULL');
       eq(sys.malloc(-1), null, 'negative (huge size_t) malloc is NULL');
       const w = child(sys, 'overflow');
       eq(w.termsig, SIGPROT, 'child killed by SIGPROT');
       return 0;
     }
     export function overflow(sys: any) {
       const p = sys.malloc(100);
       sys.store(p, 100, 1, 1);
       return 0;
     }`,
  );
  passed(t, out);
  boundsFault(t, byEntry(out, 'overflow'));
});

test('free: the chunk goes to quarantine (malloc_stats) and later mallocs never hand it out again', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const a = sys.malloc(64);
       const s0 = sys.malloc_stats();
       eq(s0.allocatedBytes, 64, 'allocated');
       eq(s0.quarantineBytes, 0, 'empty quarantine');
       sys.free(a);
       sys.free(null);
       const s1 = sys.malloc_stats();
       eq(s1.quarantineBytes, 64, 'quarantined bytes');
       eq(s1.quarantinedChunks, 1, 'quarantined chunks');
       eq(s1.allocatedBytes, 0, 'allocated after free');
       eq(s1.heapBytes, 64, 'heap counts the quarantine (mrs allocated_size)');
       eq(s1.revocationDue, false, 'small heap: no revocation due');
       const freed = new Set([a.base]);
       for (let i = 0; i < 40; i++) {
         const b = sys.malloc(64);
         check(!freed.has(b.base), 'a freed chunk was handed out again at ' + b.base);
         sys.free(b);
         freed.add(b.base);
         sys.release(b);
       }
       eq(sys.malloc_stats().quarantinedChunks, 41, 'all in quarantine');
       eq(sys.malloc_stats().freeListBytes, 0, 'nothing released without revocation');
       return 0;
     }`,
  );
  passed(t, out);
});

test('free: a double free, a pointer malloc did not return, an interior or untagged pointer abort the process with the reason', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       for (const e of ['dbl', 'mmapped', 'interior', 'untagged', 'narrowed', 'reallocFreed']) child(sys, e);
       return 0;
     }
     export function dbl(sys: any) {
       const a = sys.malloc(32);
       sys.free(a);
       try { sys.free(a); } catch { return 7; /* the guest cannot catch abort() */ }
       return 0;
     }
     export function mmapped(sys: any) {
       sys.free(sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_ANON | MAP_PRIVATE, -1, 0));
       return 0;
     }
     export function interior(sys: any) { sys.free(sys.incOffset(sys.malloc(64), 16)); return 0; }
     export function untagged(sys: any) { sys.free(sys.clearTag(sys.malloc(64))); return 0; }
     export function narrowed(sys: any) { sys.free(sys.cheri_bounds_set(sys.malloc(64), 32)); return 0; }
     export function reallocFreed(sys: any) { const a = sys.malloc(64); sys.free(a); sys.realloc(a, 128); return 0; }`,
  );
  passed(t, out);
  aborted(t, byEntry(out, 'dbl'), /free\(\): double free of 0x[0-9a-f]+/);
  aborted(t, byEntry(out, 'mmapped'), /free\(\): 0x[0-9a-f]+ is not a pointer malloc returned/);
  aborted(t, byEntry(out, 'interior'), /free\(\): 0x[0-9a-f]+ is not a pointer malloc returned/);
  aborted(t, byEntry(out, 'untagged'), /free\(\): untagged capability/);
  aborted(t, byEntry(out, 'narrowed'), /free\(\): .*has length 32, not the allocation's 64/);
  aborted(t, byEntry(out, 'reallocFreed'), /realloc\(\): 0x[0-9a-f]+ was already freed/);
});

test('realloc keeps the data and a stored capability with its tag; calloc zeroes and overflows to NULL', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const a = sys.malloc(48);
       sys.store(a, 0, 8, 0x123456789);
       sys.storeCap(a, 16, a);
       sys.store(a, 40, 1, 9);
       const b = sys.realloc(a, 200);
       eq(b.length, 200, 'new length');
       check(b.base !== a.base, 'moved');
       eq(sys.load(b, 0, 8), 0x123456789, 'data');
       const c = sys.loadCap(b, 16);
       check(c.tag, 'the stored capability kept its tag');
       eq(c.base, a.base, 'and its bounds');
       eq(sys.load(b, 40, 1), 9, 'tail byte');
       eq(sys.malloc_stats().quarantinedChunks, 1, 'the old chunk is in quarantine');
       const d = sys.realloc(b, 20);
       eq(d.length, 20, 'shrunk');
       eq(sys.load(d, 0, 8), 0x123456789, 'data after shrinking');
       check(!sys.loadCap(sys.realloc(d, 64), 16).tag, 'a capability cut by a shrink does not come back');
       eq(sys.realloc(null, 10).length, 10, 'realloc(NULL, n) is malloc');
       const z = sys.calloc(3, 40);
       eq(z.length, 120, 'calloc length');
       const bytes = sys.loadBytes(z, 0, 120);
       check(bytes.every((x: number) => x === 0), 'calloc zeroed');
       eq(sys.calloc(2 ** 30, 2 ** 30), null, 'calloc n*size overflow is NULL');
       return 0;
     }`,
  );
  passed(t, out);
});

test('malloc_stats: revocationDue flips when quarantine >= heap/4 and only with a heap >= 8 MiB', async (t) => {
  const out = await run(
    t,
    `const MiB = 1 << 20;
     export function main(sys: any) {
       const x = sys.malloc(MiB);
       sys.free(x);
       let s = sys.malloc_stats();
       eq(s.quarantineBytes, MiB, 'quarantine 1 MiB');
       eq(s.revocationDue, false, 'ratio met (100%) but the heap is under 8 MiB');
       const a = sys.malloc(6 * MiB);
       const b = sys.malloc(MiB);
       s = sys.malloc_stats();
       eq(s.heapBytes, 8 * MiB, 'heap 8 MiB');
       eq(s.revocationDue, false, 'quarantine 1/8 of the heap');
       sys.free(b); /* quarantine 2 MiB = heap/4 with heap = 8 MiB: the trigger, malloc revokes */
       s = sys.malloc_stats();
       eq(s.revocationsDue, 1, 'the free found the trigger set');
       eq(s.revocations, 1, 'and flushed the quarantine (malloc_revoke.test.ts tests the revocation)');
       eq(s.quarantineBytes, 0, 'quarantine released');
       eq(s.freeListBytes, 2 * MiB, 'to the free list');
       eq(s.revocationDue, false, 'nothing left to revoke');
       const c = sys.malloc(MiB);
       check(c.base === b.base || c.base === x.base, 'freed memory is reused');
       void a;
       return 0;
     }`,
    { physBytes: 64 << 20 },
  );
  passed(t, out);
});

test('Varnish workspace: WS_Alloc returns bounded capabilities, overflow gives NULL + WS_Overflowed, and writing past an allocation faults', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const space = sys.malloc(256);
       const ws = sys.WS_Init(space, 'req', 256);
       const a = sys.WS_Alloc(ws, 40);
       eq(a.base, space.base, 'first allocation at s');
       eq(a.length, 48, 'bounded to PRNDUP(40)');
       const b = sys.WS_Alloc(ws, 100);
       eq(b.base, space.base + 48, 'second after the first');
       eq(b.length, 112, 'bounded to PRNDUP(100)');
       eq(sys.WS_Inuse(ws), 160, 'in use');
       eq(sys.WS_Overflowed(ws), false, 'not overflowed yet');
       eq(sys.WS_Alloc(ws, 200), null, 'too big: NULL');
       eq(sys.WS_Overflowed(ws), true, 'overflow marked');
       eq(sys.WS_ID(ws), 'Req', 'the id shows the overflow (upper case)');
       eq(sys.WS_Inuse(ws), 160, 'a failed allocation takes nothing');
       const snap = 48;
       sys.WS_Reset(ws, snap);
       eq(sys.WS_Alloc(ws, 16).base, space.base + 48, 'WS_Reset rolls the front back');
       child(sys, 'overrun');
       return 0;
     }
     export function overrun(sys: any) {
       const ws = sys.WS_Init(sys.malloc(256), 'req', 256);
       const a = sys.WS_Alloc(ws, 32);
       sys.WS_Alloc(ws, 32);
       sys.store(a, 31, 1, 1);
       sys.store(a, 32, 1, 1); /* the neighbouring allocation is out of a's bounds */
       return 0;
     }`,
  );
  passed(t, out);
  boundsFault(t, byEntry(out, 'overrun'));
});

test('Varnish workspace: WS_Reserve/WS_Release accounting, and its asserts abort', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const space = sys.malloc(256);
       const ws = sys.WS_Init(space, 'sess', 256);
       sys.WS_Alloc(ws, 32);
       const r = sys.WS_Reserve(ws);
       eq(r.base, space.base + 32, 'the reservation starts at f');
       eq(r.length, 224, 'WS_Reserve(ws) reserves all that is left');
       let st = sys.WS_Stats(ws);
       eq(st.reserved, 224, 'reserved');
       eq(st.free, 0, 'nothing free while reserved');
       sys.WS_Release(ws, 20);
       st = sys.WS_Stats(ws);
       eq(st.used, 64, 'release keeps PRNDUP(20) bytes');
       eq(st.reserved, 0, 'reservation ended');
       eq(st.free, 192, 'the rest is free again');
       const r2 = sys.WS_Reserve(ws, 100);
       eq(r2.length, 100, 'WS_Reserve(ws, 100)');
       eq(r2.base, space.base + 64, 'at f');
       sys.WS_Release(ws, 0);
       eq(sys.WS_Inuse(ws), 64, 'releasing nothing keeps nothing');
       eq(sys.WS_Reserve(ws, 1000), null, 'too big a reservation: NULL');
       eq(sys.WS_Overflowed(ws), true, 'and marked');
       eq(sys.WS_Stats(ws).reserved, 0, 'nothing reserved');
       for (const e of ['overRelease', 'allocWhileReserved', 'releaseUnreserved', 'badWs']) child(sys, e);
       return 0;
     }
     function mk(sys: any) { return sys.WS_Init(sys.malloc(256), 'sess', 256); }
     export function overRelease(sys: any) { const ws = mk(sys); sys.WS_Reserve(ws, 100); sys.WS_Release(ws, 150); return 0; }
     export function allocWhileReserved(sys: any) { const ws = mk(sys); sys.WS_Reserve(ws); sys.WS_Alloc(ws, 8); return 0; }
     export function releaseUnreserved(sys: any) { const ws = mk(sys); sys.WS_Release(ws, 8); return 0; }
     export function badWs(sys: any) { sys.WS_Alloc(12345, 8); return 0; }`,
  );
  passed(t, out);
  aborted(
    t,
    byEntry(out, 'overRelease'),
    /WS_Release: assertion failed: .*releasing 150 bytes of a 100-byte reservation/,
  );
  aborted(t, byEntry(out, 'allocWhileReserved'), /WS_Alloc: assertion failed: ws->r == NULL/);
  aborted(t, byEntry(out, 'releaseUnreserved'), /WS_Release: assertion failed: ws->r != NULL/);
  aborted(t, byEntry(out, 'badWs'), /WS_Alloc: not a workspace/);
});

test('VSB: VSB_data is bounded to len + 1 and reading past it faults; overflow is reported by VSB_finish', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const v = sys.VSB_new(sys.malloc(64), 64);
       eq(sys.VSB_cat(v, 'hello'), 0, 'cat');
       eq(sys.VSB_printf(v, ' %s=%03d/%x', 'x', 7, 255), 0, 'printf');
       eq(sys.VSB_finish(v), 0, 'finish');
       eq(sys.VSB_len(v), 14, 'len');
       const d = sys.VSB_data(v);
       eq(d.length, 15, 'VSB_data bounded to len + 1');
       eq(sys.loadString(d), 'hello x=007/ff', 'the string');
       eq(sys.load(d, 14, 1), 0, 'the NUL is inside the bounds');

       const o = sys.VSB_new(null, 8);
       eq(sys.VSB_cat(o, 'abc'), 0, 'fits');
       eq(sys.VSB_cat(o, 'way too long'), -1, 'overflows');
       eq(sys.VSB_cat(o, 'x'), -1, 'stays overflowed');
       eq(sys.VSB_finish(o), -1, 'VSB_finish reports the overflow');
       eq(sys.VSB_error(o), ENOMEM, 'ENOMEM');
       eq(sys.VSB_len(o), -1, 'VSB_len is -1 after an overflow');
       eq(sys.loadString(sys.VSB_data(o)), 'abcway ', 'what fitted (size - 1 bytes)');
       sys.VSB_destroy(o);
       eq(sys.malloc_stats().quarantinedChunks, 1, 'VSB_destroy freed its malloc buffer');

       const a = sys.VSB_new_auto();
       for (let i = 0; i < 10; i++) sys.VSB_cat(a, '0123456789');
       eq(sys.VSB_finish(a), 0, 'auto vsb grows');
       eq(sys.VSB_data(a).length, 101, 'bounded to 101');
       eq(sys.loadString(sys.VSB_data(a)).length, 100, 'all of it');
       child(sys, 'readPast');
       child(sys, 'dataUnfinished');
       return 0;
     }
     export function readPast(sys: any) {
       const v = sys.VSB_new(sys.malloc(64), 64);
       sys.VSB_cat(v, 'abc');
       sys.VSB_finish(v);
       sys.load(sys.VSB_data(v), 4, 1);
       return 0;
     }
     export function dataUnfinished(sys: any) {
       const v = sys.VSB_new(sys.malloc(64), 64);
       sys.VSB_data(v);
       return 0;
     }`,
  );
  passed(t, out);
  boundsFault(t, byEntry(out, 'readPast'));
  aborted(t, byEntry(out, 'dataUnfinished'), /VSB_data: assertion failed: .*not finished/);
});

test('CHERI C builtins: cheri_perms_and, cheri_tag_get, cheri_base_get, cheri_length_get, cheri_address_get', async (t) => {
  const out = await run(
    t,
    `export function main(sys: any) {
       const p = sys.malloc(64);
       eq(sys.cheri_tag_get(p), true, 'tag');
       eq(sys.cheri_base_get(p), p.base, 'base');
       eq(sys.cheri_length_get(p), 64, 'length');
       const q = sys.cheri_offset_set(p, 8);
       eq(sys.cheri_address_get(q), p.base + 8, 'address');
       eq(sys.cheri_offset_get(q), 8, 'offset');
       eq(sys.cheri_tag_get(sys.cheri_tag_clear(p)), false, 'tag cleared');
       const ro = sys.cheri_perms_and(p, CHERI_PERM_LOAD);
       eq(sys.cheri_perms_get(ro), CHERI_PERM_LOAD, 'perms');
       eq(sys.cheri_length_get(sys.cheri_bounds_set(p, 16)), 16, 'bounds');
       eq(sys.storeString(p, 0, 'hi'), 2, 'storeString');
       eq(sys.loadString(ro), 'hi', 'loads through the read-only capability');
       child(sys, 'writeReadOnly');
       return 0;
     }
     export function writeReadOnly(sys: any) {
       sys.store(sys.cheri_perms_and(sys.malloc(64), CHERI_PERM_LOAD), 0, 1, 1);
       return 0;
     }`,
  );
  passed(t, out);
  const w = byEntry(out, 'writeReadOnly');
  t.is(w.termsig, SIGPROT);
  t.not(w.siginfo?.si_code, PROT_CHERI_BOUNDS, 'a permission fault, not a bounds fault');
});
