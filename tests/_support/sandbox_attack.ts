/*
 * Shared pieces of the sandbox escape attacks.
 *
 * PWN is a guest-side prelude.  pwn(F, how) treats F as a candidate Function constructor and
 * tries to compile `return process` with it.  If F is the host's Function, that yields the
 * host's process object: pwn then marks it (process.__cherisimEscape_<how> = true) and
 * returns 'ESCAPED(how)'.  With the guest realm's own Function, code generation is off and it
 * throws; with anything else it fails too.
 */

export const PWN = `
function pwn(F: any, how: string): string {
  let p: any;
  try {
    p = F('return process')();
  } catch (e: any) {
    return 'blocked(' + how + '): ' + (e && e.name);
  }
  if (p && typeof p.pid === 'number') {
    p['__cherisimEscape_' + how] = true;
    return 'ESCAPED(' + how + ')';
  }
  return 'no process (' + how + ')';
}
`;

/** Whether an attack reached the host's process as `how`; clears the mark. */
export function escapedAs(how: string): boolean {
  const key = `__cherisimEscape_${how}`;
  const p = process as unknown as Record<string, unknown>;
  const hit = p[key] === true;
  delete p[key];
  return hit;
}

/** The guest results that claim an escape. */
export function escapes(results: unknown): string[] {
  const list = Array.isArray(results) ? results : [results];
  return list.filter((r): r is string => typeof r === 'string' && r.startsWith('ESCAPED'));
}

/** A small host API for attacks: values, lists, nested objects, errors. */
export function attackApi() {
  const calls: string[] = [];
  return {
    calls,
    api: {
      getpid: () => {
        calls.push('getpid');
        return 42;
      },
      echo: (v: unknown) => {
        calls.push('echo');
        return v;
      },
      obj: () => {
        calls.push('obj');
        return { a: 1, nested: { b: [2, 3] } };
      },
      list: () => {
        calls.push('list');
        return [1, { c: 2 }];
      },
      fail: () => {
        calls.push('fail');
        throw Object.assign(new Error('mmap: EINVAL'), { name: 'SysError', code: 'EINVAL', errno: 22 });
      },
      /** Writes an out-parameter into what it was given, as a C API would. */
      fill: (o: Record<string, unknown>) => {
        calls.push('fill');
        o.out = { written: true };
        return Object.getPrototypeOf(o) === Object.prototype;
      },
    },
  };
}
