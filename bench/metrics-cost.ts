/**
 * Metric collection cost: CPU of the `wharf agent` process holding 100 running task containers,
 * as a share of one core, while it samples their usage every 20 s (ECS's interval) and sends it to
 * the server, against the same agent with sampling off, measured in the same run.
 *
 *   node dist/bench/metrics-cost.js     (BENCH_TASKS=100, BENCH_WINDOW_MS=60000, BENCH_ROUNDS=2,
 *                                        BENCH_SAMPLE_MS=20000 change the defaults)
 *
 * One agent starts the tasks; then, round after round, the agent is restarted on the same data
 * directory (it re-adopts the containers, nothing restarts) in each mode: `cgroup` (cgroup files,
 * the default `auto` on this machine), `docker` (the Engine's one-shot stats call per container) and
 * `off` (--stats-sample-interval-ms 0, the reference). After a settle period, the agent's user +
 * system CPU time over the window is divided by the window. dockerd's CPU over the same window is
 * shown too (the docker mode moves work there), though other work on the machine shares dockerd.
 *
 * Target: the sampling agent at most 2 % of one core. Prints figures, never fails on them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateServiceCommand, DescribeServicesCommand, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { ChildProcess } from 'node:child_process';
import { ensureTestImage, TEST_IMAGE } from '../src/testkit/test-image.js';
import { startWharf } from '../src/testkit/wharf-processes.js';
import { cpuTimeMs, formatRatio, median, printTable, progress, runBenchmark, sleep, terminate, waitFor, waitForConnectedAgent } from './lib/index.js';

const TASKS = Number(process.env['BENCH_TASKS'] ?? 100);
const WINDOW_MS = Number(process.env['BENCH_WINDOW_MS'] ?? 60_000);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
const SAMPLE_MS = Number(process.env['BENCH_SAMPLE_MS'] ?? 20_000);
/** After a restart the agent re-adopts every container and resends every report: not sampling work. */
const SETTLE_MS = 15_000;
const TARGET_PERCENT = 2;

type Mode = 'cgroup' | 'docker' | 'off';
const MODES: readonly Mode[] = ['cgroup', 'docker', 'off'];

function dockerdPid(): number | undefined {
  try {
    return Number(readFileSync('/var/run/docker.pid', 'utf8').trim()) || undefined;
  } catch {
    try {
      return Number(execFileSync('pidof', ['-s', 'dockerd']).toString().trim()) || undefined;
    } catch {
      return undefined;
    }
  }
}

runBenchmark('metrics-cost', async (defer) => {
  await ensureTestImage();
  const w = await startWharf();
  defer(() => w.stop());
  const agentDir = join(w.dataDir, 'agent-bench');
  const modeArgs = (mode: Mode) => mode === 'off'
    ? ['--stats-sample-interval-ms', '0']
    : ['--stats-sample-interval-ms', String(SAMPLE_MS), '--stats-source', mode];
  let agent: ChildProcess = await w.startAgent({ dataDir: agentDir, extraArgs: modeArgs('off') });
  await waitForConnectedAgent(w.ecs, w.cluster);

  progress(`starting ${TASKS} task containers (sleep 3600, 6 MiB each)`);
  await w.ecs.send(new RegisterTaskDefinitionCommand({
    family: 'metrics-cost', containerDefinitions: [{ name: 'main', image: TEST_IMAGE, command: ['sleep', '3600'], memory: 6, stopTimeout: 1 }],
  }));
  await w.ecs.send(new CreateServiceCommand({ cluster: w.cluster, serviceName: 'metrics-cost', taskDefinition: 'metrics-cost', desiredCount: TASKS }));
  defer(() => w.ecs.send(new UpdateServiceCommand({ cluster: w.cluster, service: 'metrics-cost', desiredCount: 0 })).catch(() => undefined));
  await waitFor(`${TASKS} RUNNING tasks`, async () => {
    const s = (await w.ecs.send(new DescribeServicesCommand({ cluster: w.cluster, services: ['metrics-cost'] }))).services?.[0];
    return s?.runningCount === TASKS;
  }, 10 * 60_000, 1000);

  const dockerd = dockerdPid();
  const results: Record<Mode, { agent: number[]; dockerd: number[] }> = { cgroup: { agent: [], dockerd: [] }, docker: { agent: [], dockerd: [] }, off: { agent: [], dockerd: [] } };
  for (let round = 1; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      progress(`round ${round}/${ROUNDS}: agent with sampling ${mode === 'off' ? 'off' : `every ${SAMPLE_MS / 1000} s from ${mode}`}`);
      await terminate(agent, 'SIGTERM', 15_000);
      agent = await w.startAgent({ dataDir: agentDir, extraArgs: modeArgs(mode) });
      await sleep(SETTLE_MS);
      const pid = agent.pid!;
      const startAgentCpu = cpuTimeMs(pid);
      const startDockerCpu = dockerd === undefined ? undefined : cpuTimeMs(dockerd);
      const startedAt = performance.now();
      await sleep(WINDOW_MS);
      const elapsed = performance.now() - startedAt;
      const agentCpu = cpuTimeMs(pid);
      if (startAgentCpu === undefined || agentCpu === undefined) throw new Error(`the agent (pid ${pid}) exited during the window`);
      results[mode].agent.push(((agentCpu - startAgentCpu) / elapsed) * 100);
      const dockerCpu = dockerd === undefined ? undefined : cpuTimeMs(dockerd);
      if (startDockerCpu !== undefined && dockerCpu !== undefined) results[mode].dockerd.push(((dockerCpu - startDockerCpu) / elapsed) * 100);
    }
  }
  // Sanity: the samples reached the server as ECS metrics.
  const text = await (await fetch(`${w.url}/metrics`)).text();
  const published = new RegExp(`^cloudwatch_aws_ecs_memory_utilization_sample_count\\{cluster_name="${w.cluster}",service_name="metrics-cost"\\} (\\d+)`, 'm').exec(text);

  const off = median(results.off.agent);
  const percent = (n: number) => `${n.toFixed(2)} %`;
  printTable(`Agent CPU with ${TASKS} running task containers, share of one core (median of ${ROUNDS} windows of ${WINDOW_MS / 1000} s)`,
    ['agent', 'agent CPU', 'over the reference', 'ratio to reference', 'dockerd CPU', 'target'],
    MODES.map((mode) => {
      const m = median(results[mode].agent);
      return [
        mode === 'off' ? 'sampling off (reference)' : `sampling every ${SAMPLE_MS / 1000} s, ${mode}`,
        percent(m), mode === 'off' ? '-' : percent(m - off), mode === 'off' ? '-' : formatRatio(off > 0 ? m / off : Infinity),
        results[mode].dockerd.length ? percent(median(results[mode].dockerd)) : 'n/a',
        mode === 'off' ? '-' : `<= ${TARGET_PERCENT} % (${m <= TARGET_PERCENT ? 'met' : 'missed'})`,
      ];
    }));
  progress(published ? `ECS metrics published: last MemoryUtilization SampleCount ${published[1]}` : 'warning: no ECS metrics seen on /metrics');
});
