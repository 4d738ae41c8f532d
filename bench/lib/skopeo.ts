/**
 * `skopeo copy` as the registry benchmarks run it: timed, with stderr kept for the error message,
 * and with a blob-info cache of its own.
 *
 * Why the cache matters: skopeo remembers in a cache file which registry repositories held which
 * blobs. Pushing to a new repository of a registry it has pushed to before, it asks the registry to
 * mount each blob from the old repository (cross-repository mount) instead of uploading it, so the
 * copy moves no data and times nothing. The cache's location has no flag: it is
 * `/var/lib/containers/cache` for root and `$XDG_DATA_HOME/containers/cache` otherwise. So skopeo
 * runs with XDG_DATA_HOME pointing at a fresh directory, and when we are root, inside a new user
 * namespace (`unshare --user`) where its uid is not 0 and it follows XDG_DATA_HOME; file access
 * still happens with our own uid, so it reads and writes the same files.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const SKOPEO_BINARY = 'skopeo';
/** A copy of a few GB on loopback takes well under a minute; a hung one fails the benchmark. */
const COPY_TIMEOUT_MS = 10 * 60_000;

/** Where copies run: `signal` kills those in flight; each copy's blob-info cache lives under `scratchDir`. */
export interface CopyContext {
  signal: AbortSignal;
  scratchDir: string;
}

/** A registry as skopeo reaches it: plain http on loopback, with or without credentials. */
export interface RegistryEndpoint {
  /** `<host>:<port>`. */
  host: string;
  /** `<user>:<password>`; undefined for anonymous access. */
  credentials: string | undefined;
}

/**
 * `skopeo copy oci:<dir>:<tag> docker://<host>/<repository>:<tag>`; resolves with its time in ms
 * (see timedSkopeoCopy).
 */
export function timedPush(image: { dir: string; tag: string }, registry: RegistryEndpoint, repository: string, copies: CopyContext): Promise<number> {
  return timedSkopeoCopy([
    '--dest-tls-verify=false', ...credentialArgs('--dest-creds', registry),
    `oci:${image.dir}:${image.tag}`, `docker://${registry.host}/${repository}:${image.tag}`,
  ], copies);
}

/**
 * `skopeo copy docker://<host>/<repository>:<tag> dir:<destination>`; resolves with its time in
 * ms (see timedSkopeoCopy).
 */
export function timedPull(registry: RegistryEndpoint, repository: string, tag: string, destination: string, copies: CopyContext): Promise<number> {
  return timedSkopeoCopy([
    '--src-tls-verify=false', ...credentialArgs('--src-creds', registry),
    `docker://${registry.host}/${repository}:${tag}`, `dir:${destination}`,
  ], copies);
}

function credentialArgs(flag: string, registry: RegistryEndpoint): string[] {
  return registry.credentials === undefined ? [] : [flag, registry.credentials];
}

/**
 * Runs `skopeo --insecure-policy copy <args...>` with a fresh, empty blob-info cache; resolves
 * with the wall-clock time of the whole command in ms (process start to exit), rejects with its
 * stderr when it fails. The context's signal kills it (the benchmark's cleanup aborts copies still
 * running); the cache sits in the context's scratch dir, so cleanup removes it even then.
 */
async function timedSkopeoCopy(args: readonly string[], copies: CopyContext): Promise<number> {
  const cacheHome = await mkdtemp(join(copies.scratchDir, 'skopeo-cache-'));
  try {
    const skopeoArgs = ['--insecure-policy', 'copy', '--quiet', ...args];
    const asRoot = process.geteuid?.() === 0;
    const [command, commandArgs] = asRoot ? ['unshare', ['--user', SKOPEO_BINARY, ...skopeoArgs]] : [SKOPEO_BINARY, skopeoArgs];
    const started = performance.now();
    await run(command, commandArgs, { ...process.env, XDG_DATA_HOME: cacheHome, HOME: cacheHome }, copies.signal);
    return performance.now() - started;
  } finally {
    await rm(cacheHome, { recursive: true, force: true });
  }
}

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], env, signal, timeout: COPY_TIMEOUT_MS, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-8192); });
    child.once('error', reject);
    child.once('close', (code, exitSignal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${redactCredentials(args).join(' ')} failed (${exitSignal ?? code}): ${stderr.trim()}`));
    });
  });
}

/** The arguments with the password of `--src-creds` / `--dest-creds` replaced, for error messages. */
function redactCredentials(args: readonly string[]): string[] {
  return args.map((arg, i) => (/^--(src|dest)-creds$/.test(args[i - 1] ?? '') ? arg.replace(/:.*/, ':***') : arg));
}
