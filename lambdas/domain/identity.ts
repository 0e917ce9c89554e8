import { ForbiddenError } from '../../core/errors.ts';

/**
 * Who is calling the scheduler, as its authentication proved it — never as a
 * request body claims. An agent identity binds one peer id to its cluster, site,
 * role (seed or not, designated by the operator) and the addresses it may advertise.
 */
export interface AgentIdentity {
  readonly kind: 'agent';
  readonly peerId: string;
  readonly cluster: string;
  /** Undefined: the identity does not bind the site (IAM without an EC2 lookup); the body's is taken. */
  readonly site?: string;
  /** Designated seed (the operator's choice: token scope or IAM role mapping), never the body's claim. */
  readonly seed: boolean;
  /** Hosts or IPs this agent may advertise besides the announce's source address (NAT). */
  readonly addrs: readonly string[];
  /**
   * How an advertised address is checked: `source` (the default) — the request's source
   * address or one of `addrs`; `private` — a private address (IAM callers reach the Function
   * URL through NAT, so their source address is not theirs); `listed` — one of `addrs` only
   * (IAM callers bound to their EC2 or ECS record).
   */
  readonly addrCheck?: 'source' | 'private' | 'listed';
}

/** The operator (its bearer token or an operator-scoped access token): read routes only. */
export interface OperatorIdentity {
  readonly kind: 'operator';
}

export type Identity = AgentIdentity | OperatorIdentity;

/** One request's caller: its identity and the network address the request came from. */
export interface Caller {
  readonly identity: Identity;
  /** The request's source IP as the platform saw it (socket or Function URL), never a header. */
  readonly sourceIp?: string;
}

/** What a request carries that can prove who sent it. */
export interface Credentials {
  /** The bearer token, without `Bearer `. */
  readonly bearer?: string;
  /** The SigV4-verified caller ARN of an IAM-authenticated Function URL. */
  readonly iamArn?: string;
}

/**
 * Resolves credentials to an identity; undefined when they prove none.
 * Errors: UnavailableError when the store behind it throttles or is down.
 */
export interface IdentityResolver {
  resolve(credentials: Credentials): Promise<Identity | undefined>;
}

/** The calling agent; ForbiddenError for the operator (agent routes). */
export function agentOf(caller: Caller): AgentIdentity {
  if (caller.identity.kind !== 'agent') throw new ForbiddenError('this route takes an agent credential, not the operator\'s');
  return caller.identity;
}
