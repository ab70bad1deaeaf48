/* The guest sandbox API, for the sandbox tests. */
export {
  type CompiledGuest,
  compileGuest,
  createSandbox,
  GuestAbort,
  GuestError,
  type GuestErrorCode,
  type HostFunction,
  type PlainData,
  type Sandbox,
  type SandboxOptions,
} from '@cherisim/workers';
