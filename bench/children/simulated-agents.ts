/**
 * Simulated agents of the control-plane benchmark, in their own process so their work shares no
 * event loop with the driver or the server: each registers a container instance over the ECS API
 * and holds a real agent-gateway session (src/testkit/fake-agent.ts), and reports every task of its
 * manifests RUNNING at once (STOPPED once the manifest asks), as a runtime that never fails would.
 *
 * Input: argv[2] is a JSON SimulatedAgentsSpec; stdin lines `{"type":"reset"}` zero the counts.
 * Output: JSON SimulatedAgentsMessage lines on stdout: `ready` once every agent holds a session,
 * then `progress` (counts of RUNNING and STOPPED reports sent since the last reset, with the times
 * of the first and last), at most every PROGRESS_INTERVAL_MS while they change. Stops on SIGTERM.
 */
import { createInterface } from 'node:readline';
import { startFakeAgent, type FakeAgent } from '../../src/testkit/fake-agent.js';
import type { TaskStateReport } from '../../src/model/index.js';
import type { SimulatedAgentsMessage, SimulatedAgentsSpec } from './protocol.js';

const spec = JSON.parse(process.argv[2] ?? '') as SimulatedAgentsSpec;
/** How often progress is written at most: finer than the driver's 100 ms poll, cheap enough to not matter. */
const PROGRESS_INTERVAL_MS = 20;

const agents: FakeAgent[] = [];
let counts: Extract<SimulatedAgentsMessage, { type: 'progress' }> = { type: 'progress', running: 0, stopped: 0 };
let changed = false;

function write(message: SimulatedAgentsMessage): void {
  process.stdout.write(JSON.stringify(message) + '\n');
}

function onReport(report: TaskStateReport): void {
  const now = Date.now();
  if (report.lastStatus === 'RUNNING') {
    counts.running++;
    counts.firstRunningAt ??= now;
    counts.lastRunningAt = now;
  } else if (report.lastStatus === 'STOPPED') {
    counts.stopped++;
    counts.firstStoppedAt ??= now;
    counts.lastStoppedAt = now;
  }
  changed = true;
}

async function join(index: number): Promise<void> {
  agents.push(await startFakeAgent(spec.url, spec.credentials, {
    cluster: spec.cluster,
    cpu: spec.cpu,
    memoryMiB: spec.memoryMiB,
    attributes: [{ name: 'ecs.availability-zone', value: spec.zones[index % spec.zones.length]! }],
    simulate: { onReport },
  }));
}

async function main(): Promise<void> {
  let next = 0;
  const joiner = async () => {
    while (next < spec.count) await join(spec.firstIndex + next++);
  };
  await Promise.all(Array.from({ length: Math.min(spec.joinConcurrency, spec.count) }, joiner));
  write({ type: 'ready', agents: agents.length });
  setInterval(() => {
    if (!changed) return;
    changed = false;
    write(counts);
  }, PROGRESS_INTERVAL_MS);
  createInterface({ input: process.stdin })
    .on('line', (line) => {
      if ((JSON.parse(line) as { type?: string }).type !== 'reset') return;
      counts = { type: 'progress', running: 0, stopped: 0 };
      changed = false;
      write({ type: 'reset' });
    })
    // The driver is gone (stdin closed): leave no agents behind.
    .on('close', () => process.exit(0));
}

process.once('SIGTERM', () => {
  for (const a of agents) a.close();
  process.exit(0);
});
main().catch((err: unknown) => {
  process.stderr.write(`simulated agents failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
