export { signRequest } from './sign.js';
export type { Credentials } from './sign.js';
export { verifyRequest } from './verify.js';
export type { SignedRequestParts, VerifyResult, VerifyOptions } from './verify.js';
export { parseCredentialsFile } from './credentials-file.js';
