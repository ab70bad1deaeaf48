/*
 * Property: random sequences of system calls and guest accesses, across several processes
 * and all three regimes, never throw a host exception and keep every kernel invariant
 * (kernelAssertConsistent) after each step.  RUNS × STEPS ≥ 10,000 steps per CI run.
 */
import { kernelAssertConsistent, type Regime } from '@cherisim/kernel';
import test from 'ava';
import fc from 'fast-check';
import { bootKernel } from '../_support/kernel_boot.js';
import { FuzzDriver, stepArb } from '../_support/kernel_fuzz.js';

const RUNS = Number(process.env.CHERISIM_FUZZ_RUNS ?? 150);
const STEPS = 200;
const SHRINK = process.env.CHERISIM_FUZZ_SHRINK === '1';

test('the kernel invariants hold after every step of random system-call sequences (≥ 10,000 steps)', (t) => {
  let total = 0;
  fc.assert(
    fc.property(
      fc.constantFrom<Regime>('pr2225', 'cheribsd-strict', 'cheribsd-dev'),
      fc.constantFrom<'fault' | 'strip'>('fault', 'strip'),
      fc.constantFrom<'none-may-cap' | 'next-opener-becomes-owner'>(
        'none-may-cap',
        'next-opener-becomes-owner',
      ),
      fc.constantFrom<'refuse' | 'map-without-cap'>('refuse', 'map-without-cap'),
      fc.array(stepArb, { minLength: SHRINK ? 1 : STEPS, maxLength: STEPS }),
      (regime, storeCapFault, orphanPolicy, nonOwnerCap, steps) => {
        const b = bootKernel({ regime, storeCapFault, orphanPolicy, nonOwnerCap }, 4);
        const d = new FuzzDriver(b.k);
        for (const [i, s] of steps.entries()) {
          try {
            d.run(s);
            kernelAssertConsistent(b.k);
          } catch (e) {
            throw new Error(`step ${i} ${JSON.stringify(s)}: ${(e as Error).stack}`);
          }
        }
        total += d.steps;
      },
    ),
    {
      numRuns: RUNS,
      includeErrorInReport: true,
      ...(process.env.CHERISIM_FUZZ_SEED ? { seed: Number(process.env.CHERISIM_FUZZ_SEED) } : {}),
    },
  );
  if (!SHRINK) t.true(total >= RUNS * STEPS);
  if (!SHRINK && RUNS >= 100) t.true(total >= 10_000);
  t.log(`${total} steps`);
});
