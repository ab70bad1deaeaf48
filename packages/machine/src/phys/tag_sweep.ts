/*
 * The machine-level revocation sweep (CheriBSD vm_cheri_revoke_page_rw / vm_do_cheri_revoke,
 * CHERIvoke's sweep): for each frame, walk its 8 tag words (the tag plane: "CLoadTags for
 * free"), skip zero words, and for each set bit that is a real capability (its witness
 * matches, as granuleTagged) whose BASE the caller's shadow says is painted (R40), rewrite it
 * in place as revoked (R42).  The cost follows the number of tag bits, not the size of
 * memory: the data words of a granule whose tag bit is clear are never read.
 *
 * Revoked forms (R42; CheriBSD cheri_revoke_cap): CheriBSD's default keeps the tag and makes
 * the value unsealed with no permissions (bounds, cursor and flags unchanged, so it still
 * decodes to the same bounds); kernel option CHERI_CAPREVOKE_CLEARTAGS clears the tag and
 * leaves the bytes.  Here the tagged form is written when the frames are exclusive to the
 * sweep (`worldStopped`, unless `clearTags`), the untagged form otherwise: with mutators
 * running only a tag clear can be made exact (see "Concurrency" below).  In memory form an
 * unsealed otype is all zeros (the XOR mask is NULL's encoding), so the tagged form only
 * clears bits: w0 &= 0x07ffffff (otype 4:0), w1 &= 0x0000e000 (permissions, otype 17:5;
 * reserved and flags are kept).
 *
 * Per set bit, cheapest test first (CheriBSD's order: perms == 0 first, then the shadow):
 *   1. its words look revoked (unsealed, perms 0): capsFoundRevoked, nothing to do.  (CheriBSD
 *      skips any perms-0 capability; a SEALED perms-0 one is not revoked by R42's definition
 *      and is revoked here like any other: cheri_revoke_cap would unseal it.)
 *   2. the base of its words (cc128_base.ts) is not painted: capsFound, nothing to do.
 *   3. painted: check the witness of the words read (same read order as granuleLoadCap: bit,
 *      words, witness).  Mismatch: a stale bit, not a capability (staleBits).  Match:
 *      capsFound, and revoke it (capsCleared).
 * Steps 1-2 do not check the witness: they change nothing, and the check (a 4-word hash)
 * would double the sweep's cost at high densities.  So by default a stale bit whose bytes
 * look revoked or unpainted is counted as a capability (CheriBSD's sweep does the same:
 * "Even though it might actually be un-tagged ... don't bother testing"), and marks the frame
 * HASCAPS.  `verifyAll` checks every bit first: exact counts, and with `worldStopped` every
 * stale bit met is cleared.
 *
 * Concurrency and the revoked form.  A sweep runs either with mutators possibly running on
 * the swept frames (the default: Cornucopia's concurrent pass, Reloaded's background sweep
 * and fault visits, several sweepers at once), or with the frames EXCLUSIVE to the caller
 * (`worldStopped`).  Reads are plain loads either way: a stale or torn read only misses a
 * capability whose granule a store made during the sweep is rewriting, which this pass is
 * not responsible for (the capability-dirty bit and the next pass are).
 *
 * With mutators running, the revocation must be CONDITIONAL (revoke C only if the granule
 * still holds C) and must never write over what a mutator stored after our read.
 * granuleStoreCap is neither: it loops until its own value is in place, so a capability or
 * data stored between our read and our rewrite would be lost (tests/machine/tag_sweep.test.ts
 * catches exactly that).  Nor can CheriBSD's default form be made conditional here: it
 * rewrites data words (w1, and w0 if sealed), and a compare-and-swap of a data word cannot
 * tell "the word is still C's" from "a data store has just written a value equal to C's"
 * (data stores are plain writes: they clear the tag with one Atomics.and, then write; a
 * CAS that lands between the two turns the mutator's word into the revoked one).  The
 * concurrency test caught that too, with a mutator storing a capability's own bytes as data.
 * So with mutators running the sweep REVOKES BY CLEARING THE TAG, whatever `clearTags` says
 * (the CHERI_CAPREVOKE_CLEARTAGS form, which R42's check_revoked accepts), and writes no
 * data word at all (rewriteClearTag):
 *
 *   a. CAS the WITNESS from w(C) to ~w(C).  The witness names the capability a granule holds:
 *      every completed capability store of another value D leaves w(D) there, and data
 *      stores never write it.  If the CAS fails, a capability store got there first:
 *      nothing was written.  From here on the granule reads as mismatched ("not a
 *      capability"), like a store in flight.
 *   b. Atomics.and the tag bit off, remembering whether it was set.
 *   c. If the witness still reads ~w(C): revoked, if it was we who cleared the bit (else a
 *      data store had cleared it first: the granule is data, nothing to do).  The
 *      linearisation point is (a): the granule held C then, and every mutator store after
 *      it lands as it was written.
 *   d. Otherwise a capability store D wrote its witness after (a): if (b) cleared a bit, it
 *      may have been D's (D completed between (a) and (b)): Atomics.or it back.  Then read
 *      the granule again; if it holds a painted capability again, try again
 *      (REVOKE_ATTEMPTS in all, then give up and report the frame DIRTY, as CheriBSD does
 *      when its LL/SC meets an unexpected capability); if it holds data, a revoked or an
 *      unpainted capability, there is nothing left to do.
 * Mutators need no change, and no interleaving loses a mutator's store or forges a tag: an
 * or-back over data that a data store wrote after (b) leaves a stale bit (the witness names
 * D, not the data).  One transient window remains: a store D that completes between (a) and
 * (b) is untagged until (d) gives its bit back (nanoseconds, unless this thread is
 * descheduled right there; a cap load meanwhile sees D untagged, never anything forged).
 *
 * `worldStopped: true`: the caller guarantees that no other thread stores into, or sweeps,
 * these frames for the whole call: every thread of EVERY address space that maps any of them
 * writable is parked at a safepoint (thread_single), or the frames are write-protected in
 * every pmap that maps them with the TLBs shot down and no store in flight; and no kernel
 * path (copyout, COW copy, page zeroing, another sweeper) writes them.  Then the rewrite is
 * plain stores of CheriBSD's default form, tag kept (words, then the witness; with
 * `clearTags`, an Atomics.and of the tag bit, as tag words are shared by 32 granules), and
 * the stale bits met are cleared.  Clearing a stale bit is NOT safe with mutators running:
 * a set bit with a mismatching witness may be a capability store in flight whose
 * Atomics.or and verify are still to come, and a clear landing after its verify untags a
 * completed store; so the default leaves stale bits alone (harmless: the next data store
 * to the granule, or a world-stopped sweep, clears them).
 */
