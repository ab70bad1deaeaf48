/*
 * Adversarial guests: every test is one escape attempt that must fail.
 *
 * "Escape" means getting hold of a host-realm object: through it, `.constructor.constructor`
 * is the host's Function, which compiles `return process`.  pwn() (sandbox_attack.ts) tries
 * exactly that and marks the host's process if it works, so each test checks both what the
 * guest reports and a host-side sentinel.
 *
 * Where it means something, the same attack runs against a naive sandbox
 * (sandbox_naive.ts) and must escape there: that shows the attack is real and that the
 * test can fail.
 */
import util from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { attackApi, escapedAs, escapes, PWN } from '../_support/sandbox_attack.js';
import { createSandbox, GuestError, type HostFunction, type Sandbox } from '../_support/sandbox_module.js';
import { carefulRawContext, naiveSandbox, sloppyInvoke } from '../_support/sandbox_naive.js';

const FILE = 'attack.ts';

function real(source: string, api: Record<string, HostFunction> = attackApi().api): Sandbox {
  return createSandbox({
    filename: FILE,
    source: PWN + source,
    api,
    constants: { PAGE_SIZE: 4096 },
    timeout: 5000,
  });
}

function naive(source: string, api: Record<string, HostFunction> = attackApi().api) {
  return naiveSandbox(FILE, PWN + source, api, { PAGE_SIZE: 4096 });
}

/** Runs main in both sandboxes: no escape in ours, the named escapes in the naive one. */
function bothWays(t: ExecutionContext, source: string, naiveEscapes: string[]): unknown {
  const results = real(source).call('main');
  t.deepEqual(escapes(results), [], String(results));
  const hows = (Array.isArray(results) ? results : [])
    .map((r) => /\((.*?)\)/.exec(String(r))?.[1])
    .filter((h): h is string => h !== undefined);
  for (const how of hows) t.false(escapedAs(how), how);

  naive(source).call('main');
  for (const how of naiveEscapes) t.true(escapedAs(how), `the naive sandbox should fall to ${how}`);
  for (const how of hows) escapedAs(how);
  return results;
}

test('globalThis.constructor.constructor is the guest realm Function, which cannot compile code', (t) => {
  const results = bothWays(
    t,
    `const self: any = this;
     export function main() {
       return [
         pwn((globalThis as any).constructor.constructor, 'global-ctor'),
         pwn(Object.getPrototypeOf(globalThis).constructor.constructor, 'global-proto-ctor'),
         pwn(({}).constructor.constructor, 'literal-ctor'),
         pwn(self?.constructor?.constructor, 'module-this'),
       ];
     }`,
    ['global-ctor'],
  );
  t.deepEqual(results, [
    'blocked(global-ctor): EvalError',
    'blocked(global-proto-ctor): EvalError',
    'blocked(literal-ctor): EvalError',
    'blocked(module-this): TypeError',
  ]);
});

test("a sys method's constructor chain stays in the guest realm", (t) => {
  const results = bothWays(
    t,
    `export function main(sys: any) {
       return [
         pwn(sys.getpid.constructor, 'sys-method-ctor'),
         pwn(Object.getPrototypeOf(sys.getpid).constructor, 'sys-method-proto'),
         pwn(sys.constructor?.constructor, 'sys-object-ctor'),
         pwn(Object.getPrototypeOf(sys)?.constructor?.constructor, 'sys-object-proto'),
         pwn(sys.getpid.bind(null).constructor, 'sys-method-bound'),
       ];
     }`,
    ['sys-method-ctor', 'sys-object-ctor'],
  );
  t.deepEqual(results, [
    'blocked(sys-method-ctor): EvalError',
    'blocked(sys-method-proto): EvalError',
    'blocked(sys-object-ctor): TypeError',
    'blocked(sys-object-proto): TypeError',
    'blocked(sys-method-bound): EvalError',
  ]);
});

