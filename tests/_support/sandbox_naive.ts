/*
 * Naive guest sandboxes, the kind the escape attacks defeat.  sandbox_escape.test.ts runs each
 * attack here too, to show that it is a real attack (it escapes here) and that the test
 * would fail against a sandbox that did not stop it.
 *
 * naiveSandbox: what a first attempt looks like.  A vm context made from `{}`, the guest's
 * `sys` is the host's API object, `require` is the host's, code generation is on, values and
 * errors pass through as they are, and entries are called through a sloppy-mode host helper
 * (as a CommonJS dependency without 'use strict' would be).
 *
 * carefulRawContext: a careful context (null-prototype global, code generation off) that runs
 * raw JavaScript: it shows why a guest's import() must never reach V8.
 */
import { createRequire } from 'node:module';
import vm from 'node:vm';
import ts from 'typescript';

const hostRequire = createRequire(import.meta.url);

/** A sloppy-mode host function: f(a, b). */
export const sloppyInvoke = vm.runInThisContext(
  '(function sloppyInvoke(f, a, b, c) { return f(a, b, c); })',
) as (f: (...args: unknown[]) => unknown, ...args: unknown[]) => unknown;

export interface NaiveSandbox {
  call(entry: string, args?: unknown[]): unknown;
}

// biome-ignore lint/suspicious/noExplicitAny: the naive sandbox hands anything through.
type AnyFunction = (...args: any[]) => unknown;

export function naiveSandbox(
  filename: string,
  source: string,
  api: Record<string, AnyFunction>,
  constants: Record<string, unknown> = {},
): NaiveSandbox {
  const js = ts
    .transpileModule(source, {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    })
    .outputText.replace(/^"use strict";\n/, '');
  const context = vm.createContext({});
  const moduleFn = vm.runInContext(`(function (exports, require) {\n${js}\n})`, context, {
    filename,
  }) as AnyFunction;
  const exports: Record<string, AnyFunction> = {};
  moduleFn(exports, (spec: string) => (spec === 'cherisim' ? constants : hostRequire(spec)));
  const sys = { ...api };
  return { call: (entry, args = []) => sloppyInvoke(exports[entry]!, sys, ...args) };
}

/** A null-prototype context without code generation, running raw JavaScript. */
export function carefulRawContext(js: string): unknown {
  const context = vm.createContext(Object.create(null), { codeGeneration: { strings: false, wasm: false } });
  return vm.runInContext(js, context);
}
