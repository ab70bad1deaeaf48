/*
 * `cherisim cap …`: decode a capability, check the codec against the cc128 test vectors, and
 * a short demonstration of capability derivation.
 */
import {
  Capability,
  CapabilityFault,
  CC128_MAX_ADDR,
  CHERI_PERM_EXECUTE,
  CHERI_PERM_LOAD,
  capAlmighty,
  capAndPerms,
  capExName,
  capSealEntry,
  capSetAddr,
  capSetBounds,
  capSetBoundsExact,
  capToJson,
  cc128ExtractBoundsBits,
  checkVectorFile,
  describeMismatch,
  formatCapability,
  hex64,
  hex65,
  otypeName,
  permNames,
  type VectorFileReport,
  VectorInputError,
} from '@cherisim/machine';
import { type Command, InvalidArgumentError } from 'commander';
import { CliError, EXIT_FAILED, setExitCode } from '../program.js';

export function register(program: Command): void {
  const cap = program
    .command('cap')
    .description('CHERI-128 capabilities: decode them, check the codec, watch derivation at work');

  cap
    .command('decode')
    .description('decode a capability from its two 64-bit words and print it as CheriBSD does')
    .argument('<pesbt>', 'metadata word, hex (0x…) or decimal; the raw architectural form unless --memory')
    .argument('<cursor>', 'address word, hex (0x…) or decimal')
    .option('--memory', 'PESBT is the in-memory form (XOR-ed with the NULL encoding)')
    .option('--tag', 'decode it as a valid (tagged) capability; the tag is not part of the 128 bits')
    .option('--json', 'print the fields as JSON, in the schema of the cc128 vectors')
    .action(
      (pesbtText: string, cursorText: string, opts: { memory?: boolean; tag?: boolean; json?: boolean }) => {
        const word = parseU64(pesbtText, 'PESBT');
        const cursor = parseU64(cursorText, 'CURSOR');
        const tag = opts.tag === true;
        const c = opts.memory
          ? Capability.decompressMem(word, cursor, tag)
          : new Capability(word, cursor, tag);
        console.log(opts.json ? JSON.stringify(decodedJson(c), null, 2) : describeCapability(c));
      },
    );

  cap
    .command('check-vectors')
    .description('check every row of cc128 vector files (.jsonl, .jsonl.gz, .json) against the codec')
    .argument('<files...>', 'vector files, e.g. vectors/cc128/*.jsonl.gz')
    .option('--max-mismatches <n>', 'how many mismatching rows to list', parseCount, 10)
    .action((files: string[], opts: { maxMismatches: number }, cmd: Command) => {
      if (checkVectors(files, opts.maxMismatches) > 0) setExitCode(cmd, EXIT_FAILED);
    });

  cap
    .command('demo')
    .description('derive a few capabilities from the almighty one and print each')
    .action(() => {
      for (const line of demo()) console.log(line);
    });
}

/* ---- decode ---- */

function parseU64(text: string, what: string): bigint {
  const digits = text.replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(digits))
    throw new CliError(`${what}: expected a 64-bit value in hex (0x…) or decimal, got '${text}'`);
  const value = BigInt(digits);
  if (value > CC128_MAX_ADDR) throw new CliError(`${what}: ${text} does not fit in 64 bits`);
  return value;
}

function describeCapability(c: Capability): string {
  const ie = cc128ExtractBoundsBits(c.pesbt).IE;
  const names = permNames(c.perms);
  const rows: [string, string][] = [
    ['tag', c.tag ? '1' : '0 (not part of the 128 bits: --tag decodes it as valid)'],
    ['address', hex64(c.cursor)],
    ['base', hex64(c.base)],
    ['top', `${hex65(c.top)} (65 bits)`],
    ['length', `0x${c.length.toString(16)} (${c.length})`],
    ['offset', `0x${c.offset.toString(16)}`],
    ['perms', `0x${c.perms.toString(16)}${names.length > 0 ? ` ${names.join(' ')}` : ' (none)'}`],
    [
      'otype',
      `0x${c.otype.toString(16)} (${c.isSealed ? (c.isSentry ? 'sentry' : `sealed: ${otypeName(c.otype)}`) : 'unsealed'})`,
    ],
    ['exponent', `${c.exp} (${ie ? 'internal exponent' : 'exponent 0, no internal exponent'})`],
    ['flags', String(c.flags)],
    ['reserved', String(c.reserved)],
    ['pesbt', `${hex64(c.pesbt)} raw, ${hex64(c.compressMem())} in memory`],
  ];
  return [formatCapability(c), ...rows.map(([k, v]) => `  ${k.padEnd(9)} ${v}`)].join('\n');
}

