/*
 * Capability-granule atomicity: how a 16-byte capability and its tag bit move as one.
 *
 * A granule's data lives in the data SAB (four u32 words), its tag in the tag plane (one bit
 * in a u32 word shared with 31 neighbours) and a 32-bit *witness* (a hash of the four words
 * written by the last capability store) in the witness SAB.  A granule holds a capability iff
 * its tag bit is set AND its witness matches its words.  That predicate is the only
 * definition of "tagged"; every reader (cap loads, the sweep, copies, counters) uses it.
 *
 * Why a witness: Atomics calls are builtin calls in Node 20 (~20 ns, never inlined) and a
 * data store must stay a plain typed-array write to be within a small factor of raw memory.
 * So plain data stores cannot take a lock.  Instead:
 *   cap store:   write words, write witness, Atomics.or the tag (a full fence), then re-read
 *                words, witness and tag bit; if anything changed, a racing store interfered:
 *                write again.  When it returns, the granule held exactly this capability.
 *   data store:  if the tag bit is set, Atomics.and it off FIRST, then write the bytes; if it
 *                is clear, just write.  A racing cap store can still set the bit over the new
 *                data bytes, but then the witness no longer matches: the granule reads as data.
 *   cap load:    read the bit, the words and the witness (no Atomics); tagged iff bit and
 *                witness match.  A mismatch with the bit set means a cap store is in flight
 *                or a racing data store won: retry a bounded number of times, then report
 *                the value untagged.  No interleaving can make a load return a tagged value
 *                whose words came from two stores (a torn value fails the witness, up to a
 *                2^-32 hash collision) nor a tag on bytes a data store wrote.
 * Stale bits (bit set, witness mismatch) are harmless and are cleared by the next data store
 * to the granule, or by whoever has the world stopped (the revoker, frame zero/copy).
 */

/* Spins a cap load makes before deciding that a mismatching granule holds data. */
export const CAP_LOAD_RETRIES = 64;

/* murmur3-style mix of the four words; seeded so that an all-zero granule has witness != 0. */
export function capWitness(w0: number, w1: number, w2: number, w3: number): number {
  let h = 0x9747b28c;
  h = mix(h, w0);
  h = mix(h, w1);
  h = mix(h, w2);
  h = mix(h, w3);
  h ^= 16;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function mix(h: number, w: number): number {
  let k = Math.imul(w, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Is granule `g` a valid capability right now (bit set and witness matching)? */
export function granuleTagged(mem: Uint32Array, tags: Int32Array, witness: Uint32Array, g: number): boolean {
  if ((tags[g >>> 5] & (1 << (g & 31))) === 0) return false;
  const i = g << 2;
  return capWitness(mem[i], mem[i + 1], mem[i + 2], mem[i + 3]) === witness[g];
}

/**
 * Tagged capability store of four memory words into granule `g` (see the protocol above).
 * `midStore`, for stress tests only, runs between the second and third word writes: it
 * stretches the window in which a racing reader can see a half-written granule (as a writer
 * descheduled mid-store would), in the spirit of rseq's delay-injection points.
 */
export function granuleStoreCap(
  mem: Uint32Array,
  tags: Int32Array,
  witness: Uint32Array,
  g: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  midStore?: () => void,
): void {
  const i = g << 2;
  const word = g >>> 5;
  const bit = 1 << (g & 31);
  const h = capWitness(w0, w1, w2, w3);
  for (;;) {
    mem[i] = w0;
    mem[i + 1] = w1;
    if (midStore !== undefined) midStore();
    mem[i + 2] = w2;
    mem[i + 3] = w3;
    witness[g] = h;
    Atomics.or(tags, word, bit);
    if (
      mem[i] === w0 &&
      mem[i + 1] === w1 &&
      mem[i + 2] === w2 &&
      mem[i + 3] === w3 &&
      witness[g] === h &&
      (tags[word] & bit) !== 0
    )
      return;
  }
}

/** Before a data store into granule `g`: drop its tag if it has one (Atomics only then). */
export function granuleClearTagForData(tags: Int32Array, g: number): void {
  const word = g >>> 5;
  const bit = 1 << (g & 31);
  if ((tags[word] & bit) !== 0) Atomics.and(tags, word, ~bit);
}

/*
 * Capability load of granule `g` into out[0..3] (memory words); returns 1 if tagged, else 0.
 * Allocation-free; no Atomics unless it has to retry.
 */
export function granuleLoadCap(
  mem: Uint32Array,
  tags: Int32Array,
  witness: Uint32Array,
  g: number,
  out: Uint32Array,
): number {
  const i = g << 2;
  const word = g >>> 5;
  const bit = 1 << (g & 31);
  for (let tries = 0; ; tries++) {
    const tagged = tags[word] & bit;
    const w0 = mem[i];
    const w1 = mem[i + 1];
    const w2 = mem[i + 2];
    const w3 = mem[i + 3];
    out[0] = w0;
    out[1] = w1;
    out[2] = w2;
    out[3] = w3;
    if (tagged === 0) return 0;
    if (capWitness(w0, w1, w2, w3) === witness[g]) return 1;
    if (tries >= CAP_LOAD_RETRIES) return 0;
    // A fence between attempts, so that the next reads cannot be served from this attempt.
    Atomics.load(tags, word);
  }
}
