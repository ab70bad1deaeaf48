/*
 * The revocation epoch rule (cheribsd-semantics.md R43): an object enqueued in quarantine at
 * epoch `then` may leave it once `clears(now, then)`: a complete revocation epoch has passed
 * over it.  Even = no epoch open, odd = one open; so an object enqueued at an even epoch E
 * clears at E+2, one enqueued while an epoch was open (odd E) at E+3.
 */
export function clears(now: bigint, then: bigint): boolean {
  return now >= then + (then & 1n) + 2n;
}
