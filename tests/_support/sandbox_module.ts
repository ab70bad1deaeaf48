/*
 * The guest sandbox API, for the sandbox tests.
 *
 * @cherisim/workers does not export it yet (its exports map only exposes index.js), so it is
 * loaded from the package's build output by file URL.  Once index.ts exports the guest
 * modules, this file becomes: export { … } from '@cherisim/workers';
 */
import type * as CompileModule from '../../packages/workers/src/guest/compile.js';
import type * as ErrorModule from '../../packages/workers/src/guest/guest_error.js';
import type * as SandboxModule from '../../packages/workers/src/guest/sandbox.js';

export type { CompiledGuest } from '../../packages/workers/src/guest/compile.js';
export type { GuestErrorCode } from '../../packages/workers/src/guest/guest_error.js';
export type { PlainData } from '../../packages/workers/src/guest/plain_data.js';
export type { HostFunction, Sandbox, SandboxOptions } from '../../packages/workers/src/guest/sandbox.js';

// This file compiles to tests/dist/_support/; the package is at packages/workers/dist/.
const dist = new URL('../../../packages/workers/dist/guest/', import.meta.url);
const load = async <T>(file: string): Promise<T> => (await import(new URL(file, dist).href)) as T;

const compile = await load<typeof CompileModule>('compile.js');
const errors = await load<typeof ErrorModule>('guest_error.js');
const sandbox = await load<typeof SandboxModule>('sandbox.js');

export const { compileGuest } = compile;
export const { GuestAbort, GuestError } = errors;
export const { createSandbox } = sandbox;
export type GuestAbort = ErrorModule.GuestAbort;
export type GuestError = ErrorModule.GuestError;
