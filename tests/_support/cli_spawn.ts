/*
 * Run the built `cherisim` CLI as a child process from the repository root (sync or async),
 * and check the one-line error style.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { REPO_ROOT } from './cc128.js';

export const CLI_MAIN = join(REPO_ROOT, 'packages', 'cli', 'dist', 'main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cherisimSync(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [CLI_MAIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cherisimAsync(...args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/* An error is exactly one line on stderr, in the cherisim style, with no stack trace. */
export function assertOneLineError(t: ExecutionContext, stderr: string, pattern: RegExp): void {
  const lines = stderr.split('\n').filter((l) => l !== '');
  t.is(lines.length, 1, `stderr was: ${stderr}`);
  t.regex(lines[0] ?? '', /^cherisim: /);
  t.regex(lines[0] ?? '', pattern);
  t.notRegex(stderr, /\n\s+at /, 'no stack trace');
}
