/*
 * The guest realm: the code that runs INSIDE a guest's vm context, before any guest code.
 *
 * guestRealm is never called in the host.  sandbox.ts evaluates its source text
 * (guestRealm.toString(), as a strict-mode script) in the fresh context and calls the
 * resulting context-realm function once.  So this function must not use anything from outside
 * its own body: no imports, no module-level names.
 *
 * What it does, in order:
 *   1. captures the intrinsics it needs, while they are still pristine;
 *   2. builds, in this realm, the guest's `sys` object, the 'cherisim' module namespace, the
 *      `require` the transpiled module calls, and the dispatcher the host runs entries through;
 *   3. installs Error.prepareStackTrace: stacks show guest frames only, at source positions;
 *   4. removes WebAssembly, SharedArrayBuffer, Atomics, FinalizationRegistry, WeakRef,
 *      Promise and console from the global object;
 *   5. freezes every intrinsic reachable from the global object (and the hidden ones), after
 *      turning a few prototype properties into accessors so that `this.name = …` in an Error
 *      subclass still works (the "override mistake");
 *   6. makes every global binding read-only, so that no guest can replace globalThis.Error
 *      (Node reads globalThis.Error.prepareStackTrace of the error's realm).
 *
 * The bridge: `bridge` is a HOST function.  It stays in this closure, is only ever called
 * directly (never handed to anything a guest could have touched), and only primitives go in
 * and come out.  Objects cross as wire text (see plain_data.ts, whose guest-side twin is
 * here).  A host exception is caught without binding it and replaced by a fresh error of this
 * realm: no host object ever reaches guest code.
 *
 * Bridge protocol (all strings or primitives):
 *   bridge('begin')                → '' (nothing pending) | 'l' (run the module top level)
 *                                    | 'c' + wire([entry, args]) (call an entry)
 *   bridge('p', name, ...prims)    → a sys call whose arguments are all primitives
 *   bridge('j', name, wire(args))  → a sys call with some object arguments
 *     returns a number, boolean, bigint, null or undefined as itself, or a string:
 *       's' + text         a string result
 *       'j' + wire         an object result
 *       'e' + json         the host threw: {name, message, code?, errno?}
 *       'a'                the host aborted the guest (GuestAbort)
 *
 * Dispatcher results (the completion value of the host's dispatch script):
 *   'r' + wire  returned (for the module top level: the names of the exported functions)
 *   't' + json  threw: [isObject, name, message, stack, code, errno]
 *   'x' + json  returned a value that is not plain data (same shape as 't')
 *   'm'         no such entry
 *   'a'         the host aborted the guest during the call
 */

/** What the host passes to guestRealm, as JSON text. */
export interface RealmConfig {
  /** The guest's file name: stack frames of this file are the guest's. */
  readonly filename: string;
  /** The names of the sys methods. */
  readonly api: readonly string[];
  /** Wire text of the constants the 'cherisim' module exports. */
  readonly constants: string;
  /** The guest's LineMap (see source_map.ts). */
  readonly map: readonly (readonly number[])[];
  /** The global name of the dispatcher (non-writable, non-configurable). */
  readonly dispatchName: string;
}

export type Bridge = (op: string, name?: string, ...args: unknown[]) => unknown;

export type ModuleFunction = (exports: object, require: (specifier: unknown) => unknown) => unknown;