test('objects and arrays returned by sys methods, and the cherisim namespace, are guest-realm copies', (t) => {
  const results = bothWays(
    t,
    `import * as C from 'cherisim';
     export function main(sys: any) {
       const o = sys.obj(), a = sys.list(), e = sys.echo({ x: [{}] });
       return [
         pwn(o.constructor.constructor, 'returned-object'),
         pwn(o.nested.constructor.constructor, 'returned-nested'),
         pwn(o.nested.b.constructor.constructor, 'returned-nested-array'),
         pwn(a.constructor.constructor, 'returned-array'),
         pwn(a[1].constructor.constructor, 'returned-array-element'),
         pwn(e.x[0].constructor.constructor, 'echoed-object'),
         pwn((C as any).constructor?.constructor, 'namespace'),
         pwn(Object.getPrototypeOf(o).__proto__?.constructor, 'returned-proto-chain'),
       ];
     }`,
    ['returned-object', 'returned-nested', 'returned-array', 'returned-array-element', 'namespace'],
  );
  t.is((results as string[]).filter((r) => r.startsWith('blocked')).length, 8);
});

test('errors thrown out of sys methods are guest-realm errors with no host object attached', (t) => {
  const results = bothWays(
    t,
    `export function main(sys: any) {
       const out: string[] = [];
       try { sys.fail(); } catch (e: any) {
         out.push(pwn(e.constructor.constructor, 'thrown-error'));
         out.push(pwn(Object.getPrototypeOf(Object.getPrototypeOf(e)).constructor.constructor, 'thrown-error-proto'));
         out.push(pwn(e.__proto__.__proto__.constructor.constructor, 'thrown-error-chain'));
         out.push('own keys: ' + Reflect.ownKeys(e).map(String).sort().join(','));
         out.push(pwn(e.cause?.constructor?.constructor, 'thrown-error-cause'));
       }
       try { sys.echo(Symbol('s')); } catch (e: any) { out.push(pwn(e.constructor.constructor, 'argument-error')); }
       try { sys.nosuch(); } catch (e: any) { out.push(pwn(e.constructor.constructor, 'missing-method-error')); }
       return out;
     }`,
    ['thrown-error', 'thrown-error-proto', 'thrown-error-chain'],
  );
  t.true((results as string[]).includes('own keys: code,errno,message,stack'));
});

test('Error.prepareStackTrace cannot be installed, so call sites never expose host frames', (t) => {
  // The entry runs under a sloppy-mode host frame: with a guest prepareStackTrace, its call
  // site's getFunction() would be that host function.
  const source = `export function main(sys: any) {
       const out: string[] = [];
       const OriginalError = Error;
       let seen = 0;
       const evil = (_e: any, sites: any[]) => {
         seen++;
         for (const s of sites) {
           const f = s.getFunction?.(), self = s.getThis?.();
           if (f) out.push(pwn(f.constructor, 'callsite-function'));
           if (self && self.constructor) out.push(pwn(self.constructor.constructor, 'callsite-this'));
         }
         return 'formatted';
       };
       const attempts: Record<string, () => unknown> = {
         deleteGlobal: () => delete (globalThis as any).Error,
         assign: () => { (Error as any).prepareStackTrace = evil; },
         replaceGlobal: () => { (globalThis as any).Error = { prepareStackTrace: evil }; },
         defineGlobal: () => Object.defineProperty(globalThis, 'Error', { value: { prepareStackTrace: evil } }),
         setProto: () => Object.setPrototypeOf(Error, { prepareStackTrace: evil }),
         rangeError: () => { (RangeError as any).prepareStackTrace = evil; },
         callDirectly: () => (Error as any).prepareStackTrace(new Error('x'), [{ getFileName: () => 'attack.ts', getLineNumber: () => 1, getColumnNumber: () => 1, getFunctionName: () => evil }]),
       };
       for (const [name, attempt] of Object.entries(attempts)) {
         try { attempt(); out.push(name + ': done'); } catch (e: any) { out.push(name + ': ' + e.name); }
       }
       void new OriginalError('probe').stack;
       try { (null as any).x; } catch (e: any) { void e.stack; }
       try { sys.fail(); } catch (e: any) { void e.stack; }
       const c: any = {}; OriginalError.captureStackTrace(c); void c.stack;
       out.push('seen=' + seen, 'Error unchanged: ' + (Error === OriginalError && typeof Error.prepareStackTrace === 'function'));
       return out;
     }`;
  const results = sloppyInvoke(() => real(source).call('main')) as string[];
  t.deepEqual(escapes(results), []);
  t.false(escapedAs('callsite-function'));
  t.deepEqual(results.slice(0, 7), [
    'deleteGlobal: done', // Node's global interceptor ignores it: Error stays (checked below)
    'assign: TypeError',
    'replaceGlobal: TypeError',
    'defineGlobal: TypeError',
    'setProto: TypeError',
    'rangeError: TypeError',
    'callDirectly: done',
  ]);
  t.deepEqual(results.slice(7), ['seen=0', 'Error unchanged: true']);

  naive(source).call('main');
  t.true(escapedAs('callsite-function'), 'the naive sandbox should fall to callsite-function');
});

