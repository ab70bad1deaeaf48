/*
 * createSandbox: run a guest program's named entries synchronously, in a node:vm context that
 * exposes only the guest API.
 *
 * One sandbox per guest thread.  Its context:
 *   - is created from a null-prototype object (a host object with a prototype would hand the
 *     guest the host's Object, hence Function, through `globalThis.constructor`);
 *   - has code generation from strings and wasm disabled;
 *   - has its own microtask queue, drained inside each run (microtaskMode 'afterEvaluate');
 *   - is set up by guestRealm (realm.ts) before any guest code runs: frozen intrinsics, no
 *     Promise/WebAssembly/SharedArrayBuffer/Atomics/console, read-only global bindings.
 *
 * Between the guest and the host only primitives cross (see realm.ts for the protocol and
 * plain_data.ts for the wire form).  The host never reads a property of a guest object: it
 * gets strings and numbers back from the dispatcher, and every object it hands out is built
 * from those.
 *
 * Timeouts: `timeout` bounds the module top level and each call() in wall-clock time, with
 * vm's own watchdog.  It terminates whatever JavaScript is running on the thread when it fires,
 * including a host API function in the middle of a system call; so give a thread that may
 * block in a host call (waitpid, a futex) a generous value, and rely on the worker runtime's
 * watchdog for anything finer.  After a timeout the sandbox is dead.
 */
import { types } from 'node:util';
import vm from 'node:vm';
import { type CompiledGuest, compileGuest } from './compile.js';
import { GuestAbort, GuestError, type GuestThrown } from './guest_error.js';
import { fromWireText, type PlainData, type Primitive, toWire, toWireText } from './plain_data.js';
import { type Bridge, guestRealm, type RealmConfig } from './realm.js';
import { mapPosition } from './source_map.js';

/**
 * A host API function, the body of one `sys` method.  It receives plain data (fresh host
 * objects, never the guest's) and must return plain data.  What it throws reaches the guest
 * as an error of the guest's realm carrying only name, message, code and errno; a GuestAbort
 * ends the guest instead.
 */
// biome-ignore lint/suspicious/noExplicitAny: any parameter list is accepted; arguments are checked plain data.
export type HostFunction = (...args: any[]) => unknown;

/** The guest program: its source and file name, or the result of compileGuest. */
export type GuestProgram =
  | { readonly filename: string; readonly source: string }
  | { readonly compiled: CompiledGuest };

export type SandboxOptions = GuestProgram & {
  /** The methods of the guest's `sys` object. */
  readonly api: Readonly<Record<string, HostFunction>>;
  /** What `import { … } from 'cherisim'` yields (besides the SysError class). */
  readonly constants?: Readonly<Record<string, Primitive>>;
  /** Milliseconds the module top level and each call may run; none if undefined. */
  readonly timeout?: number;
};

export interface Sandbox {
  /** The guest's file name. */
  readonly filename: string;
  /** The names of the module's exported functions, sorted. */
  readonly entries: readonly string[];
  /**
   * Run an entry synchronously: entry(sys, ...args).  Returns what it returns (a host copy).
   * Throws a GuestError, or the GuestAbort a host API function threw.
   */
  call(entry: string, args?: readonly PlainData[]): PlainData;
  /** Why the sandbox can no longer run anything, or undefined while it can. */
  readonly dead: string | undefined;
}

const DISPATCH_NAME = '__cherisimDispatch';
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

let realmScript: vm.Script | undefined;
let dispatchScript: vm.Script | undefined;

function scripts(): { realm: vm.Script; dispatch: vm.Script } {
  realmScript ??= new vm.Script(`'use strict';\n(${guestRealm.toString()})`, {
    filename: 'cherisim:guest-realm',
  });
  dispatchScript ??= new vm.Script(`${DISPATCH_NAME}()`, { filename: 'cherisim:dispatch' });
  return { realm: realmScript, dispatch: dispatchScript };
}

function checkApi(api: Readonly<Record<string, HostFunction>>): Map<string, HostFunction> {
  const out = new Map<string, HostFunction>();
  for (const [name, fn] of Object.entries(api)) {
    if (!IDENTIFIER.test(name) || name === '__proto__')
      throw new TypeError(`sandbox api: bad method name ${JSON.stringify(name)}`);
    if (typeof fn !== 'function') throw new TypeError(`sandbox api: ${name} is not a function`);
    out.set(name, fn);
  }
  return out;
}