import { cc128BaseFromMemWords } from '../cap/cc128_base.js';
import { GRANULES_PER_PAGE } from '../param.js';
import { capWitness } from './granule.js';
import { PhysAddressError, type PhysMem } from './physmem.js';

const TAG_WORDS_PER_PAGE = GRANULES_PER_PAGE / 32; /* 8 */

/* Memory-form bits a revoked capability keeps (see above); everything else in w0/w1 is 0. */
export const CAP_REVOKED_W0_KEEP = 0x07ffffff;
export const CAP_REVOKED_W1_KEEP = 0x0000e000;
/* The bits that must be zero for a tagged capability to be revoked: perms 0 and otype unsealed. */
const W0_LIVE = 0xf8000000 | 0;
const W1_LIVE = 0xffff1fff | 0;

/*
 * Capabilities carrying the VMEM software permission are never revoked: they are the
 * address-space-management capabilities mmap hands out (malloc strips VMEM from what it
 * returns, and cheribsdtest strips it from the capabilities it expects to be revoked).
 * GCPERM bit 16 (SW1) is pesbt bit 125: bit 29 of memory word 1 (the XOR mask leaves it).
 */
export const W1_SW_VMEM = 1 << 29;
export function capHasVmem(w1: number): boolean {
  return (w1 & W1_SW_VMEM) !== 0;
}

/** Per-frame flags returned by sweepFrames, as CheriBSD's VM_CHERI_REVOKE_PAGE_*. */
export const SWEEP_PAGE_HASCAPS = 1; /* a live (unrevoked) capability remains in the frame(s) */
export const SWEEP_PAGE_DIRTY = 2; /* a rewrite lost its race: the frame needs another pass */

/* Attempts revokeGranule makes before reporting the frame DIRTY. */
export const REVOKE_ATTEMPTS = 4;