test('error stacks show guest frames only: no host paths, no sandbox internals', (t) => {
  const source = `export function main(sys: any) {
       const stacks: string[] = [String(new Error('probe').stack)];
       try { sys.fail(); } catch (e: any) { stacks.push(String(e.stack)); }
       try { (null as any).x; } catch (e: any) { stacks.push(String(e.stack)); }
       try { sys.echo(() => 1); } catch (e: any) { stacks.push(String(e.stack)); }
       return stacks;
     }`;
  const stacks = real(source).call('main') as string[];
  t.is(stacks.length, 4);
  for (const stack of stacks) {
    const frames = stack.split('\n').slice(1);
    t.true(frames.length > 0, stack);
    for (const frame of frames) t.regex(frame, /^ {4}at (main \()?attack\.ts:\d+:\d+\)?$/);
    t.notRegex(stack, /node:|\/work\/|file:|cherisim:|sandbox|realm/);
  }
  const naiveStack = (naive(source).call('main') as string[])[0]!;
  t.regex(naiveStack, /sandbox_naive|node:/, 'the naive sandbox leaks host paths');
});

test('code generation from strings is disabled: Function, new Function, eval, indirect eval', (t) => {
  const source = `export function main() {
       const out: string[] = [];
       const attempts: (() => unknown)[] = [
         () => Function('return 1')(),
         () => new Function('return 1')(),
         () => eval('1'),
         () => (0, eval)('1'),
         () => Function.prototype.constructor('return 1')(),
         () => Reflect.construct(Function, ['return 1'])(),
         () => (function () {}).constructor('return 1')(),
       ];
       for (const attempt of attempts) {
         try { out.push('ran: ' + attempt()); } catch (e: any) { out.push(e.name); }
       }
       return out;
     }`;
  t.deepEqual(real(source).call('main'), Array(7).fill('EvalError'));
  t.deepEqual(naive(source).call('main'), Array(7).fill('ran: 1'), 'the naive sandbox compiles code');
});

test('generator function constructors cannot compile code, and async functions are refused outright', (t) => {
  const source = `export function main() {
       const out: string[] = [];
       const GeneratorFunction: any = (function* () {}).constructor;
       for (const make of [() => GeneratorFunction('yield 1'), () => new GeneratorFunction('return process')]) {
         try { make(); out.push('compiled'); } catch (e: any) { out.push(e.name); }
       }
       out.push(pwn(GeneratorFunction, 'generator-ctor'));
       return out;
     }`;
  t.deepEqual(real(source).call('main'), ['EvalError', 'EvalError', 'blocked(generator-ctor): EvalError']);
  t.deepEqual((naive(source).call('main') as string[]).slice(0, 2), ['compiled', 'compiled']);

  // The async function and async generator constructors need async syntax to reach at all.
  for (const expr of ['(async () => {}).constructor', '(async function* () {}).constructor']) {
    t.throws(() => real(`export function main() { return pwn(${expr}, 'async-ctor'); }`), {
      instanceOf: GuestError,
      code: 'ERR_GUEST_ASYNC',
    });
  }
  t.false(escapedAs('async-ctor'));
});

