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

// Amazon ECR's exceptions (the registry's API). Each answers HTTP 400 as ECR does.

export class RepositoryNotFoundException extends WharfError {
  constructor(repositoryName: string, registryId: string) {
    super('RepositoryNotFoundException', `The repository with name '${repositoryName}' does not exist in the registry with id '${registryId}'`);
  }
}

export class RepositoryAlreadyExistsException extends WharfError {
  constructor(repositoryName: string, registryId: string) {
    super('RepositoryAlreadyExistsException', `The repository with name '${repositoryName}' already exists in the registry with id '${registryId}'`);
  }
}

export class RepositoryNotEmptyException extends WharfError {
  constructor(repositoryName: string, registryId: string) {
    super('RepositoryNotEmptyException',
      `The repository with name '${repositoryName}' in registry with id '${registryId}' cannot be deleted because it still contains images`);
  }
}

export class ImageNotFoundException extends WharfError {
  constructor(message: string) { super('ImageNotFoundException', message); }
}

/** A tag of an IMMUTABLE repository already names another image. */
export class ImageTagAlreadyExistsException extends WharfError {
  constructor(tag: string, repositoryName: string) {
    super('ImageTagAlreadyExistsException',
      `The image tag '${tag}' already exists in the '${repositoryName}' repository and cannot be overwritten because the repository is immutable.`);
  }
}

/** PutImage of a manifest that is already stored under the same tag (or untagged). */
export class ImageAlreadyExistsException extends WharfError {
  constructor(message: string) { super('ImageAlreadyExistsException', message); }
}

export class ImageDigestDoesNotMatchException extends WharfError {
  constructor(message: string) { super('ImageDigestDoesNotMatchException', message); }
}

/** A manifest names layers (or a config) that were never pushed to its repository. */
export class LayersNotFoundException extends WharfError {
  constructor(message: string) { super('LayersNotFoundException', message); }
}

/** A manifest list or index names manifests that are not in its repository. */
export class ReferencedImagesNotFoundException extends WharfError {
  constructor(message: string) { super('ReferencedImagesNotFoundException', message); }
}

export class LifecyclePolicyNotFoundException extends WharfError {
  constructor(repositoryName: string, registryId: string) {
    super('LifecyclePolicyNotFoundException',
      `Lifecycle policy does not exist for the repository with name '${repositoryName}' in the registry with id '${registryId}'`);
  }
}

export class InvalidTagParameterException extends WharfError {
  constructor(message: string) { super('InvalidTagParameterException', message); }
}

export class TooManyTagsException extends WharfError {
  constructor(message: string) { super('TooManyTagsException', message); }
}

// Application Auto Scaling's exceptions. Each answers HTTP 400 as the service does.

/** Application Auto Scaling `ValidationException`: input the service refuses; the message names the field or rule. */
export class ValidationException extends WharfError {
  constructor(message: string) { super('ValidationException', message); }
}

/** Application Auto Scaling `ObjectNotFoundException`: no scalable target, policy or scheduled action by that name. */
export class ObjectNotFoundException extends WharfError {
  constructor(message: string) { super('ObjectNotFoundException', message); }
}
