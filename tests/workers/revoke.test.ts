import { System } from '@cherisim/workers';
import test from 'ava';

/*
 * Revocation across worker threads (R40, R42, R43, R46, R47): painted capabilities in memory
 * and in the register file of ANOTHER running thread are revoked; unpainted ones survive;
 * the epoch advances by 2.
 */
const program = `
import { PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_CAP, MAP_ANON, MAP_PRIVATE,
         CHERI_REVOKE_LAST_PASS, CHERI_REVOKE_IGNORE_START, CHERI_REVOKE_FORCE_LOAD_SIDE,
         CHERI_PERMS_ALL, CHERI_PERM_SW_VMEM } from 'cherisim';
const revoked = (c: any) => !c.tag || (c.perms === 0 && !c.sealed);
export function main(sys: any, loadSide: boolean) {
  const arena = sys.mmap(null, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_CAP, MAP_ANON | MAP_PRIVATE, -1, 0);
  /* allocations as malloc hands them out: without VMEM (mmap's VMEM capabilities are exempt) */
  const victim = sys.andPerms(sys.setBounds(sys.incOffset(arena, 4096), 64), CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM);
  const keep = sys.andPerms(sys.setBounds(sys.incOffset(arena, 8192), 64), CHERI_PERMS_ALL & ~CHERI_PERM_SW_VMEM);
  const inner = sys.incOffset(victim, 32); /* same allocation, other cursor: base keying (R40) */
  sys.storeCap(arena, 0, victim);
  sys.storeCap(arena, 16, keep);
  sys.storeCap(arena, 48, inner);
  const shadow = sys.cheri_revoke_get_shadow(0, arena);
  sys.store(shadow, 4096 / 128, 1, 0x0f); /* paint the 4 granules of victim */
  sys.store(shadow, 0, 1, 0x01); /* and the arena's own base: its VMEM capability is exempt */
  const holder = sys.thread_create('holder', { arena, victim });
  while (sys.load(arena, 64, 8) === 0) sys.getpid(); /* the holder is running */
  const flags = CHERI_REVOKE_LAST_PASS | CHERI_REVOKE_IGNORE_START | (loadSide ? CHERI_REVOKE_FORCE_LOAD_SIDE : 0);
  const info = sys.cheri_revoke(flags, 0);
  sys.store(arena, 32, 8, 1); /* let the holder look at its register */
  const held = sys.thread_join(holder);
  let bits = 0;
  if (revoked(sys.loadCap(arena, 0))) bits |= 1;
  const k = sys.loadCap(arena, 16);
  if (k.tag && k.perms !== 0) bits |= 2;
  if (held) bits |= 4;
  if (info.epochs.dequeue === 2 && info.epochs.enqueue === 2) bits |= 8;
  if (revoked(sys.loadCap(arena, 48))) bits |= 16;
  if (revoked(sys.cap(victim))) bits |= 32;
  if (!revoked(sys.cap(arena))) bits |= 64;
  return bits;
}
export function holder(sys: any, { arena, victim }: any) {
  sys.store(arena, 64, 8, 1);
  while (sys.load(arena, 32, 8) === 0) sys.getpid();
  const c = sys.cap(victim);
  return !c.tag || (c.perms === 0 && !c.sealed);
}`;

for (const side of ['store', 'load'] as const) {
  test(`${side}-side revocation across threads revokes painted capabilities in memory and registers, and nothing else`, async (t) => {
    const sys = new System({ physBytes: 16 * 1024 * 1024, checkRevocation: true });
    t.teardown(() => sys.shutdown());
    const out = await sys.run({ filename: 'revoke.ts', source: program }, 'main', [side === 'load']);
    t.is(out[0].reason, null);
    t.is(out[0].exitStatus, 127, `bits ${out[0].exitStatus?.toString(2)}`);
    const r = sys.revocationReport();
    t.is(r.epochsClosed, 1);
    t.is(r.checks, 1);
    t.deepEqual(r.firstViolations, [], 'the independent checker finds nothing left');
    t.true(r.capsRevoked >= 3, `revoked ${r.capsRevoked}: the stored copies and the registers`);
    t.is(r.pausesMs.length, 1);
  });
}
