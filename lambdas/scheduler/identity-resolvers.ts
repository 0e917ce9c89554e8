import { timingSafeEqual } from 'node:crypto';
import type { AgentRoles } from '../domain/iam-identity.ts';
import { agentOfArn, roleOfArn } from '../domain/iam-identity.ts';
import { bindToHostRecord, type HostDirectory } from '../domain/host-directory.ts';
import type { Credentials, Identity, IdentityResolver } from '../domain/identity.ts';
import { hashToken, TOKEN_PREFIX, type TokenGrant, type TokenStore } from '../domain/token.ts';

/**
 * Bearer tokens (local and self-hosted stacks): the control plane's operator token,
 * and access tokens issued by the manager — an agent token resolves to the agent it
 * is bound to, an operator-scoped one to the operator. A positive lookup is trusted
 * by this instance for `cacheMs` (revocation lands within it), as the manager's is.
 */
export class TokenIdentityResolver implements IdentityResolver {
  private readonly operator: Buffer | undefined;
  private readonly cache = new Map<string, { until: number; grant: TokenGrant }>();

  constructor(
    operatorToken: string | undefined,
    private readonly store: Pick<TokenStore, 'lookup'>,
    private readonly now: () => number = Date.now,
    private readonly cacheMs = 5_000,
  ) {
    this.operator = operatorToken ? Buffer.from(operatorToken) : undefined;
  }

  async resolve({ bearer }: Credentials): Promise<Identity | undefined> {
    if (!bearer) return undefined;
    if (this.operator && isOperatorToken(this.operator, bearer)) return { kind: 'operator' };
    if (!bearer.startsWith(TOKEN_PREFIX)) return undefined;
    const grant = await this.grantOf(hashToken(bearer));
    if (!grant) return undefined;
    if (grant.scope === 'operator' || !grant.agent) return { kind: 'operator' };
    return { kind: 'agent', ...grant.agent };
  }

  private async grantOf(hash: string): Promise<TokenGrant | undefined> {
    const now = this.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.grant;
    const grant = await this.store.lookup(hash, now);
    if (grant) this.cache.set(hash, { until: now + this.cacheMs, grant });
    else this.cache.delete(hash);
    if (this.cache.size > 10_000) this.cache.clear();
    return grant;
  }
}

function isOperatorToken(expected: Buffer, given: string): boolean {
  const bytes = Buffer.from(given);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}

/**
 * IAM-authenticated Function URLs (AWS): Lambda verified the SigV4 signature, so
 * the caller ARN is proven; the role mapping (MAYFLY_AGENT_ROLES) makes it an agent
 * (domain/iam-identity.ts). With a host directory, its site and the addresses it may
 * advertise come from EC2's or ECS's records of that instance or task; a caller with
 * no running host behind it is refused (ForbiddenError). A principal outside the
 * mapping proves no identity here.
 */
export class IamIdentityResolver implements IdentityResolver {
  constructor(
    private readonly roles: AgentRoles,
    private readonly hosts?: HostDirectory,
  ) {}

  async resolve({ iamArn }: Credentials): Promise<Identity | undefined> {
    const agent = iamArn ? agentOfArn(iamArn, this.roles) : undefined;
    if (!agent || !this.hosts) return agent;
    const ecsCluster = roleOfArn(iamArn!, this.roles)?.ecsCluster;
    return bindToHostRecord(agent, await this.hosts.lookup({ peerId: agent.peerId, ...(ecsCluster ? { ecsCluster } : {}) }));
  }
}
