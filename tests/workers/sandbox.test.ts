/*
 * The guest sandbox: compiling TypeScript and JavaScript guests, running their entries with a
 * `sys` API, passing plain data both ways, and one clear line for every user mistake.
 */
import test from 'ava';
import {
  compileGuest,
  createSandbox,
  GuestAbort,
  GuestError,
  type HostFunction,
  type PlainData,
} from '../_support/sandbox_module.js';

const CONSTANTS = { PAGE_SIZE: 4096, O_RDWR: 2, SHM_ANON: 'SHM_ANON', BIG: 2n ** 63n };

function sandbox(filename: string, source: string, api: Record<string, HostFunction> = {}, timeout?: number) {
  return createSandbox({ filename, source, api, constants: CONSTANTS, ...(timeout ? { timeout } : {}) });
}

test('a TypeScript guest compiles, its types are erased, and its entries are listed', (t) => {
  const sb = sandbox(
    'prog.ts',
    `import { PAGE_SIZE, type Sys } from 'cherisim';
     interface Pair { a: number; b: number }
     export function main(sys: Sys, p: Pair): number { return p.a * p.b + PAGE_SIZE; }
     export const child = (sys: Sys, { fd }: { fd: number }): string => 'fd=' + fd;
     export const notAnEntry = 7;`,
  );
  t.deepEqual(sb.entries, ['child', 'main']);
  t.is(sb.call('main', [{ a: 6, b: 7 }]), 42 + 4096);
  t.is(sb.call('child', [{ fd: 3 }]), 'fd=3');
});

test('a JavaScript guest (.js and .mjs) runs the same way', (t) => {
  for (const filename of ['prog.js', 'prog.mjs']) {
    const sb = sandbox(
      filename,
      `import { O_RDWR } from 'cherisim';
       export function main(sys, x) { return [x, O_RDWR]; }`,
    );
    t.deepEqual(sb.call('main', ['hi']), ['hi', 2], filename);
  }
});

test("the 'cherisim' module yields the host's constants, frozen, plus SysError", (t) => {
  const sb = sandbox(
    'consts.ts',
    `import * as C from 'cherisim';
     import { PAGE_SIZE, SHM_ANON, BIG, SysError } from 'cherisim';
     export function main() {
       let frozen = false;
       try { (C as any).PAGE_SIZE = 1; } catch { frozen = true; }
       return { PAGE_SIZE, SHM_ANON, BIG, frozen, keys: Object.keys(C).sort(), sysError: typeof SysError };
     }`,
  );
  t.deepEqual(sb.call('main'), {
    PAGE_SIZE: 4096,
    SHM_ANON: 'SHM_ANON',
    BIG: 2n ** 63n,
    frozen: true,
    keys: ['BIG', 'O_RDWR', 'PAGE_SIZE', 'SHM_ANON', 'SysError'],
    sysError: 'function',
  });
});

test('sys methods forward to the api with plain data both ways, as fresh copies', (t) => {
  const seen: unknown[] = [];
  const sb = sandbox(
    'sys.ts',
    `export function main(sys: any) {
       const arg = { list: [1, 'two', null, undefined, NaN, -0, Infinity, 5n], nested: { deep: { ok: true } } };
       const back = sys.keep(arg);
       arg.list[0] = 99;                        // the host holds a copy
       return { sum: sys.add(2, 3), text: sys.hello('guest'), back, same: back === arg, none: sys.nothing() };
     }`,
    {
      add: (a: number, b: number) => a + b,
      hello: (who: string) => `hello ${who}`,
      keep: (v: PlainData) => {
        seen.push(v);
        return v;
      },
      nothing: () => undefined,
    },
  );
  const out = sb.call('main') as Record<string, PlainData>;
  const list = [1, 'two', null, undefined, Number.NaN, -0, Number.POSITIVE_INFINITY, 5n];
  t.deepEqual(out, {
    sum: 5,
    text: 'hello guest',
    back: { list, nested: { deep: { ok: true } } },
    same: false,
    none: undefined,
  });
  t.true(Object.is((out.back as { list: number[] }).list[5], -0));
  t.deepEqual(seen, [{ list, nested: { deep: { ok: true } } }]);
  t.is(Object.getPrototypeOf(seen[0]), Object.prototype);
});

