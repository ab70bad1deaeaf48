/*
 * The coordinator kernel: one object holding all kernel state, so that tests can boot
 * any number of kernels side by side, each deterministic and single-threaded.
 */
import { type Logger, pino } from 'pino';
import { KASSERT } from '../sys/kassert.js';
import type { GuestCpu, MachineLike, MachineWithCpu } from '../vm/machine_if.js';
import { VmContext } from '../vm/vm_context.js';
import { type Vmspace, vmspaceAlloc } from '../vm/vmspace.js';
import { type File, type FileDesc, type FileOps, fdinit } from './file.js';
import { type CheriPolicy, makePolicy } from './policy.js';
import { PROC_MAGIC, type Proc, type Thread } from './proc.js';
import { SysvRegistry } from './sysv_shm.js';
import { type ShmFd, shmDrop } from './uipc_shm.js';
import { soClose } from './uipc_syscalls.js';
import { MemFs } from './vfs.js';

export interface KernelOptions {
  readonly machine: MachineLike | MachineWithCpu;
  readonly policy?: Partial<CheriPolicy>;
  readonly logger?: Logger;
  readonly maxProcs?: number;
}

export interface KernelStats {
  readonly framesUsed: number;
  readonly framesFree: number;
  readonly objects: number;
  readonly vnodes: number;
  readonly shmObjects: number;
  readonly sysvSegments: number;
  readonly procs: number;
  readonly vmspaces: number;
}

export class Kernel {
  readonly vm: VmContext;
  readonly policy: CheriPolicy;
  readonly log: Logger;
  readonly maxProcs: number;
  readonly procs = new Map<number, Proc>();
  readonly fs = new MemFs();
  readonly shmNames = new Map<string, ShmFd>();
  readonly shmObjects = new Set<ShmFd>();
  readonly sysv = new SysvRegistry();
  readonly fileOps: FileOps;
  readonly init: Proc;
  #nextPid = 1;
  readonly #debug: boolean;

  constructor(opts: KernelOptions) {
    this.policy = makePolicy(opts.policy);
    this.log = (opts.logger ?? pino({ level: 'silent' })).child({ subsys: 'kernel' });
    this.vm = new VmContext(opts.machine, this.policy, this.log);
    this.maxProcs = opts.maxProcs ?? 1024;
    this.#debug = this.log.isLevelEnabled('debug');
    this.fileOps = { close: (fp) => this.#closeFile(fp) };
    const vms = vmspaceAlloc(this.vm);
    KASSERT(vms !== null, () => 'no memory for init');
    this.init = this.procAlloc('init', null, vms, fdinit());
  }

  /* Record a failing call's cause (SYSERRCAUSE) and return its errno. */
  syserr(td: Thread, errno: number, why: string): number {
    td.errCause = why;
    if (this.#debug) this.log.debug({ pid: td.proc.pid, errno, why }, 'syscall error');
    return errno;
  }

  procAlloc(name: string, parent: Proc | null, vmspace: Vmspace, fd: FileDesc): Proc {
    const pid = this.#nextPid++;
    const p: Proc = {
      magic: PROC_MAGIC,
      pid,
      name,
      parent,
      state: 'run',
      vmspace,
      fd,
      children: new Set(),
      sigacts: [],
      xstat: 0,
      xsiginfo: null,
      orphan: false,
      sysvAttach: new Map(),
      td: null as unknown as Thread /* set just below: the thread points back at its proc */,
    };
    p.td = { proc: p, cpu: null, retval: 0, retobj: null, errCause: '', lastTrap: null };
    this.procs.set(pid, p);
    if (parent !== null) parent.children.add(p);
    return p;
  }

  /* A new process (a fresh program, child of init) with an empty address space and no files. */
  spawn(name = 'proc'): Proc {
    const vms = vmspaceAlloc(this.vm);
    KASSERT(vms !== null, () => 'spawn: out of memory');
    return this.procAlloc(name, this.init, vms, fdinit());
  }

  /* Free a zombie's last trace. */
  reap(p: Proc): void {
    KASSERT(p.state === 'zombie', () => `reap: pid ${p.pid} is not a zombie`);
    p.state = 'reaped';
    p.parent?.children.delete(p);
    this.procs.delete(p.pid);
  }

  cpuFor(td: Thread): GuestCpu {
    if (td.cpu !== null) return td.cpu;
    const m = this.vm.machine as Partial<MachineWithCpu>;
    KASSERT(typeof m.createCpu === 'function', () => 'this machine cannot run guest accesses (no createCpu)');
    const pmap = td.proc.vmspace!.pmap;
    td.cpu = m.createCpu(pmap.pt, pmap.mmu);
    return td.cpu;
  }

  stats(): KernelStats {
    return {
      framesUsed: this.vm.phys.usedCount,
      framesFree: this.vm.phys.freeCount,
      objects: this.vm.objects.size,
      vnodes: this.fs.vnodes.size,
      shmObjects: this.shmObjects.size,
      sysvSegments: this.sysv.segs.size,
      procs: this.procs.size,
      vmspaces: this.vm.liveVmspaces.size,
    };
  }

  #closeFile(fp: File): void {
    switch (fp.type) {
      case 'vnode':
      case 'devzero':
        this.fs.vrele(this.vm, fp.vnode!);
        break;
      case 'shm':
        shmDrop(this, fp.shm!);
        break;
      case 'pipe':
        if (fp.pipeEnd === 'read') {
          fp.pipe!.readerOpen = false;
          fp.pipe!.chunks.length = 0;
          fp.pipe!.count = 0;
        } else fp.pipe!.writerOpen = false;
        break;
      case 'socket':
        soClose(this, fp.socket!);
        break;
    }
  }
}

export function createKernel(opts: KernelOptions): Kernel {
  return new Kernel(opts);
}
