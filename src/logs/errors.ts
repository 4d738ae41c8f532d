/** CloudWatch Logs' own error types (the ones ECS and ECR do not share). */
import { WharfError } from '../model/index.js';

export class ResourceAlreadyExistsException extends WharfError {
  constructor(message: string) { super('ResourceAlreadyExistsException', message); }
}