test('dynamic import() is refused before the guest runs, in every spelling', (t) => {
  const spellings = [
    ["export function main() { import('node:fs'); }", 'attack.ts'],
    ["export function main() { import /* hidden */ ('node:fs'); }", 'attack.ts'],
    ["export function main() { const m = 'node:' + 'fs'; import(m); }", 'attack.ts'],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: guest source text
    ['export class C { m() { return import(`node:${"fs"}`); } }', 'attack.ts'],
    ["export function main() { return import('node:fs').then((fs) => fs); }", 'attack.js'],
    ['export function main() { return import.meta.url; }', 'attack.mjs'],
  ] as const;
  for (const [source, filename] of spellings) {
    const e = t.throws(() => createSandbox({ filename, source, api: {} }), { instanceOf: GuestError });
    t.is(e?.code, 'ERR_GUEST_IMPORT', source);
    const where = `${filename}:1:${source.indexOf('import') + 1}: `;
    t.true(e?.message.startsWith(where), `${e?.message} should start with ${where}`);
    t.regex(e?.message ?? '', /(dynamic import\(\)|import\.meta) is not available to guest programs/);
  }

  // Why: even a careful context (null-prototype global, no code generation) hands the guest a
  // HOST-realm error when import() rejects.
  carefulRawContext(`
    import('node:fs').catch((e) => {
      try { e.constructor.constructor('return process')().__cherisimEscape_raw_import = true; } catch {}
    });`);
  return new Promise<void>((resolve) => {
    setImmediate(() => {
      t.true(escapedAs('raw_import'), 'a raw import() rejection is a host-realm error');
      resolve();
    });
  });
});

test("require and static imports reach nothing but 'cherisim'", (t) => {
  const source = `export function main() {
       const out: string[] = [];
       for (const spec of ['fs', 'node:fs', 'node:worker_threads', 'node:vm', 'child_process', '@cherisim/kernel']) {
         try { (require as any)(spec); out.push('got ' + spec); } catch (e: any) { out.push(e.code + ': ' + e.message); }
       }
       out.push(pwn((require as any).constructor, 'require-ctor'));
       out.push(['process', 'module', '__dirname', 'Buffer', 'global'].map((n) => n + ':' + typeof (globalThis as any)[n]).join(' '));
       return out;
     }`;
  const results = real(source).call('main') as string[];
  t.is(results[0], "ERR_GUEST_IMPORT: cannot import 'fs': a guest program can only import 'cherisim'");
  t.is(
    results[2],
    "ERR_GUEST_IMPORT: cannot import 'node:worker_threads': a guest program can only import 'cherisim'",
  );
  t.true(results.slice(0, 6).every((r) => r.startsWith('ERR_GUEST_IMPORT')));
  t.is(results[6], 'blocked(require-ctor): EvalError');
  t.is(
    results[7],
    'process:undefined module:undefined __dirname:undefined Buffer:undefined global:undefined',
  );
  t.false(escapedAs('require-ctor'));

  naive(source).call('main');
  t.true(escapedAs('require-ctor'), 'the naive sandbox hands out the host require');

  for (const [source2, pos] of [
    ["import fs from 'fs';", '1:16'],
    ["import * as w from 'node:worker_threads';", '1:20'],
    ["export * from 'node:fs';", '1:15'],
    ["import fs = require('fs');", '1:21'],
  ] as const) {
    const e = t.throws(() => createSandbox({ filename: 'imp.ts', source: source2, api: {} }), {
      code: 'ERR_GUEST_IMPORT',
    });
    t.true(e?.message.startsWith(`imp.ts:${pos}: cannot import`), e?.message);
  }
  // Type-only imports are erased: they never run, so they may name any module.
  const typed = createSandbox({
    filename: 'types.ts',
    source:
      "import type { Stats } from 'node:fs';\nexport function main(s: unknown): Stats | null { return null; }",
    api: {},
  });
  t.is(typed.call('main'), null);
});

