/** The agent's AWS credentials: environment variables or an AWS shared-credentials file. */
import { readFile } from 'node:fs/promises';
import { parseCredentialsFile, type Credentials } from '../sigv4/index.js';

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
