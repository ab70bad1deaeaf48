/*
 * What `import { … } from 'cherisim'` gives a guest program: the kernel's user ABI constants
 * (PROT_*, MAP_*, O_*, SHM_ANON, signals, errno values, …) and the capability permission
 * bits, all plain numbers.  PROT_MAX(p) is `p << 16` (FreeBSD's encoding).
 */
import * as kernel from '@cherisim/kernel';
import * as machine from '@cherisim/machine';

const ABI_NAME =
  /^(PROT_|MAP_|MINCORE_|MS_|INHERIT_|MADV_|SHM_|MFD_|O_|SEEK_|AF_|SOCK_|SCM_|MSG_|IPC_|SIG|SEGV_|BUS_|TRAPNO_|CHERI_REVOKE_|WNOHANG$|W[A-Z]+$|CLD_)/;

function pick(ns: Record<string, unknown>, keep: (name: string) => boolean): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, value] of Object.entries(ns))
    if (typeof value === 'number' && keep(name)) out[name] = value;
  return out;
}

export const GUEST_CONSTANTS: Readonly<Record<string, number>> = Object.freeze({
  ...pick(kernel as Record<string, unknown>, (n) => ABI_NAME.test(n)),
  ...pick(kernel.ERRNO as Record<string, unknown>, () => true),
  ...pick(machine as Record<string, unknown>, (n) => n.startsWith('CHERI_PERM') || n === 'CAP_SIZE'),
  PAGE_SIZE: machine.PAGE_SIZE,
});
