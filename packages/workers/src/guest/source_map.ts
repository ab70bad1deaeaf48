/*
 * Source positions: map a position in the transpiled guest code back to the guest's source.
 *
 * A LineMap is plain data (it travels with the compiled guest to other workers): one entry
 * per generated line, each a flat list of [generatedColumn, sourceLine, sourceColumn]
 * triples, all 0-based, sorted by generatedColumn.  It is decoded from the "mappings" field
 * of a version 3 source map with a single source.
 */

export type LineMap = number[][];

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map<string, number>([...BASE64].map((c, i) => [c, i]));

/** Decode the base64 VLQ "mappings" string of a source map. */
export function decodeMappings(mappings: string): LineMap {
  const lines: LineMap = [];
  // Source line and column carry across lines and segments; the generated column restarts per line.
  let srcLine = 0;
  let srcCol = 0;
  for (const line of mappings.split(';')) {
    const out: number[] = [];
    let genCol = 0;
    for (const segment of line.split(',')) {
      if (segment === '') continue;
      const fields: number[] = [];
      let value = 0;
      let shift = 0;
      for (const c of segment) {
        const digit = DIGIT.get(c);
        if (digit === undefined) throw new Error(`bad source map character ${JSON.stringify(c)}`);
        value += (digit & 31) * 2 ** shift;
        if (digit & 32) {
          shift += 5;
        } else {
          fields.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
          value = 0;
          shift = 0;
        }
      }
      genCol += fields[0] ?? 0;
      if (fields.length < 4) continue; // a segment with no source position
      srcLine += fields[2]!;
      srcCol += fields[3]!;
      out.push(genCol, srcLine, srcCol);
    }
    lines.push(out);
  }
  return lines;
}

/**
 * The 1-based source position of a 1-based generated position, or the generated position
 * itself when the map knows nothing better.
 */
export function mapPosition(map: LineMap, line: number, column: number): { line: number; column: number } {
  for (let l = line - 1; l >= 0 && l >= line - 4; l--) {
    const segs = map[l];
    if (!segs || segs.length === 0) continue;
    if (l < line - 1) {
      // The line has no mapping: use the end of the nearest mapped line above.
      return { line: segs[segs.length - 2]! + 1, column: segs[segs.length - 1]! + 1 };
    }
    let best = 0;
    for (let i = 0; i < segs.length; i += 3) if (segs[i]! <= column - 1) best = i;
    const delta = segs[best]! <= column - 1 ? column - 1 - segs[best]! : 0;
    return { line: segs[best + 1]! + 1, column: segs[best + 2]! + 1 + delta };
  }
  return { line, column };
}
