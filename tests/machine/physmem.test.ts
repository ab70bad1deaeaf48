import {
  CAP_GRANULE,
  GRANULES_PER_PAGE,
  granuleLoadCap,
  granuleStoreCap,
  granuleTagged,
  PAGE_SIZE,
  PhysAddressError,
  PhysMem,
} from '@cherisim/machine';
import test from 'ava';

const small = () => new PhysMem({ bytes: 16 * PAGE_SIZE });
const storeCapAt = (pm: PhysMem, pa: number, w: [number, number, number, number]) =>
  granuleStoreCap(pm.u32, pm.tags, pm.witness, pa / CAP_GRANULE, ...w);

test('the tag plane has one bit per 16-byte granule in its own buffer', (t) => {
  const pm = small();
  t.is(pm.shared().tags.byteLength * 8, pm.bytes / CAP_GRANULE);
  t.not(pm.shared().tags, pm.shared().data);
  t.is(pm.nframes, 16);
});

test('a capability store sets the tag and a load returns the same words tagged', (t) => {
  const pm = small();
  storeCapAt(pm, 0x1010, [1, 2, 3, 4]);
  const out = new Uint32Array(4);
  t.is(granuleLoadCap(pm.u32, pm.tags, pm.witness, 0x1010 / CAP_GRANULE, out), 1);
  t.deepEqual([...out], [1, 2, 3, 4]);
  t.true(pm.isTagged(0x1010));
  t.true(pm.isTagged(0x101f));
  t.false(pm.isTagged(0x1000));
  t.false(pm.isTagged(0x1020));
});

for (const width of [1, 2, 4, 8, 16]) {
  test(`a ${width}-byte data store into a granule clears its tag and only its tag`, (t) => {
    const pm = small();
    storeCapAt(pm, 0x2000, [5, 6, 7, 8]);
    storeCapAt(pm, 0x2010, [9, 10, 11, 12]);
    pm.writeBytes(0x2000 + 16 - width, new Uint8Array(width).fill(0xaa));
    t.false(pm.isTagged(0x2000));
    t.true(pm.isTagged(0x2010));
  });
}

test('a data store spanning two granules clears both tags', (t) => {
  const pm = small();
  storeCapAt(pm, 0x3000, [1, 1, 1, 1]);
  storeCapAt(pm, 0x3010, [2, 2, 2, 2]);
  pm.writeBytes(0x300c, new Uint8Array(8));
  t.false(pm.isTagged(0x3000));
  t.false(pm.isTagged(0x3010));
});

test('readBytes returns the bytes of a stored capability without any tag (R9)', (t) => {
  const pm = small();
  storeCapAt(pm, 0x4000, [0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00]);
  const bytes = pm.readBytes(0x4000, 16);
  t.is(bytes[0], 0x44);
  t.is(bytes[15], 0xdd);
  t.true(pm.isTagged(0x4000), 'reading does not disturb the tag');
  pm.writeBytes(0x4000, bytes);
  t.false(pm.isTagged(0x4000), 'writing the same bytes back is a data store: untagged');
  t.deepEqual([...pm.readBytes(0x4000, 16)], [...bytes]);
});

test('a plain data write racing past the protocol leaves a stale bit that reads as untagged', (t) => {
  const pm = small();
  storeCapAt(pm, 0x5000, [1, 2, 3, 4]);
  pm.u32[0x5000 / 4 + 1] = 99; // as a racing data store that saw the bit clear would
  t.false(pm.isTagged(0x5000));
  const out = new Uint32Array(4);
  t.is(granuleLoadCap(pm.u32, pm.tags, pm.witness, 0x5000 / CAP_GRANULE, out), 0);
  t.is(out[1], 99);
  t.false(granuleTagged(pm.u32, pm.tags, pm.witness, 0x5000 / CAP_GRANULE));
});

test('copyFrame copies data and tags; zeroFrame clears both', (t) => {
  const pm = small();
  storeCapAt(pm, 2 * PAGE_SIZE + 0x40, [1, 2, 3, 4]);
  pm.writeBytes(2 * PAGE_SIZE + 0x100, new Uint8Array([7, 8, 9]));
  pm.copyFrame(5, 2);
  t.true(pm.isTagged(5 * PAGE_SIZE + 0x40));
  t.deepEqual([...pm.readBytes(5 * PAGE_SIZE + 0x100, 3)], [7, 8, 9]);
  t.is(pm.frameTagCount(5), 1);
  pm.zeroFrame(5);
  t.is(pm.frameTagCount(5), 0);
  t.deepEqual([...pm.readBytes(5 * PAGE_SIZE + 0x40, 16)], new Array(16).fill(0));
  t.is(pm.frameTagCount(2), 1, 'the source frame is untouched');
});

test('frameTagCount counts every valid capability of a full page', (t) => {
  const pm = small();
  for (let g = 0; g < GRANULES_PER_PAGE; g += 3)
    storeCapAt(pm, 3 * PAGE_SIZE + g * 16, [g, g + 1, g + 2, g + 3]);
  t.is(pm.frameTagCount(3), Math.ceil(GRANULES_PER_PAGE / 3));
});

test('another thread attaches the same buffers', (t) => {
  const pm = small();
  storeCapAt(pm, 0x1000, [1, 2, 3, 4]);
  const other = new PhysMem({ shared: pm.shared() });
  t.true(other.isTagged(0x1000));
  t.is(other.bytes, pm.bytes);
});

test('bad sizes and out-of-range physical addresses give a typed error', (t) => {
  t.throws(() => new PhysMem({ bytes: 1000 }), { instanceOf: PhysAddressError });
  t.throws(() => new PhysMem({ bytes: -PAGE_SIZE }), { instanceOf: PhysAddressError });
  const pm = small();
  t.throws(() => pm.readBytes(pm.bytes - 4, 8), { instanceOf: PhysAddressError });
  t.throws(() => pm.writeBytes(-1, new Uint8Array(1)), { instanceOf: PhysAddressError });
  t.throws(() => pm.isTagged(pm.bytes), { instanceOf: PhysAddressError });
  t.throws(() => pm.copyFrame(16, 0), { instanceOf: PhysAddressError });
  t.throws(() => pm.zeroFrame(1.5), { instanceOf: PhysAddressError });
});
