/** Child processes of the benchmarks: waiting for what they print, and ending them. */
import { spawnSync, type ChildProcess } from 'node:child_process';

/**
 * Resolves with the first match of `pattern` in the child's stdout (accumulated across chunks);
 * rejects if the child exits first or after `timeoutMs`. stdout must be a pipe.
 */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (err: Error | undefined, match?: RegExpExecArray) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(match!);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const m = pattern.exec(seen);
      if (m) done(undefined, m);
    };
    const onExit = (code: number | null, signal: string | null) =>
      done(new Error(`process exited (${signal ?? code}) before printing ${pattern}; it printed: ${seen.trim()}`));
    const timer = setTimeout(() => done(new Error(`no ${pattern} after ${timeoutMs} ms; it printed: ${seen.trim()}`)), timeoutMs);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** Resolves with everything the child writes to stdout once it exits 0; rejects otherwise. */
export function collectOutput(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr?.on('data', (c: Buffer) => { err += c.toString(); });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`process did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`process exited (${signal ?? code}): ${err.trim()}`));
    });
  });
}

/** Sends `signal`, then SIGKILL if the child is still there after `graceMs`; resolves once it has exited. */
export function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/**
 * Throws, naming `setup` as the fix, when one of `commands` is not on PATH (checked by running it
 * with `--version`).
 */
export function requireCommands(commands: readonly string[], setup: string): void {
  const missing = commands.filter((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).error !== undefined);
  if (missing.length > 0) throw new Error(`${missing.join(' and ')} not found on PATH; run \`${setup}\` first`);
}
