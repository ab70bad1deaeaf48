/*
 * The flags every verb that boots simulated systems shares: the store switch (R5), logging
 * and the event trace.  Verbs that boot many systems tag each one's trace events.
 */
import type { SystemOptions } from '@cherisim/workers';
import { type Command, Option } from 'commander';
import { type Logger, pino } from 'pino';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export interface SystemFlags {
  storeFault?: boolean;
  storeStrip?: boolean;
  logLevel?: string;
  trace?: string;
}

export function addSystemFlags(cmd: Command, opts: { storeSwitch: boolean }): Command {
  if (opts.storeSwitch)
    cmd
      .addOption(
        new Option(
          '--store-fault',
          'a capability store to a page without cap-store faults (default; v9, Morello)',
        ).conflicts('storeStrip'),
      )
      .option('--store-strip', 'such a store silently clears the tag instead (ratified RISC-V CHERI)');
  return cmd
    .option(
      '--trace <file>',
      'append NDJSON events (syscalls, traps, forks, exits, shared capability stores)',
    )
    .addOption(
      new Option('--log-level <level>', 'kernel and thread logs on stderr (pino)')
        .choices(LOG_LEVELS)
        .default('silent'),
    );
}

let sharedLogger: Logger | undefined;

/** System options from the flags; `tag` names this system in the trace (many systems, one file). */
export function systemOptionsFrom(
  flags: SystemFlags,
  tag?: string,
): Partial<SystemOptions> & {
  storeCapFault?: 'fault' | 'strip';
} {
  const level = flags.logLevel ?? 'silent';
  if (level !== 'silent') sharedLogger ??= pino({ level }, pino.destination({ dest: 2, sync: true }));
  return {
    ...(level !== 'silent' ? { logger: sharedLogger } : {}),
    ...(flags.trace ? { trace: flags.trace, traceTag: tag } : {}),
    ...(flags.storeStrip ? { storeCapFault: 'strip' as const } : {}),
  };
}
