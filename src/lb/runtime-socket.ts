/**
 * One command to an HAProxy CLI socket (the worker's runtime API or the master CLI), in
 * non-interactive mode: write the command, half-close, read the answer until HAProxy closes.
 */
import { connect } from 'node:net';

/** HAProxy's CLI did not answer, or answered with an error. `retryable` when it could not be reached. */
export class HaproxyCommandError extends Error {
  override name = 'HaproxyCommandError';
  constructor(message: string, readonly command: string, readonly retryable: boolean, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Sends `command` (one line) and answers HAProxy's whole reply; rejects after `timeoutMs` or on `signal`. */
export function sendCommand(socketPath: string, command: string, timeoutMs: number, signal?: AbortSignal): Promise<string> {
  if (/[\r\n]/.test(command)) return Promise.reject(new HaproxyCommandError('a command is one line', command, false));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(socketPath);
    const fail = (message: string, cause?: unknown) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(new HaproxyCommandError(`${message} (${socketPath}: ${command.split(' ').slice(0, 3).join(' ')})`, command, true, { cause }));
    };
    const onAbort = () => fail('aborted');
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => fail(err.message, err));
    socket.on('close', (hadError) => {
      if (hadError) return;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

/**
 * Sends a command whose success HAProxy answers with `expected` (nothing when it is empty, or an
 * answer it matches); any other answer is an error naming HAProxy's own message.
 */
export async function expectAnswer(socketPath: string, command: string, expected: string | RegExp, timeoutMs: number): Promise<void> {
  const answer = (await sendCommand(socketPath, command, timeoutMs)).trim();
  if (typeof expected === 'string' ? answer !== expected : !expected.test(answer)) throw new HaproxyCommandError(`HAProxy refused '${command}': ${answer || '(no answer)'}`, command, false);
}
