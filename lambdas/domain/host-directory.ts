import { ForbiddenError } from '../../core/errors.ts';
import type { AgentIdentity } from './identity.ts';

/** Where the cloud's own records place a host: never what the host says of itself. */
export interface HostRecord {
  /** The availability zone the instance or task runs in (the agent's site). */
  readonly site: string;
  /** The private IPv4 and IPv6 addresses of its network interfaces. */
  readonly addrs: readonly string[];
}

/** Which host to look up: an EC2 instance id, or an ECS task id with the cluster it runs in. */
export interface HostQuery {
  readonly peerId: string;
  /** The ECS cluster (name or ARN) of the role's tasks; absent for EC2 instance roles. */
  readonly ecsCluster?: string;
}

/**
 * The cloud's records of fleet hosts (EC2 DescribeInstances, ECS DescribeTasks).
 * Undefined when no running host has that id. Errors: UnavailableError when the
 * cloud API throttles or cannot be reached.
 */
export interface HostDirectory {
  lookup(query: HostQuery): Promise<HostRecord | undefined>;
}

/**
 * An IAM caller's identity bound to its host record: the site is the record's zone
 * and only the record's addresses may be advertised (the request's source address
 * is a NAT's, so it proves nothing). ForbiddenError when no running host matches.
 */
export function bindToHostRecord(identity: AgentIdentity, record: HostRecord | undefined): AgentIdentity {
  if (!record) {
    throw new ForbiddenError('the caller is not a running instance or task this deployment knows', { context: { peerId: identity.peerId } });
  }
  return { ...identity, site: record.site, addrs: record.addrs, addrCheck: 'listed' };
}
