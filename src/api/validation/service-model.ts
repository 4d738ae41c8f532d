/**
 * A trimmed AWS service model, as `scripts/gen-service-models.py` writes it from botocore: the
 * botocore layout without documentation. Field meanings are botocore's.
 */
export interface ServiceModel {
  botocoreVersion: string;
  metadata: ServiceMetadata;
  operations: Record<string, OperationModel>;
  shapes: Record<string, ShapeModel>;
}

export interface ServiceMetadata {
  /** `json`, `query`, `rest-json`, ... */
  protocol: string;
  jsonVersion?: string;
  /** Prefix of X-Amz-Target for JSON protocols, e.g. `AmazonEC2ContainerServiceV20141113`. */
  targetPrefix?: string;
  /** The service name in SigV4 credential scopes. */
  signingName: string;
  endpointPrefix: string;
  apiVersion: string;
  serviceId: string;
  xmlNamespace?: string;
}

export interface OperationModel {
  input?: string;
  output?: string;
  /** awsQuery only: the element wrapping the output (`<Op>Result`). */
  outputWrapper?: string;
  /** Error shape names the operation may answer. */
  errors: string[];
}

export type ShapeType =
  | 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'double' | 'float' | 'timestamp' | 'blob';

export interface MemberRef {
  shape: string;
  locationName?: string;
  xmlNamespace?: unknown;
  xmlAttribute?: boolean;
  flattened?: boolean;
  timestampFormat?: string;
  jsonvalue?: boolean;
  idempotencyToken?: boolean;
  location?: string;
  queryName?: string;
  hostLabel?: boolean;
  eventpayload?: boolean;
}

export interface ShapeModel {
  type: ShapeType;
  members?: Record<string, MemberRef>;
  required?: string[];
  member?: MemberRef;
  key?: MemberRef;
  value?: MemberRef;
  enum?: string[];
  /** Numbers: the value; strings, blobs, lists, maps: the length. */
  min?: number;
  max?: number;
  pattern?: string;
  /** A structure holding arbitrary JSON (`Document`). */
  document?: boolean;
  /** A structure with exactly one member set. */
  union?: boolean;
  /** Values must not be echoed in messages or logs. */
  sensitive?: boolean;
  exception?: boolean;
  fault?: boolean;
  error?: { code?: string; httpStatusCode?: number; senderFault?: boolean };
  timestampFormat?: string;
  flattened?: boolean;
  locationName?: string;
  xmlNamespace?: unknown;
  event?: boolean;
  eventstream?: boolean;
}
