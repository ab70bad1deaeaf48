/* @cherisim/kernel: the coordinator kernel (machine-independent VM, processes, files, policy). */
export * from './kern/file.js';
export * from './kern/kern_cheri_revoke.js';
export * from './kern/kern_invariants.js';
export * from './kern/kern_proc.js';
export * from './kern/kern_procstat.js';
export * from './kern/kern_sig.js';
export * from './kern/kernel.js';
export * from './kern/policy.js';
export * from './kern/proc.js';
export * from './kern/revoke_checker.js';
export * from './kern/syscalls.js';
export * from './kern/trap.js';
export { SHM_LARGEPAGE_SIZES, sysShmCreateLargepage } from './kern/uipc_shm.js';
export * from './kern/uipc_syscalls.js';
export * from './sys/errno.js';
export * from './sys/fcntl.js';
export * from './sys/ipc.js';
export * from './sys/kassert.js';
export * from './sys/mman.js';
export * from './sys/revoke.js';
export * from './sys/signal.js';
export * from './sys/socket.js';
export * from './sys/sys_error.js';
export * from './vm/machine_binding.js';
export {
  CAP_GRANULE,
  type CapBits,
  type GuestCpu,
  type MachineLike,
  type MachineWithCpu,
  type MmuControlLike,
  type PageTableLike,
  type PhysMemLike,
  PTE_CD,
  PTE_CLG,
  PTE_CR,
  PTE_CW,
  PTE_R,
  PTE_V,
  PTE_W,
  PTE_X,
  pteMake,
  ptePfn,
} from './vm/machine_if.js';
export * from './vm/pmap.js';
export * from './vm/vm.js';
export * from './vm/vm_cheri_revoke.js';
export {
  CHERI_REVOKE_ST_LS_CLOSING,
  CHERI_REVOKE_ST_LS_INITED,
  CHERI_REVOKE_ST_LS_INITING,
  CHERI_REVOKE_ST_NAMES,
  CHERI_REVOKE_ST_NONE,
  CHERI_REVOKE_ST_SS_INITED,
  CHERI_REVOKE_ST_SS_INITING,
  CHERI_REVOKE_ST_SS_LAST,
  cheriRevokeStBusy,
  type VmCheriRevokeState,
} from './vm/vm_cheri_revoke_state.js';
export * from './vm/vm_context.js';
export * from './vm/vm_fault.js';
export * from './vm/vm_map.js';
export * from './vm/vm_mmap.js';
export * from './vm/vm_object.js';
export * from './vm/vm_page.js';
export * from './vm/vm_param.js';
export * from './vm/vmspace.js';
