/**
 * Registry credentials as ECR issues them: GetAuthorizationToken answers base64(`AWS:<password>`),
 * valid 12 hours, and `docker login -u AWS -p <password>` then sends it as HTTP Basic. The password
 * is self-verifying: a payload (who, until when) and an HMAC-SHA256 over it with a secret the
 * server keeps in its data directory, so any server with the same secret accepts it and nothing
 * about tokens is stored.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** ECR's token lifetime. */
export const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** The user name ECR tokens carry. */
export const REGISTRY_USER = 'AWS';

const VERSION = 'wharf1';

interface Payload { sub: string; exp: number }

export class RegistryTokens {
  readonly #secret: Buffer;
  readonly #nowMs: () => number;

  constructor(secret: Buffer, nowMs: () => number = Date.now) {
    this.#secret = secret;
    this.#nowMs = nowMs;
  }

  /** The secret in `file`, made (32 random bytes, mode 0600) at first start. */
  static loadOrCreateSecret(file: string): Buffer {
    if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    const secret = randomBytes(32);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, secret.toString('base64') + '\n', { mode: 0o600 });
    return secret;
  }

  /** A password for `principal` (the access key id that asked), and when it expires. */
  issue(principal: string): { password: string; expiresAtMs: number } {
    const expiresAtMs = this.#nowMs() + TOKEN_LIFETIME_MS;
    const payload = Buffer.from(JSON.stringify({ sub: principal, exp: expiresAtMs } satisfies Payload)).toString('base64url');
    return { password: `${VERSION}.${payload}.${this.#sign(payload)}`, expiresAtMs };
  }

  /** The principal a password was issued to, when it is genuine and unexpired; else undefined. */
  verify(password: string): string | undefined {
    const [version, payload, signature] = password.split('.');
    if (version !== VERSION || !payload || !signature) return undefined;
    const expected = Buffer.from(this.#sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
    let parsed: Payload;
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Payload;
    } catch {
      return undefined;
    }
    return typeof parsed.exp === 'number' && parsed.exp > this.#nowMs() && typeof parsed.sub === 'string' ? parsed.sub : undefined;
  }

  /** The principal of an `Authorization: Basic` header carrying `AWS:<password>`, else undefined. */
  verifyBasic(header: string | undefined): string | undefined {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0 || decoded.slice(0, colon) !== REGISTRY_USER) return undefined;
    return this.verify(decoded.slice(colon + 1));
  }

  #sign(payload: string): string {
    return createHmac('sha256', this.#secret).update(`${VERSION}.${payload}`).digest('base64url');
  }
}