test('no host global or host SharedArrayBuffer is reachable; WebAssembly, Atomics, Promise are gone', (t) => {
  const hostSab = new SharedArrayBuffer(8);
  const g = globalThis as unknown as Record<string, unknown>;
  g.__cherisimHostSab = hostSab;
  try {
    const source = `export function main(sys: any) {
         const names = ['process', 'Buffer', 'require', 'SharedArrayBuffer', 'Atomics', 'WebAssembly', 'console',
           'queueMicrotask', 'setTimeout', 'setImmediate', 'structuredClone', 'fetch', 'Promise',
           'FinalizationRegistry', 'WeakRef', '__cherisimHostSab'];
         const out = [names.filter((n) => (globalThis as any)[n] !== undefined).join(',') || 'none visible'];
         // Walk everything reachable from the global object, sys, a sys result and the namespace.
         const seen = new Set<unknown>();
         const todo: unknown[] = [globalThis, sys, sys.obj(), require('cherisim')];
         let shared = 0;
         const asyncThings: string[] = [];
         while (todo.length > 0) {
           const v: any = todo.pop();
           if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) continue;
           seen.add(v);
           const kind = Object.prototype.toString.call(v);
           if (kind === '[object SharedArrayBuffer]') shared++;
           if (/Promise|Async/.test(kind) || (typeof v === 'function' && /^(Promise|AsyncFunction)$/.test(v.name))) asyncThings.push(kind);
           todo.push(Object.getPrototypeOf(v));
           for (const k of Reflect.ownKeys(v)) {
             const d: any = Object.getOwnPropertyDescriptor(v, k);
             if (d) todo.push(d.value, d.get, d.set);
           }
         }
         out.push('shared buffers: ' + shared, 'promises: ' + asyncThings.length, 'walked: ' + (seen.size > 500));
         // The naive way in: the host's Function, then the host's global.
         try {
           const sab = sys.getpid.constructor('return globalThis.__cherisimHostSab')();
           new Int32Array(sab)[0] = 42;
           out.push('ESCAPED(host-sab)');
         } catch (e: any) { out.push('host sab: ' + e.name); }
         return out;
       }`;
    t.deepEqual(real(source).call('main'), [
      'none visible',
      'shared buffers: 0',
      'promises: 0',
      'walked: true',
      'host sab: EvalError',
    ]);
    t.is(new Int32Array(hostSab)[0], 0);

    naive(source).call('main');
    t.is(new Int32Array(hostSab)[0], 42, "the naive sandbox reaches the host's buffer");
  } finally {
    delete g.__cherisimHostSab;
  }
});

test('prototype pollution fails in the guest and reaches neither the host nor a second sandbox', (t) => {
  const source = `export function main(sys: any) {
       const attempts: Record<string, () => unknown> = {
         objectProto: () => { (Object.prototype as any).polluted = 1; },
         arrayPush: () => { Array.prototype.push = (() => 0) as any; },
         getter: () => Object.defineProperty(Object.prototype, 'pollutedGetter', { get: () => 1 }),
         functionProto: () => { (Function.prototype as any).polluted = 1; },
         errorProto: () => { (Error.prototype as any).polluted = 1; },
         stringProto: () => { (String.prototype as any).polluted = 1; },
         jsonParse: () => { (JSON as any).parse = () => 1; },
         setProtoOfProto: () => Object.setPrototypeOf(Array.prototype, { polluted: 1 }),
         sysResultProto: () => { Object.getPrototypeOf(sys.obj()).polluted = 1; },
         sysProto: () => { Object.getPrototypeOf(sys).polluted = 1; },
         sysMethod: () => { sys.getpid = () => 0; },
         namespace: () => { (require('cherisim') as any).PAGE_SIZE = 1; },
       };
       return Object.entries(attempts).map(([name, attempt]) => {
         try { attempt(); return name + ': done'; } catch (e: any) { return name + ': ' + e.name; }
       });
     }
     export function check() {
       return [({} as any).polluted, ({} as any).pollutedGetter, [].push.length, Object.getPrototypeOf(Array.prototype) === Object.prototype];
     }`;
  const sb = real(source);
  const results = sb.call('main') as string[];
  t.true(
    results.every((r) => r.endsWith(': TypeError')),
    results.join('\n'),
  );
  t.deepEqual(sb.call('check'), [undefined, undefined, 1, true]);
  t.deepEqual(real(source).call('check'), [undefined, undefined, 1, true], 'a second sandbox is clean');
  const host = {} as Record<string, unknown>;
  t.is(host.polluted, undefined);
  t.is(host.pollutedGetter, undefined);
  t.is([].push.length, 1);

  // The naive sandbox's sys is a host object: its prototype is the host's Object.prototype.
  const proto = Object.prototype as unknown as Record<string, unknown>;
  try {
    naive(source).call('main');
    t.is(
      ({} as Record<string, unknown>).polluted,
      1,
      "the naive sandbox pollutes the host's Object.prototype",
    );
  } finally {
    delete proto.polluted;
  }
});

