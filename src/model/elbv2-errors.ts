/**
 * Elastic Load Balancing v2's errors. The wire code is the one the ELBv2 model names explicitly
 * (`TargetGroupNotFound`, not the shape name `TargetGroupNotFoundException`); every one is a
 * client fault answered with HTTP 400.
 */
import { WharfError } from './errors.js';

/** ELB's `ValidationError`: a parameter breaks a rule the model's shapes do not express. */
export class ElbValidationError extends WharfError {
  constructor(message: string) { super('ValidationError', message); }
}

export class TargetGroupNotFoundException extends WharfError {
  constructor(message = 'One or more target groups not found') { super('TargetGroupNotFound', message); }
}

export class LoadBalancerNotFoundException extends WharfError {
  constructor(message = 'One or more load balancers not found') { super('LoadBalancerNotFound', message); }
}

export class DuplicateTargetGroupNameException extends WharfError {
  constructor(name: string) { super('DuplicateTargetGroupName', `A target group with the same name '${name}' exists, but with different settings`); }
}

export class ResourceInUseException extends WharfError {
  constructor(message: string) { super('ResourceInUse', message); }
}

export class InvalidTargetException extends WharfError {
  constructor(message: string) { super('InvalidTarget', message); }
}

export class InvalidConfigurationRequestException extends WharfError {
  constructor(message: string) { super('InvalidConfigurationRequest', message); }
}

export class TooManyTargetsException extends WharfError {
  constructor(message: string) { super('TooManyTargets', message); }
}

export class TooManyTargetGroupsException extends WharfError {
  constructor(message: string) { super('TooManyTargetGroups', message); }
}

export class ElbTooManyTagsException extends WharfError {
  constructor(message: string) { super('TooManyTags', message); }
}
