/**
 * HTTP status of every error code the JSON protocol answers. ECS answers 400 for every client
 * exception and 500 for ServerException (API Reference); the other entries are protocol-level.
 * SigV4 failures carry their own status from `verifyRequest`.
 */
const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  ServerException: 500,
  RequestEntityTooLargeException: 413,
  InvalidSignatureException: 403,
  AccessDeniedException: 400,
  ThrottlingException: 400,
  UnknownOperationException: 400,
  SerializationException: 400,
};

const CLIENT_FAULT_STATUS = 400;

export function httpStatusFor(code: string): number {
  return HTTP_STATUS_BY_CODE[code] ?? CLIENT_FAULT_STATUS;
}

/** The error a JSON service answers: `__type` plus `message` when there is one. */
export interface JsonError { code: string; message?: string; httpStatus: number }

export function jsonError(code: string, message?: string): JsonError {
  return message === undefined ? { code, httpStatus: httpStatusFor(code) } : { code, message, httpStatus: httpStatusFor(code) };
}