test('getters and Proxies passed to sys methods never run in host code and never see host objects', (t) => {
  const { api, calls } = attackApi();
  const source = `export function main(sys: any) {
       const out: string[] = [];
       let getterRan = 0;
       try { sys.echo({ get x() { getterRan++; return 1; } }); out.push('getter accepted'); }
       catch (e: any) { out.push(e.name + ': ' + e.message); }
       try { const a: any[] = [1]; Object.defineProperty(a, 1, { get() { getterRan++; return 2; }, enumerable: true }); sys.echo(a); out.push('array getter accepted'); }
       catch (e: any) { out.push(e.name + ': ' + e.message); }
       const trapArgs: unknown[] = [];
       const handler: ProxyHandler<any> = {};
       for (const trap of ['get', 'set', 'has', 'ownKeys', 'getOwnPropertyDescriptor', 'defineProperty', 'getPrototypeOf', 'deleteProperty']) {
         (handler as any)[trap] = (...args: unknown[]) => { trapArgs.push(...args); return (Reflect as any)[trap](...args); };
       }
       const p = new Proxy({ a: 1, inner: { b: [2] } }, handler);
       out.push('fill returned ' + sys.fill(p));
       out.push('proxy array: ' + JSON.stringify(sys.echo(new Proxy([1, 2], handler))));
       for (const v of trapArgs.slice()) {
         if (v !== null && (typeof v === 'object' || typeof v === 'function')) {
           const r = pwn((v as any).constructor?.constructor, 'trap-arg');
           if (!out.includes(r)) out.push(r);
         }
       }
       out.push('getterRan=' + getterRan, 'target untouched: ' + !('out' in p));
       return out;
     }`;
  const results = createSandbox({ filename: FILE, source: PWN + source, api, timeout: 5000 }).call(
    'main',
  ) as string[];
  t.deepEqual(results, [
    'TypeError: sys.echo: argument 1.x is a getter/setter, which is not plain data',
    'TypeError: sys.echo: argument 1[1] is a getter/setter, which is not plain data',
    'fill returned true',
    'proxy array: [1,2]',
    'blocked(trap-arg): EvalError',
    'getterRan=0',
    'target untouched: true',
  ]);
  t.deepEqual(calls, ['fill', 'echo'], 'the refused calls never reached the host');
  t.false(escapedAs('trap-arg'));

  naive(source).call('main');
  t.true(escapedAs('trap-arg'), "the naive host writes its own object into the guest's Proxy");
});

test('caller chains stop at the guest: arguments.callee, Function.prototype.caller, callbacks', (t) => {
  const source = `export function main(sys: any) {
       const out: string[] = [];
       const probe = (how: string, read: () => any) => {
         try { const v = read(); out.push(v == null ? how + ': null' : pwn(v.constructor, how)); }
         catch (e: any) { out.push(how + ': ' + e.name); }
       };
       probe('entry-caller', () => (main as any).caller);
       probe('sys-caller', () => (sys.getpid as any).caller);
       probe('callee-caller', () => { function inner() { return (arguments as any).callee.caller; } return inner(); });
       probe('caller-accessor', () => Object.getOwnPropertyDescriptor(Function.prototype, 'caller')!.get!.call(main));
       probe('arguments-caller', () => (main as any).arguments);
       try {
         sys.each(function callback() { out.push(pwn((callback as any).caller.constructor, 'callback-caller')); });
       } catch (e: any) { out.push('callback: ' + e.name + ': ' + e.message); }
       return out;
     }`;
  const results = real(source, { ...attackApi().api, each: () => 0 }).call('main');
  t.deepEqual(results, [
    'entry-caller: TypeError',
    'sys-caller: TypeError',
    'callee-caller: TypeError',
    'caller-accessor: TypeError',
    'arguments-caller: TypeError',
    'callback: TypeError: sys.each: argument 1 is a function, which is not plain data',
  ]);
  t.false(escapedAs('entry-caller'));
  t.false(escapedAs('callback-caller'));

  naiveSandbox(FILE, PWN + source, {
    ...attackApi().api,
    each: (cb: () => unknown) => sloppyInvoke(cb),
  }).call('main');
  t.true(escapedAs('entry-caller'), 'the naive sandbox calls entries from a sloppy host function');
  t.true(escapedAs('callback-caller'), 'the naive sandbox calls guest callbacks from a sloppy host function');
});