test('entry arguments and return values cross by copy, including bigint and undefined', (t) => {
  const sb = sandbox('args.ts', 'export function main(sys: unknown, ...args: unknown[]) { return args; }');
  const args: PlainData[] = [1, 'a', true, null, undefined, 2n ** 64n, [1, [2, [3]]], { k: { v: -0 } }];
  const back = sb.call('main', args);
  t.deepEqual(back, args);
  t.not(back, args);
});

test('host errors reach the guest as SysError with code and errno, in the guest realm', (t) => {
  const sb = sandbox(
    'errors.ts',
    `import { SysError } from 'cherisim';
     export function main(sys: any) {
       try { sys.mmap(0, 4096); } catch (e: any) {
         return [e instanceof SysError, e instanceof Error, e.name, e.message, e.code, e.errno, String(e.stack).split('\\n')[1]];
       }
     }`,
    {
      mmap: () => {
        throw Object.assign(new Error('mmap: EINVAL (bad length)'), {
          name: 'SysError',
          code: 'EINVAL',
          errno: 22,
        });
      },
    },
  );
  t.deepEqual(sb.call('main'), [
    true,
    true,
    'SysError',
    'mmap: EINVAL (bad length)',
    'EINVAL',
    22,
    '    at main (errors.ts:3:18)',
  ]);
});

test('calling a missing entry names it and lists the exported functions', (t) => {
  const sb = sandbox(
    'entries.ts',
    'export function main() {}\nexport function child() {}\nexport const x = 1;',
  );
  const e = t.throws(() => sb.call('chld'), { instanceOf: GuestError });
  t.is(e.code, 'ERR_GUEST_ENTRY');
  t.is(e.message, 'entries.ts: no entry named "chld" (exported functions: child, main)');
  t.throws(() => sb.call('x'), { code: 'ERR_GUEST_ENTRY' });
});

test('a syntax error is one line with file:line:column', (t) => {
  const e = t.throws(() => sandbox('bad.ts', 'export function main() {\n  const x = ;\n}\n'), {
    instanceOf: GuestError,
  });
  t.is(e.code, 'ERR_GUEST_SYNTAX');
  t.is(e.message, 'bad.ts:2:13: syntax error: Expression expected.');
  t.is(e.stack, `GuestError: ${e.message}`);
  t.is(e.message.split('\n').length, 1);
});

test('a syntax error only V8 detects is mapped back to the TypeScript source', (t) => {
  // TypeScript's parser accepts the duplicate declaration; V8 refuses it.
  const source =
    'import { PAGE_SIZE } from "cherisim";\ntype T = number;\nexport function main(): T {\n  let a = 1;\n  let a = 2;\n  return PAGE_SIZE;\n}\n';
  const e = t.throws(() => sandbox('dup.ts', source), { instanceOf: GuestError });
  t.is(e.code, 'ERR_GUEST_SYNTAX');
  t.regex(e.message, /^dup\.ts:5:7: syntax error: Identifier 'a' has already been declared$/);
});

test('a JavaScript guest with TypeScript syntax is a syntax error', (t) => {
  const e = t.throws(() => sandbox('types.js', 'export function main(x: number) { return x; }'), {
    code: 'ERR_GUEST_SYNTAX',
  });
  t.is(e?.message, 'types.js:1:25: syntax error: Type annotations can only be used in TypeScript files.');
});

