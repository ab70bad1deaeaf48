/*
 * How a process ended, in words and as JSON: exit status, or the signal by name with its
 * si_code by name and si_addr, and the reason the system gave (SIGABRT from an uncaught guest
 * exception, the watchdog's SIGKILL).  Names come from the kernel's own constants.
 */
import * as kernel from '@cherisim/kernel';
import type { ProcessOutcome } from '@cherisim/workers';

const SIGNALS = new Map<number, string>();
const CODES = new Map<string, Map<number, string>>(); /* prefix → code → name */
const CODE_PREFIX: Record<string, string> = { SIGSEGV: 'SEGV_', SIGBUS: 'BUS_', SIGPROT: 'PROT_CHERI_' };

for (const [name, value] of Object.entries(kernel)) {
  if (typeof value !== 'number') continue;
  if (/^SIG[A-Z0-9]+$/.test(name) && !SIGNALS.has(value) && value > 0 && value < kernel.NSIG)
    SIGNALS.set(value, name);
  for (const prefix of [...Object.values(CODE_PREFIX), 'SI_']) {
    if (!name.startsWith(prefix)) continue;
    const m = CODES.get(prefix) ?? new Map<number, string>();
    if (!m.has(value)) m.set(value, name);
    CODES.set(prefix, m);
  }
}

export function signalName(sig: number): string {
  return SIGNALS.get(sig) ?? `signal ${sig}`;
}

export function siCodeName(sig: number, code: number): string {
  const prefix = CODE_PREFIX[signalName(sig)];
  return (prefix && CODES.get(prefix)?.get(code)) ?? CODES.get('SI_')?.get(code) ?? String(code);
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** One line: "exited 0", "killed by SIGSEGV (SEGV_STORETAG, si_addr 0x…)", with the reason. */
export function describeOutcome(o: ProcessOutcome): string {
  if (o.termsig === null) return `exited ${o.exitStatus ?? '?'}`;
  const parts: string[] = [];
  if (o.siginfo) {
    parts.push(siCodeName(o.termsig, o.siginfo.si_code));
    if (o.siginfo.si_addr) parts.push(`si_addr ${hex(o.siginfo.si_addr)}`);
  }
  const info = parts.length > 0 ? ` (${parts.join(', ')})` : '';
  return `killed by ${signalName(o.termsig)}${info}${o.reason ? `: ${o.reason}` : ''}`;
}

/** The outcome as JSON, with names next to the numbers. */
export function outcomeJson(o: ProcessOutcome): Record<string, unknown> {
  const out: Record<string, unknown> = {
    pid: o.pid,
    ppid: o.ppid,
    entry: o.entry,
    exited: o.exited,
    exitStatus: o.exitStatus,
    termsig: o.termsig,
    signal: o.termsig === null ? null : signalName(o.termsig),
    siginfo:
      o.siginfo && o.termsig !== null
        ? { ...o.siginfo, si_code_name: siCodeName(o.termsig, o.siginfo.si_code) }
        : o.siginfo,
    reason: o.reason,
    summary: describeOutcome(o),
  };
  return out;
}
