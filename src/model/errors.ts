/**
 * Errors with stable codes. Every failure a caller can see is a WharfError whose `code` is the
 * AWS error type it maps to on the wire (`__type`); boundaries map codes to HTTP status, CLI exit
 * code or agent stop reason in one table each, never by reading the message.
 */
export class WharfError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(code: string, message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = code;
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/** ECS `ClientException`: the request is wrong in a way the ECS model does not name more precisely. */
export class ClientException extends WharfError {
  constructor(message: string) { super('ClientException', message); }
}

/** ECS `InvalidParameterException`: a parameter fails the model's or ECS's rules; the message names it. */
export class InvalidParameterException extends WharfError {
  constructor(message: string) { super('InvalidParameterException', message); }
}

export class ClusterNotFoundException extends WharfError {
  constructor(message = 'Cluster not found.') { super('ClusterNotFoundException', message); }
}

export class ClusterContainsContainerInstancesException extends WharfError {
  constructor(message = 'The Cluster cannot be deleted while Container Instances are active or draining.') {
    super('ClusterContainsContainerInstancesException', message);
  }
}

export class ClusterContainsTasksException extends WharfError {
  constructor(message = 'The Cluster cannot be deleted while Tasks are active.') {
    super('ClusterContainsTasksException', message);
  }
}

export class ClusterContainsServicesException extends WharfError {
  constructor(message = 'The Cluster cannot be deleted while Services are active.') {
    super('ClusterContainsServicesException', message);
  }
}

export class ResourceNotFoundException extends WharfError {
  constructor(message: string) { super('ResourceNotFoundException', message); }
}

export class TargetNotFoundException extends WharfError {
  constructor(message: string) { super('TargetNotFoundException', message); }
}

export class AttributeLimitExceededException extends WharfError {
  constructor(message: string) { super('AttributeLimitExceededException', message); }
}

export class LimitExceededException extends WharfError {
  constructor(message: string) { super('LimitExceededException', message); }
}

export class ServiceNotFoundException extends WharfError {
  constructor(message = 'Service not found.') { super('ServiceNotFoundException', message); }
}

export class ServiceNotActiveException extends WharfError {
  constructor(message = 'Service was not ACTIVE.') { super('ServiceNotActiveException', message); }
}

export class NamespaceNotFoundException extends WharfError {
  constructor(message: string) { super('NamespaceNotFoundException', message); }
}

/** A compare-and-swap write lost a race; callers re-read and retry a bounded number of times. */
export class ConflictError extends WharfError {
  constructor(message = 'The resource was modified concurrently.') {
    super('ConflictError', message, { retryable: true });
  }
}

/** Any unexpected failure; answered as ECS `ServerException` (HTTP 500) without its details. */
export class ServerException extends WharfError {
  constructor(message = 'An internal error occurred.', cause?: unknown) {
    super('ServerException', message, { cause, retryable: true });
  }
}
