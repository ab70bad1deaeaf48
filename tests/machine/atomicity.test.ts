import { Worker } from 'node:worker_threads';
import { CHERI_PERMS_ALL, capAndPerms, PAGE_SIZE } from '@cherisim/machine';
import test, { type ExecutionContext } from 'ava';
import type { StressInput, StressResult } from '../_support/atomicity_worker.js';
import { boundedCap, TestMachine } from '../_support/machine.js';

const BASE = 0x20_0000;
const THREADS = 3;

function runWorker(input: StressInput): Promise<StressResult> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('../_support/atomicity_worker.js', import.meta.url), { workerData: input });
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
  });
}

async function stress(t: ExecutionContext, level: 'hart' | 'granule', ops: number, midStoreSpins = 0) {
  const m = new TestMachine();
  const pfn = m.map(BASE, 1);
  const auth = boundedCap(BASE, PAGE_SIZE).toMemWords();
  // Capabilities that differ in all four words, so a torn value cannot equal any of them.
  const capsOf = (thread: number) =>
    [0, 1, 2, 3].map((k) => {
      const c = boundedCap(BASE + 0x100 * (thread * 4 + k + 1), 0x10 + 0x10 * thread);
      return capAndPerms(c, CHERI_PERMS_ALL & ~(1 << (thread + 1))).toMemWords();
    });
  const allCaps = [0, 1, 2].flatMap(capsOf);
  // Data values that reuse half of a capability's words: a torn tagged mix would match them.
  const dataValues = allCaps.flatMap(([w0, w1, w2, w3]) => [
    w0 + w1 * 2 ** 32,
    w2 + (w3 % 2 ** 21) * 2 ** 32,
  ]);
  const start = new SharedArrayBuffer(4);
  const results = await Promise.all(
    Array.from({ length: THREADS }, (_, i) =>
      runWorker({
        phys: m.phys.shared(),
        mmu: m.mmu.shared,
        authWords: auth,
        myCaps: capsOf(i),
        allCaps,
        dataValues,
        granules: 2,
        ops,
        level,
        pa: pfn * PAGE_SIZE,
        midStoreSpins,
        seed: 0x9e3779b9 * (i + 1),
        start,
        threads: THREADS,
      }),
    ),
  );
  const violations = results.flatMap((r) => r.violations);
  const tagged = results.reduce((n, r) => n + r.taggedLoads, 0);
  const untagged = results.reduce((n, r) => n + r.untaggedLoads, 0);
  t.log(
    `${level}${midStoreSpins ? ` (stalls of ${midStoreSpins} spins mid-store)` : ''}: ${THREADS} threads × ${ops} ops on 2 granules: ${tagged} tagged loads, ${untagged} untagged`,
  );
  t.deepEqual(violations, []);
  // The test is only meaningful if both outcomes were really exercised.
  t.true(tagged > 1000, `tagged loads ${tagged}`);
  t.true(untagged > 1000, `untagged loads ${untagged}`);
}

test('capability loads through Hart never see a tagged value torn between stores, nor a tag on data bytes', (t) =>
  stress(t, 'hart', 1_000_000));

test('the bare granule protocol under tight-loop races never yields a torn tagged value or a tagged data value', (t) =>
  stress(t, 'granule', 3_000_000));

test('writers stalled in the middle of capability stores never let a reader see a torn tagged value', (t) =>
  stress(t, 'granule', 300_000, 200));
