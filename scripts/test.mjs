// Runs the ava suite and ends with the plain summary line "N passed, N failed" that CI reads.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ava = spawn(join(root, 'node_modules', '.bin', 'ava'), process.argv.slice(2), {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let tail = '';
ava.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
ava.on('close', (code) => {
  const count = (re) => Number(re.exec(tail)?.[1] ?? 0);
  const passed = count(/(\d+) tests? passed/);
  const failed =
    count(/(\d+) tests? failed/) + count(/(\d+) uncaught exceptions?/) + count(/(\d+) unhandled rejections?/);
  console.log(`${passed} passed, ${code === 0 ? failed : Math.max(failed, 1)} failed`);
  process.exit(code ?? 1);
});
