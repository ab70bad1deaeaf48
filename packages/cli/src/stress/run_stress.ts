/*
 * One stress-revoke run: a fresh System (checkRevocation: the independent checker runs after
 * every closed epoch with the world stopped), the guest program of guest_program.ts with P
 * processes × T threads, stopped by the per-thread op budget or, for a duration, by the host
 * creating /stress-stop in the kernel's file system (guests cannot read a clock; they look
 * for the file every CHECK_EVERY ops).  The guests' counters come back as JSON lines in
 * /stress-results, read from the kernel's MemFs after the run.
 */
import { O_CREAT, O_WRONLY, type Regime, syscall } from '@cherisim/kernel';
import { type ProcessOutcome, System, type SystemOptions, signalName } from '@cherisim/workers';
import {
  CHECK_EVERY,
  CHILD_FINISHED_OPEN_EPOCH,
  CHILD_OK,
  STRESS_GUEST_SOURCE,
  STRESS_PROGRESS_FILE,
  STRESS_RESULTS_FILE,
  STRESS_STOP_FILE,
  type StressGuestConfig,
  type StressThreadResult,
} from './guest_program.js';

export type StressMode = 'store' | 'load';

export interface StressRunOptions {
  readonly mode: StressMode;
  readonly processes: number;
  readonly threads: number;
  readonly seed: number;
  readonly ops?: number /* total across threads */;
  readonly durationS?: number;
  readonly regime: Regime;
  readonly physBytes: number;
  readonly minRevokeHeapBytes: number;
  readonly forkEvery: number;
  readonly onProgress?: (p: StressProgress) => void;
  /** Extra System options (store switch, logger, trace), given the run's tag. */
  readonly systemOptions?: (tag: string) => Partial<SystemOptions> & { storeCapFault?: 'fault' | 'strip' };
}

export interface StressProgress {
  mode: StressMode;
  fraction: number /* 0..1 */;
  ops: number /* approximate: a multiple of CHECK_EVERY per thread */;
  epochs: number;
  elapsedMs: number;
}

export interface PauseSummary {
  p50: number;
  p99: number;
  max: number;
  total: number;
}

export interface StressRunResult {
  mode: StressMode;
  seed: number;
  processes: number;
  threads: number;
  regime: Regime;
  wallMs: number;
  ops: number;
  epochs: number;
  passes: number;
  capsRevoked: number;
  checks: number /* checker runs */;
  violations: number;
  firstViolations: { pid: number; kind: string; where: string; cap: string }[];
  pauseMs: PauseSummary;
  /* capabilities revoked per second of stop-the-world pause */
  capsRevokedPerPauseSec: number;
  /* sweep rate: tagged granules examined, and MiB of pages covered, per second inside cheri_revoke */
  sweep: { tagsPerSec: number; mibPerSec: number; tagsSwept: number; pagesSwept: number; passMs: number };
  guest: {
    mallocs: number;
    frees: number;
    capStores: number;
    sharedStores: number;
    loadsChecked: number;
    liveOk: number;
    staleRevoked: number;
    staleQuarantined: number;
    foreignRevoked: number;
    reusedChunks: number;
    mallocFlushes: number;
    revokeCalls: number;
    forks: number;
    forksInOpenEpoch: number;
    probes: number;
  };
  failures: string[];
  ok: boolean;
}

const STOP_POLL_MS = 100;

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

export function summarisePauses(pauses: readonly number[]): PauseSummary {
  const s = [...pauses].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    p50: r(percentile(s, 0.5)),
    p99: r(percentile(s, 0.99)),
    max: r(s.length > 0 ? s[s.length - 1] : 0),
    total: r(s.reduce((a, b) => a + b, 0)),
  };
}

/* A file of the kernel's MemFs, read from its vnode's resident pages. */
function readKernelFile(sys: System, path: string): string {
  const vp = sys.kernel.fs.lookup(path);
  if (vp === undefined || vp.object === null) return '';
  const out = new Uint8Array(vp.size);
  for (let off = 0; off < vp.size; off += 4096) {
    const m = vp.object.pages.get(off / 4096);
    if (m === undefined) continue;
    out.set(sys.phys.readBytes(m.pfn * 4096, Math.min(4096, vp.size - off)), off);
  }
  return new TextDecoder().decode(out);
}

function createKernelFile(sys: System, path: string): void {
  const k = sys.kernel;
  if (syscall(k, k.init.pid, 'open', [path, O_WRONLY | O_CREAT, 0o644]) === 0)
    syscall(k, k.init.pid, 'close', [k.init.td.retval]);
}

/* What a process's end says: processes are expected to exit 0, children 0 or 3, probes SIGPROT. */
function outcomeFailure(o: ProcessOutcome): string | null {
  const how = o.exited ? `exited ${o.exitStatus}` : `killed by ${signalName(o.termsig ?? 0)}`;
  const why = o.reason ? ` (${o.reason})` : '';
  if (o.entry === 'probe')
    return o.termsig === 34 ? null : `pid ${o.pid} probe ${how}${why}, expected SIGPROT`;
  if (
    o.entry === 'child' &&
    o.exited &&
    (o.exitStatus === CHILD_OK || o.exitStatus === CHILD_FINISHED_OPEN_EPOCH)
  )
    return null;
  if (o.exited && o.exitStatus === 0) return null;
  return `pid ${o.pid} ${o.entry} ${how}${why}`;
}

