/*
 * The suite's terminal table (test × regime, colour only when asked), the failure details,
 * the tests that are listed but not run, and the summary line `N passed, N failed`
 * (passed = PASS + XFAIL, failed = FAIL + XPASS).
 */
import type { Regime } from '@cherisim/kernel';
import type { NotRunTest, SuiteTest } from './expectations.js';
import type { SuiteResult, Verdict } from './run_suite.js';

const COLOUR: Record<Verdict, string> = {
  PASS: '\x1b[32m',
  XFAIL: '\x1b[36m',
  FAIL: '\x1b[1;31m',
  XPASS: '\x1b[1;33m',
};
const RESET = '\x1b[0m';

export function summary(results: readonly SuiteResult[]): { passed: number; failed: number } {
  const passed = results.filter((r) => r.outcome === 'PASS' || r.outcome === 'XFAIL').length;
  return { passed, failed: results.length - passed };
}

export function summaryLine(results: readonly SuiteResult[]): string {
  const { passed, failed } = summary(results);
  return `${passed} passed, ${failed} failed`;
}

export function suiteTable(
  tests: readonly SuiteTest[],
  regimes: readonly Regime[],
  results: readonly SuiteResult[],
  notRun: readonly NotRunTest[],
  color: boolean,
): string {
  const byKey = new Map(results.map((r) => [`${r.test}\u0000${r.regime}`, r]));
  const head = ['test', 'catalogue', ...regimes];
  const rows = tests.map((t) => [
    t.id,
    t.catalogue,
    ...regimes.map((g) => byKey.get(`${t.id}\u0000${g}`)?.outcome ?? '-'),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: string[], paint: boolean) =>
    cells
      .map((c, i) => {
        const padded = i === cells.length - 1 ? c : c.padEnd(widths[i]);
        return paint && i >= 2 && c in COLOUR ? `${COLOUR[c as Verdict]}${padded}${RESET}` : padded;
      })
      .join('  ')
      .trimEnd();
  const lines = [fmt(head, false), ...rows.map((r) => fmt(r, color))];

  const bad = results.filter((r) => r.outcome === 'FAIL' || r.outcome === 'XPASS');
  if (bad.length > 0) {
    lines.push('', 'Failures:');
    for (const r of bad) lines.push(`  ${r.outcome} ${r.test} [${r.regime}]: ${r.detail}`);
  }
  if (notRun.length > 0) {
    lines.push('', 'Listed, not run (not counted):');
    const w = Math.max(...notRun.map((n) => n.id.length));
    const c = Math.max(...notRun.map((n) => n.catalogue.length));
    for (const n of notRun)
      lines.push(`  ${n.id.padEnd(w)}  ${n.catalogue.padEnd(c)}  ${n.status}: ${n.reason}`);
  }
  lines.push('', summaryLine(results));
  return lines.join('\n');
}
