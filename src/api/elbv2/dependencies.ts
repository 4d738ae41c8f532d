import type { DomainContext } from '../../domain/index.js';

/** What the ELBv2 handlers need from the server. */
export interface Elbv2Dependencies {
  ctx: DomainContext;
  /** The host a load balancer's DNSName answers: the server's advertise host, as Wharf has no DNS. */
  advertiseHost: () => string;
}
