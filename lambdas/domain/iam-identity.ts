import { isName } from '../../core/ids.ts';
import type { AgentIdentity } from './identity.ts';

/** What an agent role stands for: the cluster its hosts belong to, and whether they are seeds. */
export interface AgentRole {
  readonly cluster: string;
  readonly seed: boolean;
  /** For an ECS task role: the ECS cluster (name or ARN) its tasks run in, to look them up. */
  readonly ecsCluster?: string;
}

/** Role name → what it stands for (MAYFLY_AGENT_ROLES, set by the CDK). */
export type AgentRoles = ReadonlyMap<string, AgentRole>;

/**
 * Parses MAYFLY_AGENT_ROLES: JSON `{ "<role name>": "<cluster>" }`,
 * `{ "<role name>": { "cluster": "<cluster>", "seed": true } }` (a seed fleet has its own role),
 * or the list the CDK writes, `[{ "role": "<role name>", "cluster": "<cluster>", "seed": false, "ecsCluster"?: "<arn>" }]`.
 * Error (thrown at start) for anything else, so a typo never admits a role.
 */
export function parseAgentRoles(json: string | undefined): AgentRoles {
  const roles = new Map<string, AgentRole>();
  if (!json?.trim()) return roles;
  let parsed: unknown = JSON.parse(json);
  if (Array.isArray(parsed)) {
    if (!parsed.every((entry) => typeof entry === 'object' && entry !== null && typeof entry.role === 'string' && entry.role)) {
      throw new Error('MAYFLY_AGENT_ROLES: each entry of the list needs a role name');
    }
    parsed = Object.fromEntries(parsed.map(({ role, ...binding }) => [role, binding]));
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('MAYFLY_AGENT_ROLES must be a JSON object');
  for (const [role, value] of Object.entries(parsed)) {
    const entry = typeof value === 'string' ? { cluster: value, seed: false } : (value as { cluster?: unknown; seed?: unknown; ecsCluster?: unknown });
    const ecsCluster = 'ecsCluster' in entry ? entry.ecsCluster : undefined;
    if (!isName(entry?.cluster) || (entry.seed !== undefined && typeof entry.seed !== 'boolean') || (ecsCluster !== undefined && (typeof ecsCluster !== 'string' || !ecsCluster))) {
      throw new Error(`MAYFLY_AGENT_ROLES: role ${role} needs a cluster name (and an optional boolean seed and ECS cluster)`);
    }
    roles.set(role, { cluster: entry.cluster, seed: entry.seed === true, ...(ecsCluster ? { ecsCluster } : {}) });
  }
  return roles;
}

/** An assumed-role session: `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
export interface AssumedRole {
  readonly account: string;
  readonly role: string;
  readonly session: string;
}

/** Undefined for any other ARN (an IAM user, a federated user, a malformed string). */
export function parseAssumedRoleArn(arn: string): AssumedRole | undefined {
  const match = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/([\w+=,.@-]+)$/.exec(arn);
  return match ? { account: match[1], role: match[2], session: match[3] } : undefined;
}

/**
 * The agent a signed request comes from: peer id = the session name (an EC2
 * instance role's session is the instance id; an ECS task role's is the task id),
 * cluster and seed = the role's mapping. Site and address are not bound here:
 * host-directory.ts binds them to the cloud's records where the scheduler has
 * them; without, the body's site is taken and the address must be private.
 * Undefined for a role outside the mapping or a session name that is no peer id.
 */
export function agentOfArn(arn: string, roles: AgentRoles): AgentIdentity | undefined {
  const caller = parseAssumedRoleArn(arn);
  const role = caller && roles.get(caller.role);
  if (!caller || !role || !isName(caller.session)) return undefined;
  return { kind: 'agent', peerId: caller.session, cluster: role.cluster, seed: role.seed, addrs: [], addrCheck: 'private' };
}

/** The role mapping a signed request's caller falls under (undefined as for agentOfArn). */
export function roleOfArn(arn: string, roles: AgentRoles): AgentRole | undefined {
  const caller = parseAssumedRoleArn(arn);
  return caller ? roles.get(caller.role) : undefined;
}
