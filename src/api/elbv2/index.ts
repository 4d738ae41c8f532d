/** The ELBv2 operations Wharf serves: each handler module's operations, combined by wire name. */
import type { DomainContext } from '../../domain/index.js';
import { targetGroupHandlers } from './target-group-handlers.js';

export function elbv2Handlers(ctx: DomainContext): Record<string, (input: any) => Promise<unknown>> {
  return { ...targetGroupHandlers(ctx) };
}