test('returned values cannot carry Symbol.species or util.inspect.custom hooks into the host', (t) => {
  const source = `const captured: unknown[] = [];
     export function main() {
       const Species: any = function () {
         return new Proxy([], { defineProperty(t, k, d) { captured.push(d.value); return Reflect.defineProperty(t, k, d); } });
       };
       const arr: any = [1, 2, 3];
       Object.defineProperty(arr, 'constructor', { value: { [Symbol.species]: Species }, enumerable: false });
       let speciesGlobal = 'changed';
       try { Object.defineProperty(Array, Symbol.species, { get: () => Species }); } catch (e: any) { speciesGlobal = e.name; }
       const o: any = { plain: 1 };
       o[Symbol.for('nodejs.util.inspect.custom')] = (_depth: unknown, opts: unknown, inspect: unknown) => {
         captured.push(inspect, opts);
         return 'hooked';
       };
       return { arr, o, speciesGlobal };
     }
     export function check() {
       return captured.filter((v) => v !== null && (typeof v === 'object' || typeof v === 'function'))
         .map((v: any, i) => pwn(typeof v === 'function' ? v.constructor : v.constructor?.constructor, 'hook-' + i));
     }`;
  const sb = real(source);
  const out = sb.call('main') as { arr: number[]; o: object; speciesGlobal: string };
  t.is(out.speciesGlobal, 'TypeError');
  t.is(out.arr.constructor, Array);
  t.deepEqual(
    out.arr.map((x) => ({ x })),
    [{ x: 1 }, { x: 2 }, { x: 3 }],
  );
  t.is(util.inspect(out.o), '{ plain: 1 }');
  t.deepEqual(sb.call('check'), []);

  const nv = naive(source);
  const raw = nv.call('main') as { arr: number[]; o: object };
  raw.arr.map((x) => ({ x }));
  t.is(util.inspect(raw.o), 'hooked');
  const hooked = nv.call('check') as string[];
  t.true(escapes(hooked).length > 0, hooked.join('\n'));
  for (const r of hooked) escapedAs(/\((.*?)\)/.exec(r)![1]!);
});

test('__proto__ keys and foreign prototypes on returned objects never reach host prototypes', (t) => {
  const source = `let toStringRan = false;
     export function main(sys: unknown, which: string) {
       if (which === 'own-proto-key') return JSON.parse('{"__proto__": {"polluted": true}, "a": 1}');
       if (which === 'set-proto') {
         const o = { a: 1 };
         Object.setPrototypeOf(o, { polluted: true, toString() { toStringRan = true; return 'x'; } });
         return o;
       }
       if (which === 'nested') return { list: [Object.create({ polluted: true })] };
       const o = Object.create(null);
       o.a = 1;
       return o;
     }
     export function ran() { return toStringRan; }`;
  const sb = real(source);
  t.regex(
    t.throws(() => sb.call('main', ['own-proto-key']), { code: 'ERR_GUEST_RETURN' })?.message ?? '',
    /reserved key "__proto__"/,
  );
  t.regex(
    t.throws(() => sb.call('main', ['set-proto']), { code: 'ERR_GUEST_RETURN' })?.message ?? '',
    /is a Object, which is not plain data|is an Object, which is not plain data/,
  );
  t.throws(() => sb.call('main', ['nested']), { code: 'ERR_GUEST_RETURN' });
  const ok = sb.call('main', ['null-proto']) as Record<string, unknown>;
  t.deepEqual(ok, { a: 1 });
  t.is(Object.getPrototypeOf(ok), Object.prototype);
  t.is(String(ok), '[object Object]');
  t.false(sb.call('ran'));
  t.is(({} as Record<string, unknown>).polluted, undefined);

  const nv = naive(source);
  const raw = nv.call('main', ['set-proto']) as Record<string, unknown>;
  t.true(raw.polluted === true && String(raw) === 'x', 'the naive host runs guest code on String()');
  t.true(nv.call('ran'));
});

