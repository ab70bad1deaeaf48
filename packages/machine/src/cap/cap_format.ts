/*
 * Printing capabilities the way CheriBSD does, plus a JSON form in the cc128 vector schema.
 *
 * CheriBSD printf's %#p (strfcap "%C"):  <address> [<perms>,<base>-<top>] (<attributes>)
 *   perms       r LOAD, w STORE, x EXECUTE, R LOAD_CAP, W STORE_CAP, in that order
 *   attributes  comma-separated: invalid (tag clear), sentry, sealed (any other otype);
 *               the parenthesised part is left out when there are none
 *   a NULL-derived capability (tag clear, metadata word all zeros in memory) prints as its
 *   address alone.
 * Top is printed as a 64-bit value: 2^64 (the end of the address space) shows as
 * 0xffffffffffffffff, as CheriBSD's cheri_gettop() saturates.
 * cf. CheriBSD strfcap(3); cheri-c-programming "Displaying Capabilities".
 */
import { CAP_OTYPE_SENTRY, CAP_OTYPE_UNSEALED } from './cap_otype.js';
import {
  CHERI_PERM_EXECUTE,
  CHERI_PERM_LOAD,
  CHERI_PERM_LOAD_CAP,
  CHERI_PERM_STORE,
  CHERI_PERM_STORE_CAP,
} from './cap_perms.js';
import type { Capability } from './capability.js';
import { CC128_MAX_ADDR, CC128_NULL_PESBT, CC128_RESERVED_MASK } from './cc128.js';

const PERM_LETTERS: readonly (readonly [bit: number, letter: string])[] = [
  [CHERI_PERM_LOAD, 'r'],
  [CHERI_PERM_STORE, 'w'],
  [CHERI_PERM_EXECUTE, 'x'],
  [CHERI_PERM_LOAD_CAP, 'R'],
  [CHERI_PERM_STORE_CAP, 'W'],
];

/* strfcap's %P: 'rwxRW' for all of them, '' for none. */
export function capPermsLetters(perms: number): string {
  let letters = '';
  for (const [bit, letter] of PERM_LETTERS) if ((perms & bit) !== 0) letters += letter;
  return letters;
}

/* invalid, sentry, sealed: the attributes %#p lists. */
export function capAttributes(cap: Capability): string[] {
  const attrs: string[] = [];
  if (!cap.tag) attrs.push('invalid');
  if (cap.otype === CAP_OTYPE_SENTRY) attrs.push('sentry');
  else if (cap.otype !== CAP_OTYPE_UNSEALED) attrs.push('sealed');
  return attrs;
}

/* The capability as CheriBSD's printf("%#p") shows it. */
export function formatCapability(cap: Capability): string {
  const address = `0x${cap.cursor.toString(16)}`;
  if (!cap.tag && cap.pesbt === CC128_NULL_PESBT) return address;
  let top = cap.top;
  if (top > CC128_MAX_ADDR) top = CC128_MAX_ADDR;
  const attrs = capAttributes(cap);
  const suffix = attrs.length === 0 ? '' : ` (${attrs.join(',')})`;
  return `${address} [${capPermsLetters(cap.perms)},0x${cap.base.toString(16)}-0x${top.toString(16)}]${suffix}`;
}

/* A capability in the schema of the cc128 test vectors. */
export interface CapJson {
  tag: 0 | 1;
  pesbt: string; // raw, 16 hex digits
  addr: string; // 16 hex digits
  base: string; // 16 hex digits
  top: string; // 65 bits: 17 hex digits
  exp: number;
  bounds_valid: 0 | 1;
  perms: string; // GCPERM, e.g. "0x78fff"
  otype: number;
  flags: number;
  reserved: string; // the reserved field in place (pesbt bits 47:46), 16 hex digits
}

export function hex64(value: bigint): string {
  return `0x${value.toString(16).padStart(16, '0')}`;
}

export function hex65(value: bigint): string {
  return `0x${value.toString(16).padStart(17, '0')}`;
}

export function capToJson(cap: Capability): CapJson {
  return {
    tag: cap.tag ? 1 : 0,
    pesbt: hex64(cap.pesbt),
    addr: hex64(cap.cursor),
    base: hex64(cap.base),
    top: hex65(cap.top),
    exp: cap.exp,
    bounds_valid: cap.boundsValid ? 1 : 0,
    perms: `0x${cap.perms.toString(16)}`,
    otype: cap.otype,
    flags: cap.flags,
    reserved: hex64(cap.pesbt & CC128_RESERVED_MASK),
  };
}
