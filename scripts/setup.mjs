// Bootstraps the workspace on a machine that has only Node and npm: installs the
// pinned pnpm through npx, installs dependencies, then builds every project with tsc -b.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { packageManager } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const run = (cmd, args) => execFileSync(cmd, args, { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });

try {
  run('npx', ['--yes', packageManager, 'install', '--frozen-lockfile', '--reporter=silent']);
  run(join(root, 'node_modules', '.bin', 'tsc'), ['-b']);
} catch (err) {
  console.error(`setup failed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