export function guestRealm(bridge: Bridge, configText: string, moduleFn: ModuleFunction): void {
  // --- 1. Intrinsics, captured while pristine. ------------------------------------------------
  const g = globalThis as unknown as Record<PropertyKey, unknown>;
  const strict = (function (this: unknown) {
    return this === undefined;
  })();
  if (!strict) throw new Error('cherisim: the guest realm must be evaluated in strict mode');
  const { create, defineProperty, freeze, getOwnPropertyDescriptor, getPrototypeOf } = Object;
  const { apply, ownKeys } = Reflect;
  const isArray = Array.isArray;
  const parse = JSON.parse;
  const stringify = JSON.stringify;
  const StringFn = String;
  const BigIntFn = BigInt;
  const isFiniteNumber = Number.isFinite;
  const ErrorC = Error;
  const TypeErrorC = TypeError;
  const RangeErrorC = RangeError;
  const ObjectProto = Object.prototype;
  const objectToString = Object.prototype.toString;
  const errorToString = Error.prototype.toString;
  const WeakSetC = WeakSet;

  const config = parse(configText) as RealmConfig;
  const filename = config.filename;
  const map = config.map;
  const TAG = '\0';
  const MAX_DEPTH = 64;
  const MAX_ARRAY_LENGTH = 1 << 20;

  // --- 2a. Plain data, guest side (the twin of plain_data.ts). --------------------------------
  function tag(text: string): unknown {
    const o = create(null) as Record<string, unknown>;
    o[TAG] = text;
    return o;
  }
  function describe(v: unknown): string {
    if (typeof v === 'function') return 'a function';
    if (typeof v === 'symbol') return 'a symbol';
    let name = 'object';
    try {
      name = (apply(objectToString, v, []) as string).slice(8, -1);
    } catch {}
    return ('AEIOU'.includes(name[0] ?? '') ? 'an ' : 'a ') + name;
  }
  /** A fresh tree of this realm's arrays, null-prototype objects and primitives. */
  function toWire(v: unknown, where: string, depth: number): unknown {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (!isFiniteNumber(v)) return tag(`n:${StringFn(v)}`);
        return v === 0 && 1 / v < 0 ? tag('n:-0') : v;
      case 'bigint':
        return tag(`b:${StringFn(v)}`);
      case 'undefined':
        return tag('u');
      case 'object':
        if (v === null) return null;
        break;
      default:
        throw new TypeErrorC(`${where} is ${describe(v)}, which is not plain data`);
    }
    if (depth >= MAX_DEPTH)
      throw new TypeErrorC(`${where} is nested more than ${MAX_DEPTH} deep (or cyclic)`);
    // Read through descriptors only: a getter is refused, never called.  A Proxy's traps run
    // here, in this realm, and only ever see guest values.
    if (isArray(v)) {
      const len = getOwnPropertyDescriptor(v, 'length')?.value;
      if (typeof len !== 'number' || len > MAX_ARRAY_LENGTH) {
        throw new TypeErrorC(`${where} has more than ${MAX_ARRAY_LENGTH} elements`);
      }
      const out: unknown[] = [];
      for (let i = 0; i < len; i++) {
        const d = getOwnPropertyDescriptor(v, StringFn(i));
        if (d === undefined) out[i] = tag('u');
        else if (!('value' in d))
          throw new TypeErrorC(`${where}[${i}] is a getter/setter, which is not plain data`);
        else out[i] = toWire(d.value, `${where}[${i}]`, depth + 1);
      }
      return out;
    }
    const proto = getPrototypeOf(v);
    if (proto !== ObjectProto && proto !== null)
      throw new TypeErrorC(`${where} is ${describe(v)}, which is not plain data`);
    const out = create(null) as Record<string, unknown>;
    const keys = ownKeys(v as object);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (typeof key !== 'string') continue; // symbol-keyed properties are not data
      const d = getOwnPropertyDescriptor(v, key);
      if (d === undefined || !d.enumerable) continue;
      if (key === '__proto__' || key === TAG)
        throw new TypeErrorC(`${where} has the reserved key ${stringify(key)}`);
      if (!('value' in d))
        throw new TypeErrorC(`${where}.${key} is a getter/setter, which is not plain data`);
      out[key] = toWire(d.value, `${where}.${key}`, depth + 1);
    }
    return out;
  }
  function untag(text: unknown): unknown {
    if (text === 'u') return undefined;
    if (text === 'n:NaN') return NaN;
    if (text === 'n:Infinity') return Infinity;
    if (text === 'n:-Infinity') return -Infinity;
    if (text === 'n:-0') return -0;
    if (typeof text === 'string' && text.startsWith('b:')) return BigIntFn(text.slice(2));
    throw new TypeErrorC('cherisim: bad wire data');
  }
  function revive(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
      return v;
    }
    const o = v as Record<string, unknown>;
    const keys = ownKeys(o) as string[];
    if (keys.length === 1 && keys[0] === TAG) return untag(o[TAG]);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (key === '__proto__' || key === TAG) throw new TypeErrorC('cherisim: bad wire data');
      o[key] = revive(o[key]);
    }
    return o;
  }
  /** Fresh objects of this realm from wire text. */
  function fromWireText(text: string): unknown {
    const v: unknown = parse(text);
    return text.includes('\\u0000') || text.includes('"__proto__"') ? revive(v) : v;
  }

  // --- 2b. Errors. --------------------------------------------------------------------------
  /** A system call failed: the host's SysError, rebuilt in this realm. */
  class SysError extends ErrorC {
    code: string | number | undefined;
    errno: number | undefined;
    constructor(message: string, code?: unknown, errno?: unknown) {
      super(message);
      this.code = typeof code === 'string' || typeof code === 'number' ? code : undefined;
      this.errno = typeof errno === 'number' ? errno : undefined;
    }
  }
  defineProperty(SysError.prototype, 'name', { value: 'SysError', writable: true, configurable: true });

  function setHidden(o: object, key: string, value: unknown): void {
    defineProperty(o, key, { value, writable: true, enumerable: false, configurable: true });
  }
  /** A host error, as {name, message, code?, errno?} data, rebuilt in this realm. */
  function hostError(d: Record<string, unknown>): Error {
    const name = typeof d.name === 'string' ? d.name : 'Error';
    const message = typeof d.message === 'string' ? d.message : '';
    if (name === 'SysError') return new SysError(message, d.code, d.errno);
    const e =
      name === 'TypeError'
        ? new TypeErrorC(message)
        : name === 'RangeError'
          ? new RangeErrorC(message)
          : new ErrorC(message);
    if (e.name !== name) setHidden(e, 'name', name);
    if (typeof d.code === 'string' || typeof d.code === 'number') setHidden(e, 'code', d.code);
    if (typeof d.errno === 'number') setHidden(e, 'errno', d.errno);
    return e;
  }
  function internalError(what: string): Error {
    return new ErrorC(`${what}: internal error in the cherisim host bridge`);
  }
  function stoppedError(what: string): Error {
    const e = new ErrorC(
      `${what}: this thread has been stopped by the host; no further system calls are possible`,
    );
    setHidden(e, 'name', 'ThreadStopped');
    return e;
  }

  // --- 2c. The bridge, sys, require, the namespace. ------------------------------------------
  /** Call the host.  Whatever the host throws is dropped unseen. */
  function host(args: unknown[]): unknown {
    let r: unknown;
    try {
      r = apply(bridge, undefined, args);
    } catch {
      throw internalError(`sys.${StringFn(args[1])}`);
    }
    if ((typeof r === 'object' && r !== null) || typeof r === 'function' || typeof r === 'symbol') {
      throw internalError(`sys.${StringFn(args[1])}`);
    }
    return r;
  }

  let active = false; // an entry is running: sys calls are allowed
  let dead = false; // the host aborted the guest: sys calls fail at once

  function sysCall(name: string, args: unknown[]): unknown {
    const what = `sys.${name}`;
    if (dead) throw stoppedError(what);
    if (!active) throw new ErrorC(`${what}() can only be called while an entry is running`);
    let allPrimitive = true;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      const t = typeof a;
      if (t === 'object' ? a !== null : t === 'function' || t === 'symbol') {
        allPrimitive = false;
        break;
      }
    }
    let request: unknown[];
    if (allPrimitive) {
      request = ['p', name];
      for (let i = 0; i < args.length; i++) request[i + 2] = args[i];
    } else {
      const list: unknown[] = [];
      for (let i = 0; i < args.length; i++) list[i] = toWire(args[i], `${what}: argument ${i + 1}`, 0);
      request = ['j', name, stringify(list)];
    }
    const r = host(request);
    if (typeof r !== 'string') return r;
    const kind = r[0];
    if (kind === 's') return r.slice(1);
    if (kind === 'j') return fromWireText(r.slice(1));
    if (kind === 'e') throw hostError(parse(r.slice(1)) as Record<string, unknown>);
    if (kind === 'a') {
      dead = true;
      throw stoppedError(what);
    }
    throw internalError(what);
  }

  const sys = create(null) as Record<string, unknown>;
  for (let i = 0; i < config.api.length; i++) {
    const name = config.api[i]!;
    // A method: strict, named, no prototype, not a constructor.
    const fn = {
      [name](...args: unknown[]): unknown {
        return sysCall(name, args);
      },
    }[name];
    defineProperty(sys, name, { value: fn, enumerable: true });
  }

  const namespace = create(null) as Record<PropertyKey, unknown>;
  const constants = fromWireText(config.constants) as Record<string, unknown>;
  const constantNames = ownKeys(constants) as string[];
  for (let i = 0; i < constantNames.length; i++) {
    const key = constantNames[i]!;
    defineProperty(namespace, key, { value: constants[key], enumerable: true });
  }
  defineProperty(namespace, 'SysError', { value: SysError, enumerable: true });
  defineProperty(namespace, Symbol.toStringTag, { value: 'Module' });

  const requireFn = {
    require(specifier: unknown): unknown {
      if (specifier === 'cherisim') return namespace;
      const e = new ErrorC(
        `cannot import '${StringFn(specifier)}': a guest program can only import 'cherisim'`,
      );
      setHidden(e, 'code', 'ERR_GUEST_IMPORT');
      throw e;
    },
  }.require;

  const exportsObj = create(null) as Record<string, unknown>;

  // --- 2d. The dispatcher. -------------------------------------------------------------------
  function field(read: () => unknown, limit: number): string | undefined {
    try {
      const v = read();
      return v === undefined ? undefined : StringFn(v).slice(0, limit);
    } catch {
      return undefined;
    }
  }
  /** What was thrown, as JSON text of [isObject, name, message, stack, code, errno]. */
  function describeThrown(e: unknown): string {
    const isObject = (typeof e === 'object' && e !== null) || typeof e === 'function';
    let name: string | undefined;
    let message: string | undefined;
    let stack: string | undefined;
    let code: unknown;
    let errno: unknown;
    if (isObject) {
      const o = e as Record<string, unknown>;
      name = field(() => o.name, 200);
      message = field(() => o.message, 2000);
      stack = field(() => o.stack, 8000);
      try {
        const c = o.code;
        if (typeof c === 'number' || typeof c === 'string')
          code = typeof c === 'string' ? c.slice(0, 200) : c;
        const n = o.errno;
        if (typeof n === 'number') errno = n;
      } catch {}
    } else {
      name = typeof e;
      message = field(() => e, 2000);
    }
    return stringify([isObject, name ?? null, message ?? null, stack ?? null, code ?? null, errno ?? null]);
  }

  function load(): string {
    let threw = false;
    let thrown: unknown;
    try {
      apply(moduleFn, undefined, [exportsObj, requireFn]);
    } catch (e) {
      threw = true;
      thrown = e;
    }
    if (threw) return `t${describeThrown(thrown)}`;
    const names: string[] = [];
    const keys = ownKeys(exportsObj);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (typeof key !== 'string') continue;
      let v: unknown;
      try {
        v = exportsObj[key];
      } catch {
        continue;
      }
      if (typeof v === 'function') names[names.length] = key;
    }
    return `r${stringify(names)}`;
  }

  function run(request: string): string {
    const call = fromWireText(request) as [string, unknown[]];
    let fn: unknown;
    try {
      fn = exportsObj[call[0]];
    } catch {}
    if (typeof fn !== 'function') return 'm';
    const args: unknown[] = [sys];
    for (let i = 0; i < call[1].length; i++) args[i + 1] = call[1][i];
    let threw = false;
    let thrown: unknown;
    let result: unknown;
    active = true;
    try {
      result = apply(fn as (...a: unknown[]) => unknown, undefined, args);
    } catch (e) {
      threw = true;
      thrown = e;
    } finally {
      active = false;
    }
    if (dead) return 'a';
    if (threw) return `t${describeThrown(thrown)}`;
    try {
      return `r${stringify(toWire(result, 'the return value', 0))}`;
    } catch (e) {
      return `x${describeThrown(e)}`;
    }
  }

  const dispatch = {
    dispatch(): string {
      const request = host(['begin']);
      if (typeof request !== 'string' || request === '') throw new TypeErrorC('cherisim: no call is pending');
      return request === 'l' ? load() : run(request.slice(1));
    },
  }.dispatch;

  // --- 3. Stack traces: guest frames only, at source positions. ------------------------------
  function mapPosition(line: number, column: number): string {
    for (let l = line - 1; l >= 0 && l >= line - 4; l--) {
      const segs = map[l];
      if (!segs || segs.length === 0) continue;
      if (l < line - 1) return `${segs[segs.length - 2]! + 1}:${segs[segs.length - 1]! + 1}`;
      let best = 0;
      for (let i = 0; i < segs.length; i += 3) if (segs[i]! <= column - 1) best = i;
      const delta = segs[best]! <= column - 1 ? column - 1 - segs[best]! : 0;
      return `${segs[best + 1]! + 1}:${segs[best + 2]! + 1 + delta}`;
    }
    return `${line}:${column}`;
  }
  interface CallSite {
    getFileName(): unknown;
    getLineNumber(): unknown;
    getColumnNumber(): unknown;
    getFunctionName(): unknown;
  }
  const prepareStackTrace = {
    prepareStackTrace(error: unknown, sites: unknown): string {
      let out = 'Error';
      try {
        out = StringFn(apply(errorToString, error, []));
      } catch {}
      try {
        const list = sites as CallSite[];
        for (let i = 0; i < list.length; i++) {
          const site = list[i]!;
          if (site.getFileName() !== filename) continue;
          const line = site.getLineNumber();
          const column = site.getColumnNumber();
          if (typeof line !== 'number' || typeof column !== 'number') continue;
          const where = `${filename}:${mapPosition(line, column)}`;
          const fn = site.getFunctionName();
          out += typeof fn === 'string' && fn !== '' ? `\n    at ${fn} (${where})` : `\n    at ${where}`;
        }
      } catch {}
      return out;
    },
  }.prepareStackTrace;
  ErrorC.stackTraceLimit = 30;
  defineProperty(ErrorC, 'prepareStackTrace', {
    value: prepareStackTrace,
    writable: false,
    configurable: false,
  });

  // --- 4. What guests do not get. ------------------------------------------------------------
  // Hidden intrinsics, reachable from syntax rather than from the global object.
  const hidden: unknown[] = [
    getPrototypeOf(function* () {}),
    getPrototypeOf(async () => {}),
    getPrototypeOf(async function* () {}),
    getPrototypeOf([][Symbol.iterator]()),
    getPrototypeOf(new Map()[Symbol.iterator]()),
    getPrototypeOf(new Set()[Symbol.iterator]()),
    getPrototypeOf(''[Symbol.iterator]()),
    getPrototypeOf(/a/[Symbol.matchAll]('')),
    g.Promise,
  ];
  if (typeof Intl === 'object' && typeof Intl.Segmenter === 'function') {
    const segments = new Intl.Segmenter().segment('');
    hidden.push(getPrototypeOf(segments), getPrototypeOf(segments[Symbol.iterator]()));
  }
  // No shared memory, no wasm, no asynchrony, no inspector console.
  const removed = [
    'WebAssembly',
    'SharedArrayBuffer',
    'Atomics',
    'FinalizationRegistry',
    'WeakRef',
    'Promise',
    'console',
  ];
  for (let i = 0; i < removed.length; i++) {
    delete g[removed[i]!];
    if (g[removed[i]!] !== undefined) throw new ErrorC(`cherisim: cannot remove globalThis.${removed[i]}`);
  }

  // --- 5. Freeze the intrinsics. -------------------------------------------------------------
  // First, the override mistake: assigning to a property that a frozen prototype has as
  // a data property fails.  For these, an accessor defines an own property instead.
  const overridable: [object, string[]][] = [
    [ObjectProto, ['constructor', 'toString', 'toLocaleString', 'valueOf', 'hasOwnProperty']],
    [SysError.prototype, ['name']],
  ];
  const errors = [
    ErrorC,
    TypeErrorC,
    RangeErrorC,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
    AggregateError,
  ];
  for (let i = 0; i < errors.length; i++) {
    overridable.push([errors[i]!.prototype, ['constructor', 'name', 'message', 'toString']]);
  }
  for (let i = 0; i < overridable.length; i++) {
    const [obj, keys] = overridable[i]!;
    for (let j = 0; j < keys.length; j++) {
      const key = keys[j]!;
      const d = getOwnPropertyDescriptor(obj, key);
      if (d === undefined || !('value' in d) || !d.writable) continue;
      const value: unknown = d.value;
      const accessor = {
        get(): unknown {
          return value;
        },
        set(this: unknown, v: unknown): void {
          if (this === obj)
            throw new TypeErrorC(`Cannot assign to read only property '${key}' of a frozen intrinsic`);
          defineProperty(this as object, key, {
            value: v,
            writable: true,
            enumerable: true,
            configurable: true,
          });
        },
      };
      defineProperty(obj, key, {
        get: accessor.get,
        set: accessor.set,
        enumerable: d.enumerable,
        configurable: false,
      });
    }
  }
  const seen = new WeakSetC<object>();
  const todo: unknown[] = [getPrototypeOf(g), sys, namespace, SysError, requireFn, dispatch, ...hidden];
  const globalKeys = ownKeys(g);
  for (let i = 0; i < globalKeys.length; i++) {
    const d = getOwnPropertyDescriptor(g, globalKeys[i]!);
    if (d !== undefined) todo.push(d.value, d.get, d.set);
  }
  while (todo.length > 0) {
    const v = todo.pop();
    if (v === g || (typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v)) continue;
    seen.add(v);
    freeze(v);
    todo.push(getPrototypeOf(v));
    const keys = ownKeys(v);
    for (let i = 0; i < keys.length; i++) {
      const d = getOwnPropertyDescriptor(v, keys[i]!);
      if (d !== undefined) todo.push(d.value, d.get, d.set);
    }
  }

  // --- 6. Read-only global bindings, then the dispatcher. ------------------------------------
  for (let i = 0; i < globalKeys.length; i++) {
    const key = globalKeys[i]!;
    const d = getOwnPropertyDescriptor(g, key);
    if (d === undefined || !d.configurable) continue;
    // Give the value explicitly: Node's global interceptor copies the descriptor as given.
    if ('value' in d)
      defineProperty(g, key, {
        value: d.value,
        writable: false,
        enumerable: d.enumerable,
        configurable: false,
      });
    else defineProperty(g, key, { get: d.get, set: d.set, enumerable: d.enumerable, configurable: false });
  }
  defineProperty(g, config.dispatchName, {
    value: dispatch,
    writable: false,
    enumerable: false,
    configurable: false,
  });
}