export interface SweepOptions {
  /**
   * Revoke by clearing the tag (CHERI_CAPREVOKE_CLEARTAGS).  Without it the revoked form is
   * CheriBSD's default (tag kept, unsealed, no permissions) when `worldStopped`; a sweep with
   * mutators possibly running clears the tag either way (see above: only that is exact).
   */
  readonly clearTags?: boolean;
  /** Check every set bit's witness, not only those of painted-looking granules: exact counts. */
  readonly verifyAll?: boolean;
  /**
   * The caller guarantees that no other thread stores into or sweeps the frames during the
   * call (see above): rewrite with plain stores, tag kept unless `clearTags`, and clear the
   * stale bits met.
   */
  readonly worldStopped?: boolean;
}

/** Counters, added to by every sweep (CheriBSD struct cheri_revoke_stats names where they exist). */
export interface SweepStats {
  pagesScan: number /* frames visited */;
  tagWordsScan: number /* tag words read: 8 per frame */;
  linesScan: number /* non-zero tag words ("lines" of 32 granules, 512 bytes) */;
  tagBits: number /* set tag bits met: tagged granules seen, stale or not */;
  capsFound: number /* capabilities not yet revoked (painted or not) */;
  capsFoundRevoked: number /* capabilities already revoked when met */;
  capsCleared: number /* capabilities this sweep revoked */;
  staleBits: number /* set bits whose witness did not match: not capabilities */;
  staleBitsCleared: number /* of those, cleared (worldStopped only) */;
  rewriteRetries: number /* painted granules read again: changed between read and rewrite (a race) */;
  racesLost: number /* painted capabilities left unrevoked after REVOKE_ATTEMPTS: frame reported DIRTY */;
}

export function newSweepStats(): SweepStats {
  return {
    pagesScan: 0,
    tagWordsScan: 0,
    linesScan: 0,
    tagBits: 0,
    capsFound: 0,
    capsFoundRevoked: 0,
    capsCleared: 0,
    staleBits: 0,
    staleBitsCleared: 0,
    rewriteRetries: 0,
    racesLost: 0,
  };
}

/**
 * R42's check_revoked (CheriBSD cheribsdtest): revoked iff the tag is clear, or the value is
 * unsealed with no permissions.  w0, w1: the pesbt's memory words (the cursor does not matter).
 */
export function capIsRevoked(tagged: boolean | number, w0: number, w1: number): boolean {
  return !tagged || ((w0 & W0_LIVE) === 0 && (w1 & W1_LIVE) === 0);
}

/**
 * Sweep `frames` (physical frame numbers, any order; a duplicate is swept twice, harmlessly)
 * and revoke in place every capability whose base `painted` accepts.  `painted(base)` gets
 * the base as cc128DecodeBaseMem computes it (exact below 2^53, rounded down above; user VAs
 * are below 2^48), so it must answer false for anything outside its shadow's range; it must
 * not store into the frames.  Adds to `stats`; returns the OR of SWEEP_PAGE_* over the frames
 * (sweep one frame to get its own flags).  Throws PhysAddressError, before sweeping anything,
 * if a frame is outside memory; if `painted` throws, the exception propagates and `stats`
 * misses this call.  Not reentrant: `painted` must not sweep.
 */
