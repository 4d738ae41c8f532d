/**
 * The service event ECS writes when a service's task fits nowhere (Developer Guide,
 * service-event-messages), e.g.
 *   (service web) was unable to place a task because no container instance met all of its
 *   requirements. The closest matching container-instance 5ed586c73a7748a8aa66067ee6ea4017 has
 *   insufficient memory available. For more information, see the Troubleshooting section of the
 *   Amazon ECS Developer Guide.
 */
import { FAILURE_REASON_ORDER, type PlacementFailure } from './placement.js';

const TROUBLESHOOTING = 'For more information, see the Troubleshooting section of the Amazon ECS Developer Guide.';

/**
 * The event for service `serviceName` given why each instance refused (`place`'s failures). The
 * closest matching instance is the one that passed the most checks (a memberOf refusal means CPU,
 * memory and ports were there); among equals, the first. With no instance at all, only the first
 * sentence.
 */
export function describeUnplaceable(serviceName: string, failures: readonly PlacementFailure[]): string {
  const head = `(service ${serviceName}) was unable to place a task because no container instance met all of its requirements.`;
  let closest: PlacementFailure | undefined;
  let rank = -1;
  for (const f of failures) {
    const r = FAILURE_REASON_ORDER.indexOf(f.reason);
    if (r > rank) { closest = f; rank = r; }
  }
  if (!closest) return head;
  const id = closest.arn.slice(closest.arn.lastIndexOf('/') + 1);
  return `${head} The closest matching container-instance ${id} ${what(closest.reason)} ${TROUBLESHOOTING}`;
}

function what(reason: PlacementFailure['reason']): string {
  switch (reason) {
    case 'RESOURCE:CPU': return 'has insufficient CPU units available.';
    case 'RESOURCE:MEMORY': return 'has insufficient memory available.';
    case 'RESOURCE:PORTS': return 'is already using a port required by your task.';
    default: return `encountered error "${reason}".`;
  }
}
