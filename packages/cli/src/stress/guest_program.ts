/*
 * The guest program of `cherisim stress-revoke`, as source text (guests are compiled by the
 * System from source).  One System, P processes (main forks P-1 after creating the shared
 * region), T threads each, every thread a seeded pseudo-random loop of:
 *
 *   - malloc (random sizes, a marker word written at offset 0) and free: malloc's own
 *     revocations (malloc_config: small minRevokeHeapBytes, the mode's side, and now and then
 *     one concurrent pass first, so epochs stay open between two calls) paint, revoke, reuse;
 *   - capability stores of live allocations into slots of the thread's own memory (a malloc'd
 *     table) and of a MAP_SHARED|MAP_ANON|PROT_CAP region made before the forks;
 *   - checks: a capability loaded from a slot, or kept in a register after free, is either
 *     revoked, or (tagged, usable) for memory that is live or still quarantined: a usable
 *     capability to a freed chunk that malloc has handed out again is a violation, and so is
 *     a live allocation's private copy that is revoked or whose marker changed;
 *   - forks of a short-lived `child` (half the time right after the thread opened an epoch
 *     with a non-LAST cheri_revoke; a child that inherits an open epoch finishes it with its
 *     own flush and exits 3) and of a `probe` that uses a revoked capability and must die of
 *     SIGPROT.
 *
 * Revocation is per address space (R48) and rewrites shared pages in place, while the world it
 * stops is the revoking process's only: a capability another process stores into the shared
 * region (after the pass went by) whose base this process has painted would be found by the
 * checker, and revoked by the next pass (an over-revocation of the other process's live
 * memory).  The forks share one address layout, so each process first moves its heaps to an
 * address range of its own (a PROT_NONE placeholder), and short-lived children unmap the
 * shared region.  A shared slot of a live allocation found revoked anyway is counted
 * (foreignRevoked), not a violation.
 *
 * Each thread stops after `ops` operations or once the host has created /stress-stop
 * (checked every CHECK_EVERY operations, when a byte is also appended to /stress-progress),
 * then appends one JSON line of counters and failures to /stress-results.
 */
export const STRESS_STOP_FILE = '/stress-stop';
export const STRESS_PROGRESS_FILE = '/stress-progress';
export const STRESS_RESULTS_FILE = '/stress-results';
export const CHECK_EVERY = 32;
/* exit statuses of the processes */
export const CHILD_OK = 0;
export const CHILD_FINISHED_OPEN_EPOCH = 3;

export interface StressGuestConfig {
  [key: string]: number | boolean;
  processes: number;
  threads: number;
  seed: number;
  opsPerThread: number;
  loadSide: boolean;
  minRevokeHeapBytes: number;
  forkEvery: number /* ops between forks of a child or probe, per thread; 0: never */;
}

/* The counters one thread reports (a JSON line of /stress-results). */
export interface StressThreadResult {
  proc: number;
  thread: number;
  ops: number;
  mallocs: number;
  frees: number;
  capStores: number;
  sharedStores: number;
  checks: number;
  liveOk: number;
  staleRevoked: number;
  staleQuarantined: number;
  foreignRevoked: number;
  reused: number;
  forks: number;
  probes: number;
  revocations: number;
  revokeCalls: number;
  failures: string[];
}

