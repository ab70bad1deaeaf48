import { System } from '@cherisim/workers';
import test from 'ava';

/*
 * malloc's quarantine revokes (R40-R43, mrs): after free and a quarantine flush, every copy of
 * the freed capability (in memory, in a register, derived with another cursor) is revoked,
 * the memory is reused by a later malloc, and a stale copy cannot reach the new allocation
 * (an access through it faults, in a forked child so the parent can see the signal).
 */
const program = `
import { SIGPROT } from 'cherisim';
const revoked = (c: any) => !c.tag || (c.perms === 0 && !c.sealed);
export function main(sys: any, loadSide: boolean) {
  const cfg = sys.malloc_config({ loadSide });
  if (cfg.minRevokeHeapBytes !== 8 * 1024 * 1024 || cfg.quarantineRatio !== 4) return 100;
  const p = sys.malloc(64);
  const holder = sys.malloc(256);
  const base = p.base;
  sys.store(p, 0, 8, 0x1234);
  sys.storeCap(holder, 0, p);                /* a copy in memory */
  const inner = sys.incOffset(p, 16);        /* a copy in a register, other cursor */
  sys.storeCap(holder, 32, inner);
  sys.free(p);
  const before = sys.malloc_stats();
  if (before.quarantinedChunks !== 1 || before.revocations !== 0) return 101;
  const again = sys.malloc(64);               /* no revocation yet: no reuse */
  if (again.base === base) return 102;
  sys.malloc_revoke_quarantine_force_flush();
  const st = sys.malloc_stats();
  let bits = 0;
  if (st.revocations === 1 && st.quarantinedChunks === 0 && st.releasedChunks === 1 && st.lastEpoch >= 2) bits |= 1;
  if (revoked(sys.cap(p)) && revoked(sys.cap(inner))) bits |= 2;
  const m0 = sys.loadCap(holder, 0);
  const m1 = sys.loadCap(holder, 32);
  if (revoked(m0) && revoked(m1)) bits |= 4;
  const live = sys.cap(holder);
  if (live.tag && live.perms !== 0 && sys.cap(again).tag && sys.cap(again).perms !== 0) bits |= 8;
  const q = sys.malloc(64);                   /* reuse */
  if (q.base === base) bits |= 16;
  sys.store(q, 0, 8, 0x5a5a);
  let faults = 0;
  for (const h of [p, inner, m0, m1]) {
    const pid = sys.fork('probe', { h });
    const w = sys.waitpid(pid);
    if (w.termsig === SIGPROT) faults++;
  }
  if (faults === 4) bits |= 32;
  if (sys.load(q, 0, 8) === 0x5a5a) bits |= 64;
  return bits;
}
export function probe(sys: any, { h }: any) {
  const v = sys.load(h, 0, 8);               /* must fault: SIGPROT */
  sys.exit(v === 0x5a5a ? 2 : 1);
}
/* the mrs trigger with a small minimum: churn revokes by itself and reuses the arena */
export function churn(sys: any, loadSide: boolean) {
  sys.malloc_config({ minRevokeHeapBytes: 4096, loadSide });
  const keep: any[] = [];
  for (let i = 0; i < 16; i++) keep.push(sys.malloc(128));
  for (let i = 0; i < 3000; i++) {
    const c = sys.malloc(512);
    sys.storeCap(keep[i % 16], 0, c);
    sys.free(c);
    sys.release(c);
  }
  const st = sys.malloc_stats();
  for (const k of keep) if (!sys.cap(k).tag || sys.cap(k).perms === 0) return 1;
  if (st.revocations < 10) return 2;
  if (st.arenaBytes !== 1024 * 1024) return 3; /* 1.5 MB freed and malloc'd again in one 1 MiB arena */
  return 0;
}`;

for (const side of ['store', 'load'] as const) {
  test(`${side}-side: malloc's quarantine flush revokes every copy, then the memory is reused and the stale copies fault`, async (t) => {
    const sys = new System({ physBytes: 16 * 1024 * 1024, checkRevocation: true });
    t.teardown(() => sys.shutdown());
    const out = await sys.run({ filename: 'malloc_revoke.ts', source: program }, 'main', [side === 'load']);
    t.is(out[0].reason, null);
    t.is(out[0].exitStatus, 127, `bits ${out[0].exitStatus?.toString(2)}`);
    t.is(out.length, 5);
    for (const o of out.slice(1)) t.is(o.termsig, 34 /* SIGPROT */, JSON.stringify(o));
    const r = sys.revocationReport();
    t.true(r.epochsClosed >= 1);
    t.is(r.violations, 0);
    t.deepEqual(r.firstViolations, []);
    /* >= 2: System counts only what the world-stopped part revokes (not the concurrent pre-pass) */
    t.true(r.capsRevoked >= 2, `revoked ${r.capsRevoked}`);
  });

  test(`${side}-side: with a small minRevokeHeapBytes, malloc revokes by itself and reuses freed memory`, async (t) => {
    const sys = new System({ physBytes: 16 * 1024 * 1024, checkRevocation: true });
    t.teardown(() => sys.shutdown());
    const out = await sys.run({ filename: 'malloc_revoke.ts', source: program }, 'churn', [side === 'load']);
    t.is(out[0].reason, null);
    t.is(out[0].exitStatus, 0);
    const r = sys.revocationReport();
    t.true(r.epochsClosed >= 10, `epochs ${r.epochsClosed}`);
    t.is(r.violations, 0);
    t.true(r.capsRevoked >= 10);
  });
}

test('malloc_config refuses bad values with EINVAL and keeps the old ones', async (t) => {
  const sys = new System({ physBytes: 16 * 1024 * 1024 });
  t.teardown(() => sys.shutdown());
  const src = `
export function main(sys: any) {
  let n = 0;
  for (const bad of [{ minRevokeHeapBytes: -1 }, { quarantineRatio: 0 }, { loadSide: 1 }, { nope: 1 }, 7]) {
    try { sys.malloc_config(bad); } catch (e: any) { if (e.code === 'EINVAL') n++; }
  }
  const c = sys.malloc_config();
  return n === 5 && c.minRevokeHeapBytes === 8388608 && c.loadSide === null ? 0 : 1;
}`;
  const out = await sys.run({ filename: 'cfg.ts', source: src }, 'main');
  t.is(out[0].reason, null);
  t.is(out[0].exitStatus, 0);
});
