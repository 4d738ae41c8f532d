/**
 * Shared helpers of the benchmarks, in one place: statistics, table output, waiting and child
 * processes, /proc readings, a bare Docker Engine client, the Wharf setup the benchmarks share, and
 * for the registry benchmarks: OCI image generation, skopeo, the reference registry, Wharf's ECR login.
 */
export { median, quantile, summarize } from './stats.js';
export type { Summary } from './stats.js';
export { printTable, formatNumber, formatRatio, progress } from './table.js';
export type { Cell } from './table.js';
export { sleep, waitFor } from './wait.js';
export { freeLoopbackPort as freePort } from '../../src/testkit/polling.js';
export { waitForOutput, collectOutput, terminate, requireCommands } from './child.js';
export { cpuTimeMs, residentBytes, peakResidentBytes, privateBytes, ioBytes, childProcesses } from './proc.js';
export { BENCH_LABEL, DockerEngine } from './docker-engine.js';
export { SLEEP_COMMAND, waitForConnectedAgent, registerSleepTaskDefinition, waitForTaskStatus } from './wharf-setup.js';
export { writeOciImage, checkPulledLayers } from '../../src/testkit/oci-image.js';
export type { OciImage } from '../../src/testkit/oci-image.js';
export { SKOPEO_BINARY, timedPush, timedPull } from './skopeo.js';
export type { RegistryEndpoint, CopyContext } from './skopeo.js';
export { REFERENCE_REGISTRY_BINARY, startReferenceRegistry } from './reference-registry.js';
export type { ReferenceRegistry } from './reference-registry.js';
export { loginToWharfRegistry } from './wharf-registry.js';
export type { WharfRegistry } from './wharf-registry.js';
export { startRegistryBench } from './registry-setup.js';
export type { RegistryBench } from './registry-setup.js';
export { runBenchmark } from './run.js';
export type { Defer } from './run.js';
