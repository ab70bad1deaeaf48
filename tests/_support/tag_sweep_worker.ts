/*
 * The mutator of the concurrent-sweep test: hammers a few granules of one frame with
 * capability stores (painted ones until told to stop, unpainted ones), 16-byte data stores
 * (some of them byte-for-byte copies of painted or revoked capabilities, or zeros), and
 * read-backs: after every operation it loads one of its granules and checks it against the
 * last thing it wrote there.  Only this thread stores into these granules; the sweeper may
 * only turn a painted capability into its revoked form.  So anything else it reads back is a
 * violation: an unpainted capability revoked or destroyed, data changed or re-tagged, a
 * painted capability turned into something that is not it or its revoked form.
 *
 * A mismatch is re-checked for a while before it counts (the protocol allows short windows
 * in which a granule being rewritten reads as untagged, e.g. when the sweeping thread is
 * descheduled inside its compare-and-rewrite); the final state, checked by the test once
 * this thread has stopped, has no such slack.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import {
  CAP_REVOKED_W0_KEEP,
  CAP_REVOKED_W1_KEEP,
  GRANULES_PER_PAGE,
  granuleClearTagForData,
  granuleLoadCap,
  granuleStoreCap,
  PhysMem,
  type PhysMemShared,
} from '@cherisim/machine';

export const CTL_PHASE = 0; /* written by the test: PHASE_* */
export const CTL_ACK = 1; /* written by the worker: the phase it has reached */
export const CTL_VIOLATIONS = 2; /* written by the worker: violations seen so far */
export const PHASE_PAINTING = 0; /* store painted capabilities too */
export const PHASE_FINAL = 1; /* no more painted stores (acked once none is in flight) */
export const PHASE_STOP = 2;

export type LastKind = 'init' | 'painted' | 'unpainted' | 'data';

export interface SweepStressInput {
  phys: PhysMemShared;
  pfn: number;
  hot: number[] /* granule numbers within the frame that this thread writes */;
  init: number[][] /* what the test stored in each hot granule before starting: painted capabilities */;
  painted: number[][] /* memory words of painted capabilities */;
  unpainted: number[][] /* memory words of unpainted capabilities */;
  data: number[][] /* 16-byte data values (four words) */;
  ctl: SharedArrayBuffer /* Int32Array of CTL_* */;
  seed: number;
}

export interface SweepStressResult {
  ops: number;
  checks: number;
  paintedStores: number;
  transientMismatches: number;
  violations: string[];
  last: { kind: LastKind; words: number[] }[] /* per hot granule */;
}

/* The test imports the constants above; only a worker thread runs the mutator. */
if (!isMainThread) run();

function run(): void {
  const input = workerData as SweepStressInput;
  const phys = new PhysMem({ shared: input.phys });
  const { u32, tags, witness } = phys;
  const ctl = new Int32Array(input.ctl);
  const g0 = input.pfn * GRANULES_PER_PAGE;
  const result: SweepStressResult = {
    ops: 0,
    checks: 0,
    paintedStores: 0,
    transientMismatches: 0,
    violations: [],
    last: input.init.map((words) => ({ kind: 'init', words: [...words] })),
  };
  const out = new Uint32Array(4);
  const hex = (ws: ArrayLike<number>) =>
    Array.from(ws, (w) => (w >>> 0).toString(16).padStart(8, '0')).join(':');
  const same = (a: ArrayLike<number>, b: ArrayLike<number>) =>
    a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];

  /* Is what granule k holds now acceptable, given the last thing written there? */
  function acceptable(k: number): boolean {
    const tagged = granuleLoadCap(u32, tags, witness, g0 + input.hot[k], out);
    const { kind, words } = result.last[k];
    if (kind === 'unpainted') return tagged === 1 && same(out, words);
    if (kind === 'data') return tagged === 0 && same(out, words);
    /* painted: itself, its revoked form (tag kept), or either untagged (tag cleared, or a load
       that gave up retrying across a rewrite in progress) */
    const revoked = [
      (words[0] & CAP_REVOKED_W0_KEEP) >>> 0,
      (words[1] & CAP_REVOKED_W1_KEEP) >>> 0,
      words[2],
      words[3],
    ];
    return same(out, words) || same(out, revoked);
  }

  function check(k: number): void {
    result.checks++;
    if (acceptable(k)) return;
    /* Up to 50 ms: longer than any window of the protocol unless the sweeping thread sleeps in it. */
    const t0 = performance.now();
    while (performance.now() - t0 < 50) {
      if (acceptable(k)) {
        result.transientMismatches++;
        return;
      }
    }
    Atomics.add(ctl, CTL_VIOLATIONS, 1);
    if (result.violations.length < 20)
      result.violations.push(
        `granule ${input.hot[k]}: last wrote ${result.last[k].kind} ${hex(result.last[k].words)}, reads ${
          granuleLoadCap(u32, tags, witness, g0 + input.hot[k], out) ? 'tagged' : 'untagged'
        } ${hex(out)}`,
      );
  }

  let x = input.seed >>> 0 || 1;
  const rnd = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
  let phase = PHASE_PAINTING;
  for (;;) {
    if ((result.ops & 15) === 0) {
      phase = Atomics.load(ctl, CTL_PHASE);
      if (phase === PHASE_STOP) break;
      if (phase === PHASE_FINAL && Atomics.load(ctl, CTL_ACK) !== PHASE_FINAL)
        Atomics.store(ctl, CTL_ACK, PHASE_FINAL);
    }
    result.ops++;
    const k = rnd(input.hot.length);
    const g = g0 + input.hot[k];
    const op = rnd(10);
    if (op < 4 && phase === PHASE_PAINTING) {
      const c = input.painted[rnd(input.painted.length)];
      granuleStoreCap(u32, tags, witness, g, c[0], c[1], c[2], c[3]);
      result.last[k] = { kind: 'painted', words: c };
      result.paintedStores++;
    } else if (op < 7) {
      const c = input.unpainted[rnd(input.unpainted.length)];
      granuleStoreCap(u32, tags, witness, g, c[0], c[1], c[2], c[3]);
      result.last[k] = { kind: 'unpainted', words: c };
    } else {
      const d = input.data[rnd(input.data.length)];
      granuleClearTagForData(tags, g);
      u32[g * 4] = d[0];
      u32[g * 4 + 1] = d[1];
      u32[g * 4 + 2] = d[2];
      u32[g * 4 + 3] = d[3];
      result.last[k] = { kind: 'data', words: d };
    }
    check(rnd(input.hot.length));
  }
  parentPort!.postMessage(result);
}