test('importing anything but cherisim is refused at compile time, with its position', (t) => {
  const e = t.throws(
    () => sandbox('imp.ts', "import { readFileSync } from 'node:fs';\nexport function main() {}"),
    {
      code: 'ERR_GUEST_IMPORT',
    },
  );
  t.is(e?.message, "imp.ts:1:30: cannot import 'node:fs': a guest program can only import 'cherisim'");
});

test('a guest that throws surfaces as one GuestError line, with guest frames only', (t) => {
  const sb = sandbox(
    'throws.ts',
    `function helper(n: number): never {
       throw new RangeError('bad n: ' + n);
     }
     export function main(sys: unknown, n: number) { return helper(n); }
     export function str() { throw 'just a string'; }`,
  );
  const e = t.throws(() => sb.call('main', [7]), { instanceOf: GuestError });
  t.is(e.code, 'ERR_GUEST_THROW');
  t.is(e.message, 'throws.ts:2:14: main threw RangeError: bad n: 7');
  t.deepEqual(e.thrown, { name: 'RangeError', message: 'bad n: 7' });
  t.is(e.stack, `GuestError: ${e.message}\n    at helper (throws.ts:2:14)\n    at main (throws.ts:4:61)`);
  t.is(t.throws(() => sb.call('str'))?.message, 'throws.ts: str threw "just a string"');
  // The sandbox still works after a guest throw.
  t.throws(() => sb.call('main', [8]), { message: /bad n: 8/ });
});

test('a guest that throws at module top level fails createSandbox', (t) => {
  const e = t.throws(
    () => sandbox('top.ts', "const x = 1;\nthrow new Error('no ' + x);\nexport function main() {}"),
    {
      instanceOf: GuestError,
    },
  );
  t.is(e.message, 'top.ts:2:7: the module top level threw Error: no 1');
});

test('a return value that is not plain data is refused with a clear line', (t) => {
  const sb = sandbox(
    'ret.ts',
    `export function fn() { return { f() {} }; }
     export function map() { return new Map(); }
     export function getter() { return { get x() { return 1; } }; }`,
  );
  t.is(
    t.throws(() => sb.call('fn'), { code: 'ERR_GUEST_RETURN' })?.message,
    'ret.ts: fn returned a value that cannot cross to the host: the return value.f is a function, which is not plain data',
  );
  t.regex(
    t.throws(() => sb.call('map'))?.message ?? '',
    /the return value is a Map, which is not plain data$/,
  );
  t.regex(t.throws(() => sb.call('getter'))?.message ?? '', /the return value\.x is a getter\/setter/);
});

test('an argument that is not plain data is refused before the guest runs', (t) => {
  const sb = sandbox('arg.ts', 'export function main() { return 1; }');
  const e = t.throws(() => sb.call('main', [{ f: (() => 1) as unknown as PlainData }]), {
    code: 'ERR_GUEST_ARGUMENT',
  });
  t.is(e?.message, 'arg.ts: main: argument 1.f is a function, which is not plain data');
});

test('a sys argument that is not plain data is a TypeError inside the guest', (t) => {
  let called = false;
  const sb = sandbox(
    'sysarg.ts',
    `export function main(sys: any) {
       try { sys.take(1, { cb() {} }); } catch (e: any) { return e.name + ': ' + e.message; }
     }`,
    {
      take: () => {
        called = true;
      },
    },
  );
  t.is(sb.call('main'), 'TypeError: sys.take: argument 2.cb is a function, which is not plain data');
  t.false(called);
});

test('async functions and await are refused: guests run synchronously', (t) => {
  for (const [source, pos] of [
    ['export async function main() {}', '1:8'],
    ['export function main() { const f = async () => 1; }', '1:36'],
    ['const x = await 1;\nexport function main() {}', '1:11'],
    ['export const o = { async m() {} };', '1:20'],
  ] as const) {
    const e = t.throws(() => sandbox('async.ts', source), { code: 'ERR_GUEST_ASYNC' });
    t.true(e?.message.startsWith(`async.ts:${pos}: `), e?.message);
  }
});

