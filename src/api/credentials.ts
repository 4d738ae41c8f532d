/**
 * The admin key pair. Created at first start and kept in the data directory as an AWS
 * shared-credentials file, so `AWS_SHARED_CREDENTIALS_FILE=<file> aws ...` works at once; or given
 * through the environment for automation (WHARF_ACCESS_KEY_ID / WHARF_SECRET_ACCESS_KEY).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCredentialsFile, type Credentials } from '../sigv4/index.js';

export const CREDENTIALS_FILE = 'credentials';

/** Reads `[profile]` of an AWS shared-credentials file. */
export function readSharedCredentials(path: string, profile = 'default'): Credentials | undefined {
  return parseCredentialsFile(readFileSync(path, 'utf8'), profile);
}

/**
 * The admin credentials: from the environment when both variables are set, else from the data
 * directory's credentials file, else newly made and written there (mode 0600). The file also
 * carries `region`, which the AWS CLI reads from a credentials-file profile.
 */
export function loadOrCreateAdminCredentials(dataDir: string, region: string, env: NodeJS.ProcessEnv = process.env): Credentials & { file: string } {
  const file = join(dataDir, CREDENTIALS_FILE);
  const fromEnv = env['WHARF_ACCESS_KEY_ID'] && env['WHARF_SECRET_ACCESS_KEY']
    ? { accessKeyId: env['WHARF_ACCESS_KEY_ID'], secretAccessKey: env['WHARF_SECRET_ACCESS_KEY'] }
    : undefined;
  const existing = !fromEnv && existsSync(file) ? readSharedCredentials(file) : undefined;
  const credentials = fromEnv ?? existing ?? {
    // AWS's shapes: 20 upper-case alphanumerics starting AKIA, and a 40-character secret.
    accessKeyId: 'AKIA' + randomBytes(16).toString('hex').toUpperCase().slice(0, 16),
    secretAccessKey: randomBytes(30).toString('base64').slice(0, 40),
  };
  if (!existing) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `[default]\naws_access_key_id = ${credentials.accessKeyId}\naws_secret_access_key = ${credentials.secretAccessKey}\nregion = ${region}\n`, { mode: 0o600 });
  }
  return { ...credentials, file };
}
