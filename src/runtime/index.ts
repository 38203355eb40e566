/**
 * The runtime: runs the processes of deployments and reports their state.
 * The shared contract suite (`contract.ts`) is imported by backend tests directly.
 */
export type {
  DeploymentSpec,
  LogLine,
  LogSink,
  OneOffResult,
  OneOffSpec,
  ProcessSpec,
  ProcessState,
  ProcessStatus,
  ResourceLimits,
  ResourceUsage,
  RuntimeCapabilities,
  Runtime,
  RuntimeEvent,
} from './types.js';
export { LocalRuntime, type LocalRuntimeOptions } from './local.js';
export { assertSandboxAvailable, type SandboxCheckOptions } from './check.js';
export {
  sandboxVisibleDir,
  dataDirExposure,
  baseSandboxEnv,
  isRoot,
  sandboxCommand,
  type Bind,
  type SandboxCommand,
  type SandboxOptions,
} from './sandbox.js';
export { backoffDelay, type BackoffOptions } from './backoff.js';
export { waitListening, readinessDelay } from './ports.js';
export { CgroupManager, type CgroupSupport, type CgroupVersion, type DetectOptions } from './cgroups.js';
export { oomMessage } from './resources.js';
