/*
 * Plain data: the only values that cross between a guest's vm context and the host.
 *
 * A guest never receives a host object and the host never touches a guest object: values
 * cross the bridge as primitives, or as a JSON text of the "wire" form below.  Each side
 * rebuilds fresh objects of its own realm from that text.
 *
 * Wire form: ordinary JSON, except for values JSON cannot carry.  Those become an object with
 * the single key "\0" whose value is a tag string:
 *
 *	undefined		{"\0": "u"}
 *	NaN, ±Infinity, -0	{"\0": "n:NaN"}, {"\0": "n:Infinity"}, {"\0": "n:-Infinity"}, {"\0": "n:-0"}
 *	bigint			{"\0": "b:123"}
 *
 * Arrays keep their elements only (holes become undefined).  Plain objects (prototype
 * Object.prototype or null) keep their own enumerable string-keyed data properties.  Anything
 * else (functions, symbols, getters, class instances, Maps, keys "__proto__" and "\0", cycles)
 * is refused with a TypeError that names where it was found.
 *
 * The guest-side twin of this code lives in realm.ts (it must be self-contained there).
 */

/** A primitive that crosses the bridge as itself. */
export type Primitive = null | undefined | boolean | number | bigint | string;

/** A value that can cross between a guest and the host, by copy. */
export type PlainData = Primitive | PlainData[] | { [key: string]: PlainData };

/** The key of a tagged wire object. */
const TAG = '\0';
/** Deeper than this is refused (it is also how cycles are caught). */
export const MAX_DEPTH = 64;
/** Longer arrays are refused. */
export const MAX_ARRAY_LENGTH = 1 << 20;

type Wire = null | boolean | number | string | Wire[] | { [key: string]: Wire };

function tag(text: string): Wire {
  const o: { [key: string]: Wire } = Object.create(null);
  o[TAG] = text;
  return o;
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  const name = Object.prototype.toString.call(v).slice(8, -1);
  return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
}

/** Convert host plain data to its wire form; `where` names the value in error messages. */
export function toWire(v: unknown, where: string, depth = 0): Wire {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) && !Object.is(v, -0) ? v : tag(Object.is(v, -0) ? 'n:-0' : `n:${v}`);
    case 'bigint':
      return tag(`b:${v}`);
    case 'undefined':
      return tag('u');
    case 'object':
      if (v === null) return null;
      break;
    default:
      throw new TypeError(`${where} is ${describe(v)}, which is not plain data`);
  }
  if (depth >= MAX_DEPTH) throw new TypeError(`${where} is nested more than ${MAX_DEPTH} deep (or cyclic)`);
  if (Array.isArray(v)) {
    if (v.length > MAX_ARRAY_LENGTH)
      throw new TypeError(`${where} has more than ${MAX_ARRAY_LENGTH} elements`);
    const out: Wire[] = [];
    for (let i = 0; i < v.length; i++) {
      const d = Object.getOwnPropertyDescriptor(v, i);
      if (d === undefined) out.push(tag('u'));
      else if (!('value' in d))
        throw new TypeError(`${where}[${i}] is a getter/setter, which is not plain data`);
      else out.push(toWire(d.value, `${where}[${i}]`, depth + 1));
    }
    return out;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) {
    throw new TypeError(`${where} is ${describe(v)}, which is not plain data`);
  }
  const out: { [key: string]: Wire } = Object.create(null);
  for (const key of Object.keys(v)) {
    const d = Object.getOwnPropertyDescriptor(v, key)!;
    if (key === '__proto__' || key === TAG)
      throw new TypeError(`${where} has the reserved key ${JSON.stringify(key)}`);
    if (!('value' in d)) throw new TypeError(`${where}.${key} is a getter/setter, which is not plain data`);
    out[key] = toWire(d.value, `${where}.${key}`, depth + 1);
  }
  return out;
}

function untag(text: unknown): PlainData {
  if (text === 'u') return undefined;
  if (typeof text === 'string' && text.startsWith('n:')) {
    const n = text === 'n:-0' ? -0 : Number(text.slice(2));
    if (!Number.isNaN(n) || text === 'n:NaN') return n;
  }
  if (typeof text === 'string' && /^b:-?\d+$/.test(text)) return BigInt(text.slice(2));
  throw new TypeError(`bad wire tag ${JSON.stringify(text)}`);
}

function revive(v: unknown): PlainData {
  if (typeof v !== 'object' || v === null) return v as PlainData;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v as PlainData[];
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 1 && keys[0] === TAG) return untag(o[TAG]);
  const out: { [key: string]: PlainData } = {};
  for (const key of keys) {
    if (key === '__proto__' || key === TAG)
      throw new TypeError(`wire data has the reserved key ${JSON.stringify(key)}`);
    out[key] = revive(o[key]);
  }
  return out;
}

/** Rebuild host plain data from a wire text. */
export function fromWireText(text: string): PlainData {
  const parsed: unknown = JSON.parse(text);
  // Tags and the reserved keys can only appear if the text contains these.
  return text.includes('\\u0000') || text.includes('"__proto__"') ? revive(parsed) : (parsed as PlainData);
}

/** The wire text of host plain data. */
export function toWireText(v: unknown, where: string): string {
  return JSON.stringify(toWire(v, where));
}
