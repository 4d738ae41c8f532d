/**
 * Elastic Load Balancing v2's errors. The code is the one ELB puts in `<Code>` (the model's
 * `error.code`, e.g. `LoadBalancerNotFound` for LoadBalancerNotFoundException); the awsQuery
 * protocol answers each with the HTTP status the model gives it (400 for all of these).
 */
import { WharfError } from './errors.js';

/** Input that breaks ELB's rules beyond what the model says; the message names the field. */
export class ElbValidationError extends WharfError {
  constructor(message: string) { super('ValidationError', message); }
}

export class LoadBalancerNotFoundException extends WharfError {
  constructor(message = 'One or more load balancers not found') { super('LoadBalancerNotFound', message); }
}

export class DuplicateLoadBalancerNameException extends WharfError {
  constructor(message: string) { super('DuplicateLoadBalancerName', message); }
}

export class TooManyLoadBalancersException extends WharfError {
  constructor(message: string) { super('TooManyLoadBalancers', message); }
}

export class ListenerNotFoundException extends WharfError {
  constructor(message = 'One or more listeners not found') { super('ListenerNotFound', message); }
}

export class DuplicateListenerException extends WharfError {
  constructor(message: string) { super('DuplicateListener', message); }
}

export class TooManyListenersException extends WharfError {
  constructor(message: string) { super('TooManyListeners', message); }
}

export class RuleNotFoundException extends WharfError {
  constructor(message = 'One or more rules not found') { super('RuleNotFound', message); }
}

export class PriorityInUseException extends WharfError {
  constructor(message: string) { super('PriorityInUse', message); }
}

export class TooManyRulesException extends WharfError {
  constructor(message: string) { super('TooManyRules', message); }
}

export class TooManyActionsException extends WharfError {
  constructor(message: string) { super('TooManyActions', message); }
}

export class TooManyTargetGroupsException extends WharfError {
  constructor(message: string) { super('TooManyTargetGroups', message); }
}

export class TargetGroupNotFoundException extends WharfError {
  constructor(message = 'One or more target groups not found') { super('TargetGroupNotFound', message); }
}

export class InvalidLoadBalancerActionException extends WharfError {
  constructor(message: string) { super('InvalidLoadBalancerAction', message); }
}

export class IncompatibleProtocolsException extends WharfError {
  constructor(message: string) { super('IncompatibleProtocols', message); }
}

export class UnsupportedProtocolException extends WharfError {
  constructor(message: string) { super('UnsupportedProtocol', message); }
}

export class CertificateNotFoundException extends WharfError {
  constructor(message: string) { super('CertificateNotFound', message); }
}

export class InvalidConfigurationRequestException extends WharfError {
  constructor(message: string) { super('InvalidConfigurationRequest', message); }
}

export class OperationNotPermittedException extends WharfError {
  constructor(message: string) { super('OperationNotPermitted', message); }
}

/** A target group is already used by another load balancer (ELB allows one per target group). */
export class TargetGroupAssociationLimitException extends WharfError {
  constructor(message: string) { super('TargetGroupAssociationLimit', message); }
}

export class ElbTooManyTagsException extends WharfError {
  constructor(message = 'The quota for the number of tags that can be assigned to a resource has been reached') {
    super('TooManyTags', message);
  }
}

export class DuplicateTagKeysException extends WharfError {
  constructor(key: string) { super('DuplicateTagKeys', `Tag key '${key}' is duplicated`); }
}
