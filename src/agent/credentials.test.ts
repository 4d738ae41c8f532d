import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { parseCredentialsFile } from '../sigv4/index.js';
import { loadCredentials } from './credentials.js';

const FILE = `# comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret1

[profile ops]
aws_access_key_id=AKIDOPS
aws_secret_access_key=secret2
aws_session_token=tok
`;

it('parses shared-credentials profiles', () => {
  assert.deepEqual(parseCredentialsFile(FILE, 'default'), { accessKeyId: 'AKIDDEFAULT', secretAccessKey: 'secret1' });
  assert.deepEqual(parseCredentialsFile(FILE, 'ops'), { accessKeyId: 'AKIDOPS', secretAccessKey: 'secret2', sessionToken: 'tok' });
  assert.equal(parseCredentialsFile(FILE, 'missing'), undefined);
});

it('loads from the file when given, else from the environment, else fails clearly', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wharf-creds-'));
  try {
    const file = path.join(dir, 'credentials');
    await writeFile(file, FILE);
    assert.equal((await loadCredentials({ credentialsFile: file, profile: 'ops' }, {})).accessKeyId, 'AKIDOPS');
    assert.equal((await loadCredentials({}, { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'B' })).accessKeyId, 'A');
    await assert.rejects(loadCredentials({}, {}), /no credentials/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
