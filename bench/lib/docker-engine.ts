/**
 * The Docker Engine API with nothing on top: the stricter reference of the task-start benchmark.
 * Plain node:http over the engine's unix socket with one keep-alive connection, independent of
 * Wharf's own Docker client so a slowdown there cannot hide in the reference.
 */
import http from 'node:http';

/** Unix socket of the engine: `dockerHost` or else DOCKER_HOST when it is unix://, else the default path. */
function socketPath(dockerHost = process.env['DOCKER_HOST']): string {
  return dockerHost?.startsWith('unix://') ? dockerHost.slice('unix://'.length) : '/var/run/docker.sock';
}

/** Containers the benchmarks start themselves (references, floors) carry this label, so cleanup finds them all. */
export const BENCH_LABEL = 'wharf-bench.run';

/** Every call is bounded; a hung engine fails the benchmark instead of stalling it. */
const ENGINE_CALL_TIMEOUT_MS = 60_000;

export class DockerEngine {
  readonly #agent: http.Agent;
  readonly #socketPath: string;

  /**
   * `dockerHost`: `unix://<socket>` of the engine (default: DOCKER_HOST, else /var/run/docker.sock).
   * `connections`: how many calls may be in flight at once (default one, so calls are serial).
   */
  constructor(dockerHost?: string, connections = 1) {
    this.#socketPath = socketPath(dockerHost);
    this.#agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  }

  /** POST /containers/create then /containers/{id}/start; resolves with the container id. */
  async createAndStart(image: string, cmd: string[], labels: Record<string, string>): Promise<string> {
    const created = JSON.parse(await this.#call('POST', '/containers/create', { Image: image, Cmd: cmd, Labels: labels })) as { Id: string };
    await this.#call('POST', `/containers/${created.Id}/start`);
    return created.Id;
  }

  /** DELETE /containers/{id}?force=true; a container already gone counts as removed. */
  async remove(id: string): Promise<void> {
    await this.#call('DELETE', `/containers/${id}?force=true`, undefined, [404]);
  }

  /** POST /containers/{id}/kill (SIGKILL). */
  async kill(id: string): Promise<void> {
    await this.#call('POST', `/containers/${id}/kill`);
  }

  /** Ids of the containers that carry `label` (`name` or `name=value`): the running ones, or all with `all`. */
  async containers(label: string, all = false): Promise<string[]> {
    const filters = encodeURIComponent(JSON.stringify({ label: [label] }));
    const list = JSON.parse(await this.#call('GET', `/containers/json?all=${all}&filters=${filters}`)) as { Id: string }[];
    return list.map((c) => c.Id);
  }

  /** GET /_ping: true when the engine answers. */
  async ping(): Promise<boolean> {
    try {
      await this.#call('GET', '/_ping');
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#agent.destroy();
  }

  #call(method: string, path: string, body?: unknown, alsoOk: number[] = []): Promise<string> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<string>((resolve, reject) => {
      const req = http.request({
        socketPath: this.#socketPath, agent: this.#agent, method, path,
        headers: payload === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
        signal: AbortSignal.timeout(ENGINE_CALL_TIMEOUT_MS),
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if ((status >= 200 && status < 300) || alsoOk.includes(status)) resolve(text);
          else reject(new Error(`docker ${method} ${path}: HTTP ${status} ${text.trim()}`));
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }
}
