/** The agent's AWS credentials: environment variables or an AWS shared-credentials file. */
import { readFile } from 'node:fs/promises';
import type { Credentials } from '../sigv4/index.js';

/** Parses an AWS shared-credentials INI file and returns one profile's keys, or undefined. */
export function parseCredentialsFile(text: string, profile: string): Credentials | undefined {
  let current: string | undefined;
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[\s*(?:profile\s+)?([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = section[1];
      continue;
    }
    const eq = line.indexOf('=');
    if (current === profile && eq > 0) values[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  const accessKeyId = values.aws_access_key_id;
  const secretAccessKey = values.aws_secret_access_key;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = values.aws_session_token;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/**
 * Resolves credentials once at start-up: the file when one is given (profile `default` unless
 * named), else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN). Throws with a clear
 * message when neither yields keys.
 */
export async function loadCredentials(
  options: { credentialsFile?: string; profile?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credentials> {
  if (options.credentialsFile) {
    const profile = options.profile ?? env.AWS_PROFILE ?? 'default';
    const creds = parseCredentialsFile(await readFile(options.credentialsFile, 'utf8'), profile);
    if (!creds) throw new Error(`no aws_access_key_id / aws_secret_access_key for profile ${profile} in ${options.credentialsFile}`);
    return creds;
  }
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    };
  }
  throw new Error('no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --credentials-file');
}
