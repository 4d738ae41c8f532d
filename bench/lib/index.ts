/**
 * Shared helpers of the benchmarks, in one place: statistics, table output, waiting and child
 * processes, /proc readings, a bare Docker Engine client, and the Wharf setup the benchmarks share.
 */
export { median, quantile, summarize } from './stats.js';
export type { Summary } from './stats.js';
export { printTable, formatNumber, formatRatio, progress } from './table.js';
export type { Cell } from './table.js';
export { sleep, waitFor, freePort } from './wait.js';
export { waitForOutput, collectOutput, terminate } from './child.js';
export { cpuTimeMs, residentBytes, peakResidentBytes, privateBytes, childProcesses } from './proc.js';
export { DockerEngine } from './docker-engine.js';
export { SLEEP_COMMAND, waitForConnectedAgent, registerSleepTaskDefinition, waitForTaskStatus } from './wharf-setup.js';
export { runBenchmark } from './run.js';
export type { Defer } from './run.js';