export const STRESS_GUEST_SOURCE = `
import { CHERI_REVOKE_FORCE_LOAD_SIDE, CHERI_REVOKE_FORCE_STORE_SIDE, CHERI_REVOKE_IGNORE_START, MAP_ANON,
         MAP_PRIVATE, MAP_SHARED, O_APPEND, O_CREAT, O_RDONLY, O_WRONLY, PAGE_SIZE, PROT_CAP, PROT_NONE, PROT_READ,
         PROT_WRITE, SIGPROT } from 'cherisim';

const STOP = ${JSON.stringify(STRESS_STOP_FILE)};
const PROGRESS = ${JSON.stringify(STRESS_PROGRESS_FILE)};
const RESULTS = ${JSON.stringify(STRESS_RESULTS_FILE)};
const CHECK_EVERY = ${CHECK_EVERY};
const SLOTS = 64;           /* per thread, private and shared each */
const LIVE_MAX = 24;
const STALE_MAX = 6;
const HEAP_SPAN = 2 ** 30;  /* address space per process for its heaps */
const revoked = (c: any) => !c.tag || (c.perms === 0 && !c.sealed);

function rng(seed: number) {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

function epochOpen(sys: any): boolean {
  const info = sys.cheri_revoke_get_shadow(3 /* INFO_STRUCT */);
  return (info.epochs.enqueue & 1) === 1;
}

export function main(sys: any, cfg: any) {
  const fds = {
    progress: sys.open(PROGRESS, O_WRONLY | O_CREAT | O_APPEND, 0o644),
    results: sys.open(RESULTS, O_WRONLY | O_CREAT | O_APPEND, 0o644),
  };
  const perThread = SLOTS * 16;
  const bytes = Math.ceil((cfg.processes * cfg.threads * perThread) / PAGE_SIZE) * PAGE_SIZE;
  const shared = sys.mmap(null, bytes, PROT_READ | PROT_WRITE | PROT_CAP, MAP_SHARED | MAP_ANON, -1, 0);
  /* can this regime keep capabilities in the shared region?  (a store fault ends a test child) */
  const probe = sys.fork('sharedCapProbe', { shared });
  const w = sys.waitpid(probe);
  const sharedCaps = w.exited && w.exitStatus === 0;
  const arg = { cfg, shared, bytes, fds, sharedCaps };
  const pids: number[] = [];
  for (let p = 1; p < cfg.processes; p++) pids.push(sys.fork('proc', { ...arg, proc: p }));
  let bad = proc(sys, { ...arg, proc: 0 });
  for (const pid of pids) {
    const r = sys.waitpid(pid);
    if (!r.exited || r.exitStatus !== 0) bad = 1;
  }
  return bad;
}

export function sharedCapProbe(sys: any, { shared }: any) {
  sys.storeCap(shared, 0, shared);
  const ok = sys.loadCap(shared, 0).tag;
  sys.store(shared, 0, 8, 0);
  return ok ? 0 : 1;
}

export function proc(sys: any, arg: any) {
  /* a PROT_NONE placeholder moves this process's heaps (first-fit mmap) into an address range
     of its own: the forks share the address layout, and a capability another process stores
     in the shared region must not have its base in memory this process paints (see above) */
  if (arg.proc > 0) sys.mmap(null, arg.proc * HEAP_SPAN, PROT_NONE, MAP_ANON | MAP_PRIVATE, -1, 0);
  const tids: number[] = [];
  for (let t = 1; t < arg.cfg.threads; t++) tids.push(sys.thread_create('thread', { ...arg, thread: t }));
  let bad = thread(sys, { ...arg, thread: 0 });
  for (const tid of tids) if (sys.thread_join(tid) !== 0) bad = 1;
  return bad;
}

export function thread(sys: any, { cfg, shared, bytes, fds, sharedCaps, proc, thread }: any) {
  const me = proc * cfg.threads + thread;
  const rand = rng((cfg.seed * 2654435761 + me * 40503 + 1) >>> 0);
  const pick = (n: number) => Math.floor(rand() * n);
  sys.malloc_config({ minRevokeHeapBytes: cfg.minRevokeHeapBytes, loadSide: cfg.loadSide });
  const r: any = { proc, thread, ops: 0, mallocs: 0, frees: 0, capStores: 0, sharedStores: 0, checks: 0,
    liveOk: 0, staleRevoked: 0, staleQuarantined: 0, foreignRevoked: 0, reused: 0, forks: 0, probes: 0,
    revocations: 0, revokeCalls: 0, failures: [] as string[] };
  const fail = (what: string) => { if (r.failures.length < 5) r.failures.push('pid ' + sys.getpid() + ' thread ' + thread + ': ' + what); };
  const table = sys.malloc(SLOTS * 16);
  const sharedBase = me * SLOTS * 16;
  const byte = sys.malloc(16);
  let nextId = 1;
  /* allocations: id -> { h, base, len, live, reused } */
  const allocs = new Map<number, any>();
  const live: number[] = [];
  const stale: any[] = [];           /* { h, id }: registers holding freed capabilities */
  const slots: (number | null)[][] = [new Array(SLOTS).fill(null), new Array(SLOTS).fill(null)];
  const area = (k: number) => (k === 0 ? table : shared);
  const off = (k: number, s: number) => (k === 0 ? s * 16 : sharedBase + s * 16);

  const doMalloc = () => {
    const size = rand() < 0.8 ? 16 + pick(240) : 256 + pick(3840);
    const h = sys.malloc(size);
    if (h === null) { fail('malloc(' + size + ') returned NULL'); return; }
    const id = nextId++;
    const a = { h, id, base: h.base, len: h.length, live: true, reused: false };
    for (const o of allocs.values())
      if (!o.live && !o.reused && o.base < a.base + a.len && a.base < o.base + o.len) { o.reused = true; r.reused++; }
    sys.store(h, 0, 8, id);
    allocs.set(id, a);
    live.push(id);
    r.mallocs++;
    storeSomewhere(id);
  };
  const storeSomewhere = (id: number) => {
    const a = allocs.get(id);
    const k = sharedCaps && rand() < 0.5 ? 1 : 0;
    const s = pick(SLOTS);
    sys.storeCap(area(k), off(k, s), a.h);
    slots[k][s] = id;
    r.capStores++;
    if (k === 1) r.sharedStores++;
  };
  const doFree = () => {
    const i = pick(live.length);
    const id = live[i];
    live.splice(i, 1);
    const a = allocs.get(id);
    a.live = false;
    sys.free(a.h);
    r.frees++;
    if (stale.length < STALE_MAX) stale.push({ h: a.h, id });
    else sys.release(a.h);
  };
  /* a usable capability c believed to be allocation a's: it must still be that allocation's */
  const checkUsable = (c: any, a: any, where: string) => {
    if (c.base !== a.base || c.length !== a.len) { fail(where + ': usable capability with bounds ' + c.base + '+' + c.length + ', expected ' + a.base + '+' + a.len); return; }
    if (a.live) {
      const v = sys.load(c, 0, 8);
      if (v !== a.id) fail(where + ': live allocation ' + a.id + ' reads ' + v);
      else r.liveOk++;
    } else if (a.reused) fail(where + ': capability to freed allocation ' + a.id + ' at ' + a.base + ' not revoked, and malloc reused its memory');
    else r.staleQuarantined++;
  };
  const checkSlot = () => {
    const k = sharedCaps && rand() < 0.5 ? 1 : 0;
    const s = pick(SLOTS);
    const id = slots[k][s];
    if (id === null) return;
    const c = sys.loadCap(area(k), off(k, s));
    const a = allocs.get(id);
    r.checks++;
    if (revoked(c)) {
      if (!a.live) r.staleRevoked++;
      else if (k === 1) r.foreignRevoked++;
      else fail('private slot ' + s + ': live allocation ' + id + ' was revoked');
    } else checkUsable(c, a, (k ? 'shared' : 'private') + ' slot ' + s);
    sys.release(c);
  };
  const checkStale = () => {
    if (stale.length === 0) return;
    const i = pick(stale.length);
    const { h, id } = stale[i];
    const a = allocs.get(id);
    const c = sys.cap(h);
    r.checks++;
    if (revoked(c)) {
      r.staleRevoked++;
      if (cfg.forkEvery > 0 && rand() < 0.05) probeFault(h);
      stale.splice(i, 1);
      sys.release(h);
    } else checkUsable(c, a, 'register');
  };
  /* a revoked capability must fault when used: a child uses it and must die of SIGPROT */
  const probeFault = (h: any) => {
    const pid = sys.fork('probe', { h });
    const w = sys.waitpid(pid);
    r.probes++;
    if (w.termsig !== SIGPROT) fail('probe through a revoked capability: ' + JSON.stringify(w));
  };
  const forkChild = () => {
    let s = -1;
    for (let t = 0; t < 4 && s < 0; t++) {
      const c = pick(SLOTS);
      const id = slots[0][c];
      if (id !== null && allocs.get(id).live) s = c;
    }
    const a = s >= 0 ? allocs.get(slots[0][s]) : null;
    /* half the time, open an epoch first (a non-LAST pass, as mrs's concurrent one): the child
       inherits it open and its flush finishes it (R43) */
    if (rand() < 0.5)
      sys.cheri_revoke(CHERI_REVOKE_IGNORE_START | (cfg.loadSide ? CHERI_REVOKE_FORCE_LOAD_SIDE : CHERI_REVOKE_FORCE_STORE_SIDE), 0);
    const pid = sys.fork('child', { cfg, shared, bytes, table, slot: s, id: a ? a.id : 0, base: a ? a.base : 0, len: a ? a.len : 0 });
    const w = sys.waitpid(pid);
    r.forks++;
    if (!w.exited || (w.exitStatus !== ${CHILD_OK} && w.exitStatus !== ${CHILD_FINISHED_OPEN_EPOCH}))
      fail('forked child ended ' + JSON.stringify(w));
  };

  /* forget freed allocations no slot or register refers to any more (nothing left to check) */
  const prune = () => {
    const keep = new Set<number>(live);
    for (const row of slots) for (const id of row) if (id !== null) keep.add(id);
    for (const x of stale) keep.add(x.id);
    for (const id of [...allocs.keys()]) if (!keep.has(id)) allocs.delete(id);
  };

  for (let i = 0; i < 4; i++) doMalloc();
  let stop = false;
  while (!stop && r.ops < cfg.opsPerThread) {
    const x = rand();
    if (x < 0.3) { if (live.length < LIVE_MAX) doMalloc(); else doFree(); }
    else if (x < 0.55) { if (live.length > 2) doFree(); else doMalloc(); }
    else if (x < 0.85) checkSlot();
    else if (x < 0.93) checkStale();
    else if (live.length > 0) storeSomewhere(live[pick(live.length)]);
    r.ops++;
    if (cfg.forkEvery > 0 && r.ops % cfg.forkEvery === 0) forkChild();
    if (r.ops % 256 === 0) prune();
    if (r.ops % CHECK_EVERY === 0) {
      /* store-side: flushes with and without a concurrent (non-LAST) pass first; the former
         leave epochs open between two calls, where other threads fork.  (Load-side: a LAST
         call that closes an epoch a non-LAST call opened is neither counted nor checked by
         the System, so only forkChild opens epochs that way.) */
      sys.malloc_config({ concurrentPasses: !cfg.loadSide && rand() < 0.5 ? 1 : 0 });
      sys.store(byte, 0, 1, 46);
      sys.write(fds.progress, byte, 1);
      try { sys.close(sys.open(STOP, O_RDONLY)); stop = true; } catch (e) { /* ENOENT: go on */ }
    }
  }
  const st = sys.malloc_stats();
  r.revocations = st.revocations;
  r.revokeCalls = st.revokeCalls;
  const line = JSON.stringify(r) + '\\n';
  const buf = sys.malloc(line.length + 1);
  const n = sys.storeString(buf, 0, line);
  sys.write(fds.results, buf, n);
  return r.failures.length === 0 ? 0 : 1;
}

/* A short-lived child: a live allocation of the parent (a slot of its table) survives the
   child's revocation; the child's own flush finishes an epoch it may have inherited open. */
export function child(sys: any, { cfg, shared, bytes, table, slot, id, base, len }: any) {
  const inherited = epochOpen(sys);
  /* the child's shadow holds the paint of its parent's flush in progress at fork time, which
     the parent unpaints and reuses meanwhile: it must not revoke in the region the parent's
     processes go on storing into (the world it stops is its own) */
  sys.munmap(shared, bytes);
  sys.malloc_config({ minRevokeHeapBytes: 1 << 30, loadSide: cfg.loadSide });
  const p = sys.malloc(48);
  sys.storeCap(p, 0, p);
  sys.free(p);
  sys.malloc_revoke_quarantine_force_flush();
  if (epochOpen(sys)) sys.exit(10);
  if (!revoked(sys.cap(p))) sys.exit(11);
  if (slot >= 0) {
    const c = sys.loadCap(table, slot * 16);
    if (revoked(c) || c.base !== base || c.length !== len) sys.exit(12);
    if (sys.load(c, 0, 8) !== id) sys.exit(13);
  }
  const q = sys.malloc(48);
  if (q.base !== p.base) sys.exit(14);
  sys.exit(inherited ? ${CHILD_FINISHED_OPEN_EPOCH} : ${CHILD_OK});
}

export function probe(sys: any, { h }: any) {
  sys.load(h, 0, 8);
  sys.exit(20);
}
`;