test('a bad file name is refused', (t) => {
  t.throws(() => compileGuest('prog.py', 'x = 1'), {
    code: 'ERR_GUEST_SOURCE',
    message: 'prog.py: a guest program must be a .ts, .mts, .js or .mjs file',
  });
});

test('one compiled guest can start several sandboxes, each with its own state (fork)', (t) => {
  const compiled = compileGuest('fork.ts', 'let n = 0;\nexport function bump() { return ++n; }');
  t.deepEqual(JSON.parse(JSON.stringify(compiled)), compiled); // plain data: can be posted to a worker
  const a = createSandbox({ compiled, api: {} });
  const b = createSandbox({ compiled, api: {} });
  t.is(a.call('bump'), 1);
  t.is(a.call('bump'), 2);
  t.is(b.call('bump'), 1);
});

test('the timeout ends an endless loop, and the sandbox is then dead', (t) => {
  const sb = sandbox(
    'loop.ts',
    'export function spin() { for (;;) {} }\nexport function ok() { return 1; }',
    {},
    100,
  );
  t.is(sb.call('ok'), 1);
  const started = Date.now();
  const e = t.throws(() => sb.call('spin'), { instanceOf: GuestError });
  t.is(e.code, 'ERR_GUEST_TIMEOUT');
  t.is(e.message, 'loop.ts: spin did not finish within 100 ms');
  t.true(Date.now() - started < 5000);
  t.is(sb.dead, 'spin timed out');
  t.throws(() => sb.call('ok'), { code: 'ERR_GUEST_DEAD' });
});

test('the timeout also bounds the module top level', (t) => {
  t.throws(() => sandbox('toploop.ts', 'while (true) {}\nexport function main() {}', {}, 50), {
    code: 'ERR_GUEST_TIMEOUT',
    message: 'toploop.ts: the module top level did not finish within 50 ms',
  });
});

test('a GuestAbort from the api ends the entry: the guest cannot catch its way back to sys', (t) => {
  const calls: string[] = [];
  const sb = sandbox(
    'exit.ts',
    `export function main(sys: any) {
       try { sys.exit(3); } catch (e: any) {
         try { sys.log('after exit'); } catch (e2: any) { return 'still running: ' + e2.name; }
       }
       return 'returned normally';
     }`,
    {
      exit: (status: number) => {
        calls.push('exit');
        throw new GuestAbort({ exitStatus: status }, 'exit');
      },
      log: () => calls.push('log'),
    },
  );
  const e = t.throws(() => sb.call('main'), { instanceOf: GuestAbort });
  t.deepEqual(e.value, { exitStatus: 3 });
  t.deepEqual(calls, ['exit']);
  t.is(sb.dead, 'the guest was aborted');
});

test('sys cannot be used once the entry has returned (e.g. from a Proxy trap the encoder runs)', (t) => {
  let calls = 0;
  const sb = sandbox(
    'stash.ts',
    `export function main(sys: any) {
       sys.ping();
       return new Proxy({}, { ownKeys() { sys.ping(); return []; } });
     }`,
    { ping: () => ++calls },
  );
  t.is(
    t.throws(() => sb.call('main'), { code: 'ERR_GUEST_RETURN' })?.message,
    'stash.ts: main returned a value that cannot cross to the host: sys.ping() can only be called while an entry is running',
  );
  t.is(calls, 1);
});

test('Error subclasses that assign this.name still work in the frozen realm', (t) => {
  const sb = sandbox(
    'subclass.ts',
    `class MyError extends Error {
       constructor(m: string) { super(m); this.name = 'MyError'; }
     }
     export function main() {
       const o: any = {};
       o.toString = () => 'custom';          // assignment over a frozen Object.prototype method
       return [new MyError('x').toString(), String(o)];
     }`,
  );
  t.deepEqual(sb.call('main'), ['MyError: x', 'custom']);
});