function checkConstants(constants: Readonly<Record<string, Primitive>>): string {
  for (const [name, value] of Object.entries(constants)) {
    if (!IDENTIFIER.test(name) || name === '__proto__' || name === 'SysError') {
      throw new TypeError(`sandbox constants: bad or reserved name ${JSON.stringify(name)}`);
    }
    if (
      value !== null &&
      (typeof value === 'object' || typeof value === 'function' || typeof value === 'symbol')
    ) {
      throw new TypeError(`sandbox constants: ${name} is not a primitive`);
    }
  }
  return toWireText(constants, 'sandbox constants');
}

function checkTimeout(timeout: number | undefined): number | undefined {
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0 && timeout < 2 ** 31)) {
    throw new RangeError(`sandbox timeout: ${timeout} is not a whole number of milliseconds in [1, 2^31)`);
  }
  return timeout;
}

/** A host-realm Error, checked without running any guest code (no Proxy traps). */
function isHostError(e: unknown): e is Error & { code?: unknown } {
  return typeof e === 'object' && e !== null && !types.isProxy(e) && e instanceof Error;
}

/**
 * vm's timeout error.  Node creates it in the context's realm, so it is not instanceof the
 * host's Error: look at its own `code` only, without running any guest code.
 */
function isTimeout(e: unknown): boolean {
  if (typeof e !== 'object' || e === null || types.isProxy(e) || !types.isNativeError(e)) return false;
  return Object.getOwnPropertyDescriptor(e, 'code')?.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT';
}

/** The one line of a V8 SyntaxError raised while compiling the transpiled guest. */
function syntaxError(compiled: CompiledGuest, e: unknown): GuestError {
  // Nothing has run in the context yet: this is V8's own SyntaxError object.
  const own = (key: string): unknown =>
    typeof e === 'object' && e !== null ? Object.getOwnPropertyDescriptor(e, key)?.value : undefined;
  const message = typeof own('message') === 'string' ? (own('message') as string) : String(e);
  const stack = typeof own('stack') === 'string' ? (own('stack') as string) : '';
  // Node decorates it as "file:line\n<source line>\n<spaces>^…".
  const lines = stack.split('\n');
  const at = /:(\d+)$/.exec(lines[0] ?? '');
  if (at === null || !lines[0]!.startsWith(compiled.filename)) {
    return new GuestError('ERR_GUEST_SYNTAX', compiled.filename, `syntax error: ${message}`);
  }
  const caret = (lines[2] ?? '').indexOf('^');
  const pos = mapPosition(compiled.map, Number(at[1]), caret >= 0 ? caret + 1 : 1);
  return new GuestError('ERR_GUEST_SYNTAX', compiled.filename, `syntax error: ${message}`, pos);
}

/** One line: newlines in guest text would make it several. */
function oneLine(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}

/** The GuestError for a 't' or 'x' dispatcher result. */
function thrownError(
  filename: string,
  json: string,
  what: string,
  code: 'ERR_GUEST_THROW' | 'ERR_GUEST_RETURN',
): GuestError {
  const [isObject, name, message, stack, errCode, errno] = JSON.parse(json) as [
    boolean,
    string | null,
    string | null,
    string | null,
    string | number | null,
    number | null,
  ];
  const frames = (stack ?? '')
    .split('\n')
    .filter((l) => l.startsWith('    at '))
    .join('\n');
  const first = frames.split('\n')[0] ?? '';
  const escaped = filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const at = new RegExp(`${escaped}:(\\d+):(\\d+)\\)?$`).exec(first);
  const where = at ? { line: Number(at[1]), column: Number(at[2]) } : {};
  if (code === 'ERR_GUEST_RETURN') {
    return new GuestError(
      code,
      filename,
      `${what} returned a value that cannot cross to the host: ${oneLine(message ?? '')}`,
    );
  }
  let reason: string;
  if (!isObject)
    reason = `${what} threw ${name === 'string' ? JSON.stringify(message) : oneLine(message ?? String(message))}`;
  else if (name === null && message === null) reason = `${what} threw an object that is not an Error`;
  else reason = `${what} threw ${oneLine(name ?? 'Error')}${message ? `: ${oneLine(message)}` : ''}`;
  const thrown: GuestThrown = {
    name: isObject ? (name ?? '') : (name ?? 'undefined'),
    message: message ?? '',
    ...(errCode === null ? {} : { code: errCode }),
    ...(errno === null ? {} : { errno }),
  };
  return new GuestError('ERR_GUEST_THROW', filename, reason, { ...where, frames, thrown });
}

