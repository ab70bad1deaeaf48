/*
 * Progress of a stress run on stderr: a bar redrawn in place on a TTY, a plain line every few
 * seconds otherwise (logs, CI).  Small enough not to need a dependency.
 */
import type { StressProgress } from './run_stress.js';

const WIDTH = 28;
const PLAIN_EVERY_MS = 2000;

export interface ProgressSink {
  update(p: StressProgress): void;
  done(): void;
}

export function progressSink(stream: NodeJS.WriteStream = process.stderr, quiet = false): ProgressSink {
  if (quiet) return { update: () => {}, done: () => {} };
  if (stream.isTTY === true) {
    let drawn = false;
    return {
      update(p) {
        const filled = Math.round(p.fraction * WIDTH);
        const bar = `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
        const pct = String(Math.round(p.fraction * 100)).padStart(3);
        stream.write(
          `\r${p.mode.padEnd(5)} ${bar} ${pct}%  ops ${p.ops}  epochs ${p.epochs}  ${(p.elapsedMs / 1000).toFixed(1)}s\x1b[K`,
        );
        drawn = true;
      },
      done() {
        if (drawn) stream.write('\r\x1b[K');
        drawn = false;
      },
    };
  }
  let last = Number.NEGATIVE_INFINITY;
  return {
    update(p) {
      if (p.elapsedMs - last < PLAIN_EVERY_MS) return;
      last = p.elapsedMs;
      stream.write(
        `stress-revoke ${p.mode}: ${Math.round(p.fraction * 100)}% ops ${p.ops} epochs ${p.epochs} ${(p.elapsedMs / 1000).toFixed(1)}s\n`,
      );
    },
    done() {
      last = Number.NEGATIVE_INFINITY;
    },
  };
}