export function sweepFrames(
  phys: PhysMem,
  frames: ArrayLike<number>,
  painted: (base: number) => boolean,
  opts: SweepOptions,
  stats: SweepStats,
): number {
  const mem = phys.u32;
  const tags = phys.tags;
  const nframes = phys.nframes;
  const n = frames.length;
  for (let f = 0; f < n; f++) {
    const pfn = frames[f];
    if (!(pfn >>> 0 === pfn && pfn < nframes))
      throw new PhysAddressError(`frame ${pfn} is outside memory (${nframes} frames)`);
  }
  counts.fill(0);
  mode =
    (opts.clearTags === true ? MODE_CLEAR_TAGS : 0) | (opts.worldStopped === true ? MODE_WORLD_STOPPED : 0);
  let lines = 0;
  let bits = 0;
  let revoked = 0; /* looked revoked (not verified) */
  let unpainted = 0; /* looked live and unpainted (not verified) */
  if (opts.verifyAll === true) {
    for (let f = 0; f < n; f++) {
      const firstWord = frames[f] * TAG_WORDS_PER_PAGE;
      for (let w = firstWord; w < firstWord + TAG_WORDS_PER_PAGE; w++) {
        let t = tags[w];
        if (t === 0) continue;
        lines++;
        do {
          const low = t & -t;
          t ^= low;
          bits++;
          visitVerified(phys, w * 32 + (31 - Math.clz32(low)), painted);
        } while (t !== 0);
      }
    }
  } else {
    /* The hot loop: everything inline but the rare painted case. */
    for (let f = 0; f < n; f++) {
      const firstWord = frames[f] * TAG_WORDS_PER_PAGE;
      for (let w = firstWord; w < firstWord + TAG_WORDS_PER_PAGE; w++) {
        let t = tags[w];
        if (t === 0) continue;
        lines++;
        do {
          const low = t & -t; /* lowest set bit first: addresses ascend */
          t ^= low;
          bits++;
          const g = w * 32 + (31 - Math.clz32(low));
          const i = g * 4;
          const w0 = mem[i];
          const w1 = mem[i + 1];
          if ((w0 & W0_LIVE) === 0 && (w1 & W1_LIVE) === 0) {
            revoked++;
            continue;
          }
          const w2 = mem[i + 2];
          const w3 = mem[i + 3];
          if ((w1 & W1_SW_VMEM) !== 0 || !painted(cc128BaseFromMemWords(w0, w2, w3))) {
            unpainted++;
            continue;
          }
          seen[0] = w0;
          seen[1] = w1;
          seen[2] = w2;
          seen[3] = w3;
          visitPainted(phys, g, painted);
        } while (t !== 0);
      }
    }
  }
  stats.pagesScan += n;
  stats.tagWordsScan += n * TAG_WORDS_PER_PAGE;
  stats.linesScan += lines;
  stats.tagBits += bits;
  stats.capsFound += unpainted + counts[C_FOUND];
  stats.capsFoundRevoked += revoked + counts[C_FOUND_REVOKED];
  stats.capsCleared += counts[C_CLEARED];
  stats.staleBits += counts[C_STALE];
  stats.staleBitsCleared += counts[C_STALE_CLEARED];
  stats.rewriteRetries += counts[C_RETRIES];
  stats.racesLost += counts[C_LOST];
  return (
    (unpainted > 0 || counts[C_LIVE] > 0 || counts[C_LOST] > 0 ? SWEEP_PAGE_HASCAPS : 0) |
    (counts[C_LOST] > 0 ? SWEEP_PAGE_DIRTY : 0)
  );
}

/*
 * The out-of-line part keeps its state in module typed arrays, so that calls pass only small
 * integers and objects (V8 boxes a number outside ±2^30 passed to a call it does not inline).
 */
const C_FOUND = 0;
const C_FOUND_REVOKED = 1;
const C_CLEARED = 2;
const C_STALE = 3;
const C_STALE_CLEARED = 4;
const C_RETRIES = 5;
const C_LOST = 6;
const C_LIVE = 7; /* live capabilities left in place (found again on a retry): HASCAPS */
const counts = new Float64Array(8);
/* The granule as last read: w0..w3, then its witness. */
const seen = new Uint32Array(5);
const MODE_CLEAR_TAGS = 1;
const MODE_WORLD_STOPPED = 2;
let mode = 0;

/* A stale bit met: count it, and clear it if the world is stopped. */
function staleBit(tags: Int32Array, g: number): void {
  counts[C_STALE]++;
  if ((mode & MODE_WORLD_STOPPED) !== 0) {
    Atomics.and(tags, g >>> 5, ~(1 << (g & 31)));
    counts[C_STALE_CLEARED]++;
  }
}

/* The hot loop read seen[0..3] at g and found a painted base: check the witness, revoke. */
function visitPainted(phys: PhysMem, g: number, painted: (base: number) => boolean): void {
  const wt = phys.witness[g];
  if (capWitness(seen[0], seen[1], seen[2], seen[3]) !== wt) {
    const mem = phys.u32;
    const i = g * 4;
    if (mem[i] === seen[0] && mem[i + 1] === seen[1] && mem[i + 2] === seen[2] && mem[i + 3] === seen[3])
      staleBit(phys.tags, g);
    else {
      /* The granule changed since the hot loop read it: read it again and decide. */
      counts[C_RETRIES]++;
      visitVerified(phys, g, painted);
    }
    return;
  }
  seen[4] = wt;
  counts[C_FOUND]++;
  revokeGranule(phys, g, painted);
}