/** {name, message, code?, errno?} of a host error, as JSON for the guest. */
function errorReply(e: unknown): string {
  const data: Record<string, unknown> = { name: 'Error', message: String(e) };
  if (isHostError(e)) {
    data.name = typeof e.name === 'string' ? e.name : 'Error';
    data.message = typeof e.message === 'string' ? e.message : '';
    if (typeof e.code === 'string' || typeof e.code === 'number') data.code = e.code;
    const errno = (e as { errno?: unknown }).errno;
    if (typeof errno === 'number') data.errno = errno;
  }
  return `e${JSON.stringify(data)}`;
}

/** The bridge encoding of a host API result (see realm.ts). */
function resultReply(name: string, result: unknown): unknown {
  switch (typeof result) {
    case 'number':
    case 'boolean':
    case 'bigint':
    case 'undefined':
      return result;
    case 'string':
      return `s${result}`;
    case 'object':
      if (result === null) return null;
      try {
        return `j${toWireText(result, `the result of sys.${name}`)}`;
      } catch (e) {
        return errorReply(e);
      }
    default:
      return errorReply(new TypeError(`sys.${name} returned ${typeof result}, which is not plain data`));
  }
}

/**
 * Compile (unless given a CompiledGuest), set up the context, and run the module top level.
 * Throws a GuestError for a guest's mistake, a TypeError/RangeError for bad options.
 */