export async function runStress(opts: StressRunOptions): Promise<StressRunResult> {
  const workers = opts.processes * opts.threads;
  const opsPerThread =
    opts.ops !== undefined ? Math.max(1, Math.ceil(opts.ops / workers)) : Number.MAX_SAFE_INTEGER;
  const cfg: StressGuestConfig = {
    processes: opts.processes,
    threads: opts.threads,
    seed: opts.seed,
    opsPerThread,
    loadSide: opts.mode === 'load',
    minRevokeHeapBytes: opts.minRevokeHeapBytes,
    forkEvery: opts.forkEvery,
  };
  const { storeCapFault, ...extra } = opts.systemOptions?.(opts.mode) ?? {};
  const sys = new System({
    ...extra,
    policy: { regime: opts.regime, ...(storeCapFault ? { storeCapFault } : {}) },
    physBytes: opts.physBytes,
    checkRevocation: true,
    watchdogMs: 60_000,
  });
  const t0 = performance.now();
  const deadline = opts.durationS !== undefined ? t0 + opts.durationS * 1000 : Number.POSITIVE_INFINITY;
  let stopped = false;
  const tick = () => {
    const now = performance.now();
    if (!stopped && now >= deadline) {
      createKernelFile(sys, STRESS_STOP_FILE);
      stopped = true;
    }
    const ops = (sys.kernel.fs.lookup(STRESS_PROGRESS_FILE)?.size ?? 0) * CHECK_EVERY;
    const fraction =
      opts.durationS !== undefined
        ? Math.min(1, (now - t0) / (opts.durationS * 1000))
        : Math.min(1, ops / (opsPerThread * workers));
    opts.onProgress?.({
      mode: opts.mode,
      fraction,
      ops,
      epochs: sys.revocationReport().epochsClosed,
      elapsedMs: now - t0,
    });
  };
  const timer = setInterval(tick, STOP_POLL_MS);
  let outcomes: ProcessOutcome[];
  try {
    outcomes = await sys.run({ filename: 'stress_revoke.ts', source: STRESS_GUEST_SOURCE }, 'main', [cfg]);
  } finally {
    clearInterval(timer);
  }
  const wallMs = performance.now() - t0;
  const rep = sys.revocationReport();
  const lines = readKernelFile(sys, STRESS_RESULTS_FILE)
    .split('\n')
    .filter((l) => l.trim() !== '');
  await sys.shutdown();
  const threads: StressThreadResult[] = [];
  const failures: string[] = [];
  for (const l of lines) {
    try {
      threads.push(JSON.parse(l) as StressThreadResult);
    } catch {
      failures.push(`unreadable thread result: ${l.slice(0, 80)}`);
    }
  }
  if (threads.length !== workers) failures.push(`${threads.length} of ${workers} threads reported`);
  for (const t of threads) failures.push(...t.failures);
  for (const o of outcomes) {
    const f = outcomeFailure(o);
    if (f !== null) failures.push(f);
  }
  const sum = (f: keyof StressThreadResult) => threads.reduce((a, t) => a + (t[f] as number), 0);
  const pauseMs = summarisePauses(rep.pausesMs);
  const result: StressRunResult = {
    mode: opts.mode,
    seed: opts.seed,
    processes: opts.processes,
    threads: opts.threads,
    regime: opts.regime,
    wallMs: Math.round(wallMs),
    ops: sum('ops'),
    epochs: rep.epochsClosed,
    passes: rep.passes,
    capsRevoked: rep.capsRevoked,
    checks: rep.checks,
    violations: rep.violations,
    firstViolations: rep.firstViolations,
    pauseMs,
    capsRevokedPerPauseSec: pauseMs.total > 0 ? Math.round(rep.capsRevoked / (pauseMs.total / 1000)) : 0,
    sweep: {
      tagsPerSec: rep.passMs > 0 ? Math.round(rep.tagsSwept / (rep.passMs / 1000)) : 0,
      mibPerSec:
        rep.passMs > 0 ? Math.round(((rep.pagesSwept * 4096) / 2 ** 20 / (rep.passMs / 1000)) * 10) / 10 : 0,
      tagsSwept: rep.tagsSwept,
      pagesSwept: rep.pagesSwept,
      passMs: Math.round(rep.passMs * 10) / 10,
    },
    guest: {
      mallocs: sum('mallocs'),
      frees: sum('frees'),
      capStores: sum('capStores'),
      sharedStores: sum('sharedStores'),
      loadsChecked: sum('checks'),
      liveOk: sum('liveOk'),
      staleRevoked: sum('staleRevoked'),
      staleQuarantined: sum('staleQuarantined'),
      foreignRevoked: sum('foreignRevoked'),
      reusedChunks: sum('reused'),
      mallocFlushes: sum('revocations'),
      revokeCalls: sum('revokeCalls'),
      forks: sum('forks'),
      forksInOpenEpoch: outcomes.filter(
        (o) => o.entry === 'child' && o.exitStatus === CHILD_FINISHED_OPEN_EPOCH,
      ).length,
      probes: sum('probes'),
    },
    failures,
    ok: false,
  };
  result.ok = result.violations === 0 && failures.length === 0;
  return result;
}
