/**
 * Errors of the OCI distribution API: the spec's error codes with their HTTP statuses, answered as
 * `{"errors":[{"code","message","detail"}]}`. Domain (ECR) errors reach the registry's clients
 * through the one table below, never by their message.
 */
import { WharfError } from '../model/index.js';

/** The distribution spec's codes (and the HTTP status each is answered with). */
export const REGISTRY_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 404,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  PAGINATION_NUMBER_INVALID: 400,
  SIZE_INVALID: 400,
  TAG_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  RANGE_INVALID: 416,
  UNKNOWN: 500,
} as const;

export type RegistryErrorCode = keyof typeof REGISTRY_ERROR_STATUS;

export class RegistryError extends WharfError {
  readonly httpStatus: number;
  constructor(code: RegistryErrorCode, message: string, readonly detail?: unknown, httpStatus?: number) {
    super(code, message);
    this.httpStatus = httpStatus ?? REGISTRY_ERROR_STATUS[code];
  }
}

/** An upload's next byte is not where the client says (PATCH Content-Range): 416 with the real offset. */
export class UploadOffsetError extends RegistryError {
  constructor(readonly currentSize: number, requestedStart: number) {
    super('BLOB_UPLOAD_INVALID', `the upload is at offset ${currentSize}, not ${requestedStart}`, undefined, 416);
  }
}

/** Another request is writing to the same upload session: chunks of one upload go one at a time. */
export class UploadBusyError extends RegistryError {
  constructor(id: string) { super('BLOB_UPLOAD_INVALID', `blob upload ${id} is receiving another chunk`, undefined, 416); }
}

export class UploadUnknownError extends RegistryError {
  constructor(id: string) { super('BLOB_UPLOAD_UNKNOWN', `blob upload ${id} is unknown to the registry`); }
}

export class DigestMismatchError extends RegistryError {
  constructor(expected: string, actual: string) {
    super('DIGEST_INVALID', `provided digest did not match uploaded content: expected ${expected}, got ${actual}`);
  }
}

/** ECR's exceptions as the distribution API names them. */
const FROM_DOMAIN: Readonly<Record<string, RegistryErrorCode>> = {
  RepositoryNotFoundException: 'NAME_UNKNOWN',
  ImageTagAlreadyExistsException: 'TAG_INVALID',
  LayersNotFoundException: 'MANIFEST_BLOB_UNKNOWN',
  ReferencedImagesNotFoundException: 'MANIFEST_BLOB_UNKNOWN',
  ImageDigestDoesNotMatchException: 'DIGEST_INVALID',
  ImageNotFoundException: 'MANIFEST_UNKNOWN',
  InvalidParameterException: 'MANIFEST_INVALID',
};

/** The registry error a failure answers; undefined for an unexpected one (a 500 the caller logs). */
export function toRegistryError(err: unknown): RegistryError | undefined {
  if (err instanceof RegistryError) return err;
  if (err instanceof WharfError) {
    const code = FROM_DOMAIN[err.code];
    if (code) return new RegistryError(code, err.message);
  }
  return undefined;
}
