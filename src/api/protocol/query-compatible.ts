/**
 * Errors of services that speak awsQuery and also a JSON or CBOR protocol "query compatibly"
 * (CloudWatch): handlers throw the awsQuery code (`InvalidParameterValue`); JSON and CBOR answers
 * carry the model's error shape as `__type` (`com.amazonaws.<service>#InvalidParameterValueException`)
 * and the query code in `x-amzn-query-error: <code>;Sender`, which the SDKs turn back into the
 * query code.
 */
import type { ServiceModel } from '../validation/index.js';

export interface QueryCompatibleError {
  /** `__type` of the body. */
  type: string;
  /** `x-amzn-query-error` header. */
  queryErrorHeader: string;
  httpStatus: number;
}

/**
 * Maps awsQuery error codes to the JSON answer, from the model's error shapes. A code the model
 * does not name (protocol errors: SigV4, body size, serialization) keeps its name and the status
 * the protocol gives it; ValidationError (input against the model) becomes ValidationException.
 */
export function queryCompatibleErrors(model: ServiceModel): (code: string, protocolStatus: number) => QueryCompatibleError {
  const namespace = `com.amazonaws.${model.metadata.endpointPrefix}`;
  const byCode = new Map<string, QueryCompatibleError>();
  for (const [name, shape] of Object.entries(model.shapes)) {
    const error = (shape as { exception?: boolean; error?: { code?: string; httpStatusCode?: number; senderFault?: boolean } });
    if (!error.exception) continue;
    const code = error.error?.code ?? name;
    // Two shapes may share a code (DashboardNotFoundError and ResourceNotFound): the one named like it wins.
    if (byCode.has(code) && name !== code) continue;
    byCode.set(code, {
      type: `${namespace}#${name}`, queryErrorHeader: `${code};${error.error?.senderFault ? 'Sender' : 'Receiver'}`,
      httpStatus: error.error?.httpStatusCode ?? 400,
    });
  }
  return (code, protocolStatus) => byCode.get(code) ?? {
    type: code === 'ValidationError' ? `${namespace}#ValidationException` : code,
    queryErrorHeader: `${code};${protocolStatus >= 500 ? 'Receiver' : 'Sender'}`,
    httpStatus: protocolStatus,
  };
}