function decodedJson(c: Capability): Record<string, unknown> {
  return {
    ...capToJson(c),
    pesbt_mem: hex64(c.compressMem()),
    length: hex65(c.length),
    offset: hex64(c.offset),
    perm_names: permNames(c.perms),
    otype_name: otypeName(c.otype),
    sealed: c.isSealed,
    sentry: c.isSentry,
    formatted: formatCapability(c),
  };
}

/* ---- check-vectors ---- */

function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number');
  return n;
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/* Prints one line per file, the first mismatches, and a total; returns the mismatch count. */
function checkVectors(files: readonly string[], maxMismatches: number): number {
  let rows = 0;
  let mismatches = 0;
  let listed = 0;
  for (const file of files) {
    let report: VectorFileReport;
    try {
      report = checkVectorFile(file, { maxMismatches: Math.max(0, maxMismatches - listed) });
    } catch (err) {
      if (err instanceof VectorInputError) throw new CliError(err.message, undefined, { cause: err });
      throw err;
    }
    rows += report.rows;
    mismatches += report.mismatches;
    console.log(
      `${file}: ${count(report.rows, 'row', 'rows')}, ${count(report.mismatches, 'mismatch', 'mismatches')}`,
    );
    for (const m of report.firstMismatches) console.log(`  ${describeMismatch(m)}`);
    listed += report.firstMismatches.length;
  }
  if (files.length > 1)
    console.log(`total: ${count(rows, 'row', 'rows')}, ${count(mismatches, 'mismatch', 'mismatches')}`);
  if (mismatches > listed) console.log(`(${mismatches - listed} more mismatching rows not listed)`);
  return mismatches;
}

/* ---- demo ---- */

function tryDerive(derive: () => Capability): string {
  try {
    return formatCapability(derive());
  } catch (err) {
    if (err instanceof CapabilityFault) return `traps: ${capExName(err.exccode)} → SIGPROT ${err.code}`;
    throw err;
  }
}

function demo(): string[] {
  const root = capAlmighty();
  const page = capSetBoundsExact(capSetAddr(root, 0x10000), 0x1000);
  const odd = capSetBounds(capSetAddr(root, 0x12345), 0x54321);
  const steps: [derivation: string, result: string][] = [
    ['root = the almighty (reset) capability', formatCapability(root)],
    ['page = setBounds(setAddr(root, 0x10000), 0x1000): exact', formatCapability(page)],
    [
      `setBounds(setAddr(root, 0x12345), 0x54321): ${odd.exact ? 'exact' : 'inexact, rounded outwards'}`,
      formatCapability(odd.cap),
    ],
    [
      'setBoundsExact(setAddr(root, 0x12345), 0x54321): the same request, exactly',
      tryDerive(() => capSetBoundsExact(capSetAddr(root, 0x12345), 0x54321)),
    ],
    [
      'setAddr(page, 0x11800): out of bounds but representable, keeps its tag',
      tryDerive(() => capSetAddr(page, 0x11800)),
    ],
    [
      'setAddr(page, 0x10000000): unrepresentable, the tag is cleared',
      tryDerive(() => capSetAddr(page, 0x10000000)),
    ],
    ['andPerms(page, LOAD): read-only', tryDerive(() => capAndPerms(page, CHERI_PERM_LOAD))],
    [
      'sealEntry(andPerms(page, LOAD|EXECUTE)): a sentry',
      tryDerive(() => capSealEntry(capAndPerms(page, CHERI_PERM_LOAD | CHERI_PERM_EXECUTE))),
    ],
  ];
  return [
    'Capabilities derived from the almighty one, printed as CheriBSD\'s printf("%#p") does.',
    ...steps.flatMap(([derivation, result]) => ['', derivation, `  ${result}`]),
  ];
}