test('WebAssembly is not available, so no wasm code can be compiled', (t) => {
  const source = `export function main() {
       const out: string[] = ['WebAssembly: ' + typeof (globalThis as any).WebAssembly];
       const empty = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
       try { new (globalThis as any).WebAssembly.Module(empty); out.push('compiled'); } catch (e: any) { out.push(e.name); }
       try { Reflect.ownKeys(globalThis).filter((k) => String(k).includes('Assembly')).forEach((k) => out.push('found ' + String(k))); } catch {}
       return out;
     }`;
  t.deepEqual(real(source).call('main'), ['WebAssembly: undefined', 'TypeError']);
  t.deepEqual(naive(source).call('main'), ['WebAssembly: object', 'compiled', 'found WebAssembly']);
});

test('exhausting the stack around a sys call never hands the guest a host-realm error', (t) => {
  const source = `export function main(sys: any) {
       const out: string[] = [];
       let caught = 0;
       const check = (e: any, how: string) => {
         caught++;
         if (e && typeof e === 'object' && e.constructor && e.constructor.constructor !== Function) {
           out.push(pwn(e.constructor.constructor, how));
         }
       };
       function dive(n: number): void {
         try { dive(n + 1); } catch (e) {
           check(e, 'overflow');
           try { sys.getpid(); } catch (e2) { check(e2, 'overflow-prim'); }
           try { sys.echo({ a: [1, { b: 2 }] }); } catch (e3) { check(e3, 'overflow-json'); }
           try { sys.fail(); } catch (e4) { check(e4, 'overflow-fail'); }
         }
       }
       dive(0);
       out.push('caught some: ' + (caught > 0));
       return out;
     }
     export function after(sys: any) { return sys.getpid(); }`;
  const sb = real(source);
  t.deepEqual(sb.call('main'), ['caught some: true']);
  for (const how of ['overflow', 'overflow-prim', 'overflow-json', 'overflow-fail']) t.false(escapedAs(how));
  t.is(sb.call('after'), 42, 'the sandbox still works');
});

test('the dispatcher global cannot be called, replaced, or used to reach the host', (t) => {
  const { api, calls } = attackApi();
  const source = `export function main() {
       const out: string[] = [];
       const names = Object.getOwnPropertyNames(globalThis).filter((n) => n.startsWith('__cherisim'));
       out.push(names.join(','));
       for (const n of names) {
         const d = (globalThis as any)[n];
         try { d(); out.push('called'); } catch (e: any) { out.push(e.name + ': ' + e.message); }
         out.push(pwn(d.constructor, 'dispatcher'));
         try { (globalThis as any)[n] = () => 'mine'; out.push('replaced'); } catch (e: any) { out.push(e.name); }
         try { delete (globalThis as any)[n]; } catch (e: any) { out.push('delete: ' + e.name); }
       }
       return out;
     }`;
  const sb = createSandbox({ filename: FILE, source: PWN + source, api });
  const results = sb.call('main');
  t.deepEqual(sb.call('main'), results, 'the sandbox still dispatches');
  t.deepEqual(results, [
    '__cherisimDispatch',
    'TypeError: cherisim: no call is pending',
    'blocked(dispatcher): EvalError',
    'TypeError',
  ]);
  t.deepEqual(calls, []);
  t.false(escapedAs('dispatcher'));
});