/* verifyAll: read g, check the witness, then classify and revoke as the hot loop does. */
function visitVerified(phys: PhysMem, g: number, painted: (base: number) => boolean): void {
  const mem = phys.u32;
  const i = g * 4;
  const w0 = mem[i];
  const w1 = mem[i + 1];
  const w2 = mem[i + 2];
  const w3 = mem[i + 3];
  const wt = phys.witness[g];
  if (capWitness(w0, w1, w2, w3) !== wt) {
    staleBit(phys.tags, g);
    return;
  }
  if ((w0 & W0_LIVE) === 0 && (w1 & W1_LIVE) === 0) {
    counts[C_FOUND_REVOKED]++;
    return;
  }
  counts[C_FOUND]++;
  if ((w1 & W1_SW_VMEM) !== 0 || !painted(cc128BaseFromMemWords(w0, w2, w3))) {
    counts[C_LIVE]++;
    return;
  }
  seen[0] = w0;
  seen[1] = w1;
  seen[2] = w2;
  seen[3] = w3;
  seen[4] = wt;
  revokeGranule(phys, g, painted);
}

/* Revoke g, which held seen[] (a painted, unrevoked capability, witness checked): see above. */
function revokeGranule(phys: PhysMem, g: number, painted: (base: number) => boolean): void {
  const { u32: mem, tags, witness } = phys;
  const word = g >>> 5;
  const bit = 1 << (g & 31);
  if ((mode & MODE_WORLD_STOPPED) !== 0) {
    /* Nothing else writes these frames: plain stores, words before the witness. */
    if ((mode & MODE_CLEAR_TAGS) !== 0) Atomics.and(tags, word, ~bit);
    else {
      const n0 = (seen[0] & CAP_REVOKED_W0_KEEP) >>> 0;
      const n1 = (seen[1] & CAP_REVOKED_W1_KEEP) >>> 0;
      mem[g * 4] = n0;
      mem[g * 4 + 1] = n1;
      witness[g] = capWitness(n0, n1, seen[2], seen[3]);
    }
    counts[C_CLEARED]++;
    return;
  }
  for (let attempt = 1; ; attempt++) {
    if (rewriteClearTag(tags, witness, g)) {
      counts[C_CLEARED]++;
      return;
    }
    counts[C_RETRIES]++;
    /* Re-read until the granule holds a checked value again, then decide again. */
    for (;;) {
      if ((Atomics.load(tags, word) & bit) === 0) return; /* data now (and a fence between tries) */
      if (attempt++ >= REVOKE_ATTEMPTS) {
        counts[C_LOST]++;
        return;
      }
      const i = g * 4;
      const r0 = mem[i];
      const r1 = mem[i + 1];
      const r2 = mem[i + 2];
      const r3 = mem[i + 3];
      const rt = witness[g];
      if (capWitness(r0, r1, r2, r3) !== rt) continue; /* a store in flight */
      if ((r0 & W0_LIVE) === 0 && (r1 & W1_LIVE) === 0) return; /* someone revoked it */
      if ((r1 & W1_SW_VMEM) !== 0 || !painted(cc128BaseFromMemWords(r0, r2, r3))) {
        counts[C_LIVE]++; /* replaced by an unpainted (or VMEM) capability */
        return;
      }
      seen[4] = rt;
      break;
    }
  }
}

/* Revoke the capability whose witness is seen[4] at g by clearing its tag: (a)-(d) above.  True if we did. */
function rewriteClearTag(tags: Int32Array, witness: Uint32Array, g: number): boolean {
  const wt = seen[4];
  const nt = ~wt >>> 0; /* anything but wt: the granule reads as mismatched until the bit is off */
  if (Atomics.compareExchange(witness, g, wt, nt) !== wt) return false;
  const word = g >>> 5;
  const bit = 1 << (g & 31);
  const had = Atomics.and(tags, word, ~bit) & bit;
  if (witness[g] === nt) return had !== 0; /* had === 0: a data store untagged it first */
  /* A capability store wrote its witness after our CAS: give it back the tag if we took it. */
  if (had !== 0) Atomics.or(tags, word, bit);
  return false;
}
