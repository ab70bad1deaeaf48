import { setTimeout as sleep } from 'node:timers/promises';
import { SIGKILL } from '@cherisim/kernel';
import { openSystemControl, SimulationPool } from '@cherisim/workers';
import test from 'ava';

const leak = `
import { SHM_ANON, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE, PROT_CAP, MAP_SHARED } from 'cherisim';
export function main(sys: any) {
  const fd = sys.shm_open(SHM_ANON, O_RDWR, 0o600);
  sys.ftruncate(fd, PAGE_SIZE);
  const p = sys.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_CAP, MAP_SHARED, fd, 0);
  sys.storeCap(p, 0, p);
  return sys.waitpid(sys.fork('child', { fd })).exitStatus;
}
export function child(sys: any, { fd }: any) {
  const q = sys.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
  return sys.loadCap(q, 0).tag ? 1 : 0;
}`;

test('the simulation pool runs independent systems in parallel, each with its own kernel and policy', async (t) => {
  const pool = new SimulationPool({ jobs: 2 });
  t.teardown(() => pool.destroy());
  const regimes = ['cheribsd-dev', 'pr2225', 'cheribsd-dev', 'cheribsd-strict'] as const;
  const results = await Promise.all(
    regimes.map((regime) =>
      pool.run({
        program: { filename: 'leak.ts', source: leak },
        options: { policy: { regime }, physBytes: 8 << 20 },
      }),
    ),
  );
  t.deepEqual(
    results.map((r) => r[0].exitStatus),
    [1, 0, 1, 0],
  );
});

test('the comlink control plane lists processes and threads, kills one, and reports statistics', async (t) => {
  const ctl = openSystemControl({ physBytes: 8 << 20 });
  t.teardown(() => ctl.close());
  const pid = await ctl.api.start({
    filename: 'spin.ts',
    source: 'export function main(sys: any) { for (;;) sys.getpid(); }',
  });
  /* the thread runs once its worker has booted: poll (the machine may be busy) */
  let procs = await ctl.api.processes();
  for (let i = 0; i < 200 && procs[0]?.threads[0]?.state === 'new'; i++) {
    await sleep(50);
    procs = await ctl.api.processes();
  }
  t.is(procs.length, 1);
  t.is(procs[0].pid, pid);
  t.is(procs[0].threads.length, 1);
  t.true(['running', 'syscall'].includes(procs[0].threads[0].state));
  t.true((await ctl.api.stats()).framesUsed > 0);
  t.is(await ctl.api.kill(pid, SIGKILL), 0);
  const outcomes = await ctl.api.wait();
  t.is(outcomes[0].termsig, SIGKILL);
  t.deepEqual(await ctl.api.processes(), []);
});
