/**
 * The admin key pair. Created at first start and kept in the data directory as an AWS
 * shared-credentials file, so `AWS_SHARED_CREDENTIALS_FILE=<file> aws ...` works at once; or given
 * through the environment for automation (WHARF_ACCESS_KEY_ID / WHARF_SECRET_ACCESS_KEY).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Credentials } from '../sigv4/index.js';

export const CREDENTIALS_FILE = 'credentials';

/** Reads `[profile]` from an AWS shared-credentials (INI) file. */
export function readSharedCredentials(path: string, profile = 'default'): (Credentials & { region?: string }) | undefined {
  let section = '';
  const values: Record<string, string> = {};
  for (const raw of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[\s*(.+?)\s*\]$/.exec(line);
    if (header) { section = header[1]!; continue; }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (kv && section === profile) values[kv[1]!.toLowerCase()] = kv[2]!;
  }
  const accessKeyId = values['aws_access_key_id'];
  const secretAccessKey = values['aws_secret_access_key'];
  if (!accessKeyId || !secretAccessKey) return undefined;
  return {
    accessKeyId, secretAccessKey,
    ...(values['aws_session_token'] ? { sessionToken: values['aws_session_token'] } : {}),
    ...(values['region'] ? { region: values['region'] } : {}),
  };
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