export function createSandbox(options: SandboxOptions): Sandbox {
  const compiled = 'compiled' in options ? options.compiled : compileGuest(options.filename, options.source);
  const { filename } = compiled;
  const api = checkApi(options.api);
  const constants = checkConstants(options.constants ?? {});
  const timeout = checkTimeout(options.timeout);
  const { realm, dispatch } = scripts();

  const context = vm.createContext(Object.create(null), {
    name: `cherisim guest ${filename}`,
    codeGeneration: { strings: false, wasm: false },
    microtaskMode: 'afterEvaluate',
  });
  let moduleFn: unknown;
  try {
    moduleFn = vm.compileFunction(compiled.code, ['exports', 'require'], {
      filename,
      parsingContext: context,
    });
  } catch (e) {
    throw syntaxError(compiled, e);
  }

  let pending: string | undefined; // what the dispatcher is to run next
  let aborted: GuestAbort | undefined; // what a host API function aborted the guest with
  let dead: string | undefined;
  let running = false;

  const bridge: Bridge = (op, name, ...args) => {
    if (op === 'begin') {
      const request = pending;
      pending = undefined;
      return request ?? '';
    }
    if (aborted !== undefined) return 'a';
    const fn = typeof name === 'string' ? api.get(name) : undefined;
    if (fn === undefined) return errorReply(new TypeError(`sys.${String(name)} is not a system call`));
    let hostArgs: unknown[];
    if (op === 'p') {
      for (const a of args) {
        if (a !== null && (typeof a === 'object' || typeof a === 'function' || typeof a === 'symbol')) {
          return errorReply(new TypeError(`sys.${name}: bad argument`));
        }
      }
      hostArgs = args;
    } else if (op === 'j' && args.length === 1 && typeof args[0] === 'string') {
      try {
        const decoded = fromWireText(args[0]);
        if (!Array.isArray(decoded)) throw new TypeError('not a list');
        hostArgs = decoded;
      } catch {
        return errorReply(new TypeError(`sys.${name}: bad arguments`));
      }
    } else {
      return errorReply(new TypeError(`sys.${name}: bad bridge call`));
    }
    let result: unknown;
    try {
      result = Reflect.apply(fn, undefined, hostArgs);
    } catch (e) {
      if (e instanceof GuestAbort) {
        aborted = e;
        return 'a';
      }
      return errorReply(e);
    }
    return resultReply(name!, result);
  };

  const install = realm.runInContext(context) as (bridge: Bridge, config: string, moduleFn: unknown) => void;
  const config: RealmConfig = {
    filename,
    api: [...api.keys()],
    constants,
    map: compiled.map,
    dispatchName: DISPATCH_NAME,
  };
  install(bridge, JSON.stringify(config), moduleFn);

  /** Run the dispatcher for one request; returns its result text. */
  function run(request: string, what: string): string {
    if (dead !== undefined) throw new GuestError('ERR_GUEST_DEAD', filename, `cannot run ${what}: ${dead}`);
    if (running)
      throw new GuestError('ERR_GUEST_BUSY', filename, `cannot run ${what}: another call is running`);
    running = true;
    pending = request;
    let out: unknown;
    try {
      out = dispatch.runInContext(
        context,
        timeout === undefined ? { displayErrors: false } : { timeout, displayErrors: false },
      );
    } catch (e) {
      if (aborted !== undefined) {
        dead = 'the guest was aborted';
        throw aborted;
      }
      if (isTimeout(e)) {
        dead = `${what} timed out`;
        throw new GuestError('ERR_GUEST_TIMEOUT', filename, `${what} did not finish within ${timeout} ms`);
      }
      // Not a guest throw (the dispatcher catches those): the sandbox's own code was cut short.
      dead = `${what} broke the sandbox`;
      const why = isHostError(e) ? e.message : 'the stack was exhausted, or the sandbox was broken';
      throw new GuestError('ERR_GUEST_BROKEN', filename, `${what} ended abnormally (${why})`);
    } finally {
      running = false;
      pending = undefined;
    }
    if (aborted !== undefined) {
      dead = 'the guest was aborted';
      throw aborted;
    }
    if (typeof out !== 'string' || out === '') {
      dead = `${what} broke the sandbox`;
      throw new GuestError('ERR_GUEST_BROKEN', filename, `${what} ended abnormally (no result)`);
    }
    return out;
  }

  const loaded = run('l', 'the module top level');
  if (loaded[0] === 't')
    throw thrownError(filename, loaded.slice(1), 'the module top level', 'ERR_GUEST_THROW');
  const names = fromWireText(loaded.slice(1));
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    dead = 'the module top level broke the sandbox';
    throw new GuestError('ERR_GUEST_BROKEN', filename, 'loading the module gave no list of entries');
  }
  const entries = Object.freeze((names as string[]).sort());

  return {
    filename,
    entries,
    get dead() {
      return dead;
    },
    call(entry: string, args: readonly PlainData[] = []): PlainData {
      if (dead !== undefined)
        throw new GuestError('ERR_GUEST_DEAD', filename, `cannot run ${String(entry)}: ${dead}`);
      if (typeof entry !== 'string' || !entries.includes(entry)) {
        const list = entries.length > 0 ? entries.join(', ') : 'none';
        throw new GuestError(
          'ERR_GUEST_ENTRY',
          filename,
          `no entry named ${JSON.stringify(String(entry))} (exported functions: ${list})`,
        );
      }
      if (!Array.isArray(args))
        throw new GuestError('ERR_GUEST_ARGUMENT', filename, `${entry}: the arguments must be an array`);
      let wire: string;
      try {
        wire = JSON.stringify([entry, args.map((a, i) => toWire(a, `${entry}: argument ${i + 1}`))]);
      } catch (e) {
        throw new GuestError('ERR_GUEST_ARGUMENT', filename, (e as Error).message);
      }
      const out = run(`c${wire}`, entry);
      switch (out[0]) {
        case 'r':
          return fromWireText(out.slice(1));
        case 't':
          throw thrownError(filename, out.slice(1), entry, 'ERR_GUEST_THROW');
        case 'x':
          throw thrownError(filename, out.slice(1), entry, 'ERR_GUEST_RETURN');
        case 'm':
          throw new GuestError('ERR_GUEST_ENTRY', filename, `${entry} is no longer an exported function`);
        default:
          dead = `${entry} broke the sandbox`;
          throw new GuestError('ERR_GUEST_BROKEN', filename, `${entry} ended abnormally (bad result)`);
      }
    },
  };
}
