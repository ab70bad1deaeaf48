/*
 * The leak matrix as a terminal table, a Markdown table and a self-contained HTML heatmap
 * (inline styles, no external assets).  Rows = channels; columns = regime × direction.
 */
import type { Regime } from '@cherisim/kernel';
import type { Direction } from '../leak/channels.js';
import type { MatrixRow } from '../leak/run_matrix.js';

interface Column {
  readonly regime: Regime;
  readonly direction: Direction;
}

const DIR_SHORT: Record<Direction, string> = { 'parent-to-child': 'p→c', 'child-to-parent': 'c→p' };

/* Short cell text: LEAK, or what stopped the tag. */
export function cellText(row: MatrixRow): string {
  if (row.tagCrossed) return 'CROSSED';
  if (row.stoppedBy === 'mmap-refused') return `refused ${row.errno ?? ''}`.trim();
  return row.stoppedBy;
}

function layout(rows: readonly MatrixRow[]) {
  const channels = [...new Set(rows.map((r) => r.channel))];
  const columns: Column[] = [];
  for (const r of rows)
    if (!columns.some((c) => c.regime === r.regime && c.direction === r.direction))
      columns.push({ regime: r.regime, direction: r.direction });
  const cell = (channel: string, c: Column) =>
    rows.find((r) => r.channel === channel && r.regime === c.regime && r.direction === c.direction);
  return { channels, columns, cell };
}

const colHead = (c: Column) => `${c.regime} ${DIR_SHORT[c.direction]}`;

export function summaryLine(rows: readonly MatrixRow[]): string {
  const leaks = rows.filter((r) => r.tagCrossed).length;
  const failed = rows.filter((r) => r.stoppedBy === 'setup-failed').length;
  return `${rows.length} cells: ${leaks} tag crossed, ${rows.length - leaks - failed} stopped${failed ? `, ${failed} setup failed` : ''}`;
}

/** Plain-text table; `color` adds ANSI colours (red = the tag crossed, green = stopped). */
export function terminalTable(rows: readonly MatrixRow[], color: boolean): string {
  const { channels, columns, cell } = layout(rows);
  const paint = (text: string, row: MatrixRow | undefined) => {
    if (!color || row === undefined) return text;
    const code = row.tagCrossed ? '1;31' : row.stoppedBy === 'setup-failed' ? '1;33' : '32';
    return `\x1b[${code}m${text}\x1b[0m`;
  };
  const head = ['channel', ...columns.map(colHead)];
  const body = channels.map((ch) => [ch, ...columns.map((c) => cell(ch, c))]);
  const widths = head.map((h, i) =>
    Math.max(
      h.length,
      ...body.map((b) => (i === 0 ? String(b[0]) : cellTextOr(b[i] as MatrixRow | undefined)).length),
    ),
  );
  const lines = [
    head
      .map((h, i) => h.padEnd(widths[i]))
      .join('  ')
      .trimEnd(),
  ];
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const b of body) {
    const parts = b.map((v, i) => {
      if (i === 0) return String(v).padEnd(widths[0]);
      const row = v as MatrixRow | undefined;
      return paint(cellTextOr(row).padEnd(widths[i]), row);
    });
    lines.push(parts.join('  ').trimEnd());
  }
  lines.push('', summaryLine(rows));
  return lines.join('\n');
}

const cellTextOr = (row: MatrixRow | undefined) => (row ? cellText(row) : '—');

export function markdownReport(rows: readonly MatrixRow[]): string {
  const { channels, columns, cell } = layout(rows);
  const out = [
    '# cherisim leak matrix',
    '',
    'Each cell ran real guest programs: one process stores a tagged capability and sends it through the channel,',
    'the other reports whether the tag arrived. **CROSSED** = a tagged capability crossed address spaces; otherwise',
    'what stopped it: `store-fault` (SIGSEGV/SEGV_STORETAG in the sender), `stripped-on-load`, `refused ERRNO`',
    '(an mmap failed), `copied-bytes` (the kernel copied bytes), `private-copy` (MAP_PRIVATE: nothing arrived).',
    '',
    `| channel | ${columns.map(colHead).join(' | ')} |`,
    `| --- | ${columns.map(() => '---').join(' | ')} |`,
    ...channels.map(
      (ch) =>
        `| \`${ch}\` | ${columns
          .map((c) => {
            const r = cell(ch, c);
            return r?.tagCrossed ? '**CROSSED**' : cellTextOr(r);
          })
          .join(' | ')} |`,
    ),
    '',
    summaryLine(rows),
    '',
    '## Details',
    '',
    '| channel | regime | direction | tagCrossed | stoppedBy | rules | detail |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (r) =>
        `| \`${r.channel}\` | ${r.regime} | ${r.direction} | ${r.tagCrossed} | ${r.stoppedBy} | ${r.rules} | ${r.detail.replace(/\|/g, '\\|')} |`,
    ),
    '',
  ];
  return out.join('\n');
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function htmlReport(rows: readonly MatrixRow[], generated: string): string {
  const { channels, columns, cell } = layout(rows);
  const bg = (r: MatrixRow | undefined) =>
    r === undefined
      ? '#eeeeee'
      : r.tagCrossed
        ? '#d73027'
        : r.stoppedBy === 'setup-failed'
          ? '#fee08b'
          : r.stoppedBy === 'copied-bytes' || r.stoppedBy === 'private-copy'
            ? '#a6d96a'
            : '#1a9850';
  const fg = (r: MatrixRow | undefined) =>
    r && (r.tagCrossed || bg(r) === '#1a9850') ? '#ffffff' : '#111111';
  const th = 'style="padding:6px 10px;border:1px solid #999;background:#f4f4f4;text-align:left"';
  const regimes = [...new Set(columns.map((c) => c.regime))];
  const head1 = regimes
    .map((g) => `<th ${th} colspan="${columns.filter((c) => c.regime === g).length}">${esc(g)}</th>`)
    .join('');
  const head2 = columns.map((c) => `<th ${th}>${esc(c.direction)}</th>`).join('');
  const body = channels
    .map((ch) => {
      const tds = columns
        .map((c) => {
          const r = cell(ch, c);
          const title = r ? `${r.detail} [${r.rules}]` : 'not applicable';
          return `<td title="${esc(title)}" style="padding:6px 10px;border:1px solid #999;text-align:center;background:${bg(r)};color:${fg(r)};font-weight:${r?.tagCrossed ? 'bold' : 'normal'}">${esc(cellTextOr(r))}</td>`;
        })
        .join('');
      return `<tr><th ${th}><code>${esc(ch)}</code></th>${tds}</tr>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>cherisim leak matrix</title></head>
<body style="font-family:system-ui,sans-serif;margin:24px;color:#111">
<h1 style="font-size:20px">cherisim leak matrix</h1>
<p style="max-width:60em">Each cell ran real guest programs in a simulated system: one process stores a tagged capability and
sends it through the channel, the other reports whether the tag arrived. <b style="color:#d73027">CROSSED</b> = a tagged
capability crossed address spaces; otherwise the cell names what stopped it. Hover a cell for details.</p>
<table id="leak-matrix" style="border-collapse:collapse;font-size:14px">
<thead><tr><th ${th} rowspan="2">channel</th>${head1}</tr><tr>${head2}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<p>${esc(summaryLine(rows))}. Generated ${esc(generated)}.</p>
</body>
</html>
`;
}
