import { ForbiddenError, UnavailableError } from './errors.ts';
import { ecrRegionOf } from './registry-credentials.ts';

/** One request to sign, as the SigV4 signers of agent/control and lambdas/stores take it. */
export interface SignableRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface RegistryAuthorizationsOptions {
  /** Configured Basic authorizations by registry host (core/registry-credentials.ts). */
  readonly configured: ReadonlyMap<string, string>;
  /** Signs an ECR API call (SigV4, service `ecr`) with this host's role; absent: no ECR tokens. */
  readonly signEcr?: (region: string, request: SignableRequest) => Promise<Record<string, string>>;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
}

/** An ECR token is renewed this long before it expires (they last 12 hours). */
const RENEW_BEFORE_MS = 15 * 60_000;

/**
 * The `Authorization` this deployment sends a registry on its own behalf (a seed preheating
 * a blob, the manager resolving a manifest; never a runtime's pull): the configured Basic
 * credentials of the host, else for an ECR host a token from `ecr:GetAuthorizationToken`
 * with the role's credentials (cached until shortly before it expires), else none.
 */
export class RegistryAuthorizations {
  private readonly ecrTokens = new Map<string, { authorization: string; expiresAt: number }>();

  constructor(private readonly options: RegistryAuthorizationsOptions) {}

  /** For a registry host (`host[:port]`); ForbiddenError / UnavailableError when ECR refuses or fails. */
  async for(host: string): Promise<string | undefined> {
    const name = host.toLowerCase();
    const configured = this.options.configured.get(name);
    if (configured) return configured;
    const region = ecrRegionOf(name);
    if (!region || !this.options.signEcr) return undefined;
    const now = (this.options.now ?? Date.now)();
    const cached = this.ecrTokens.get(region);
    if (cached && cached.expiresAt - RENEW_BEFORE_MS > now) return cached.authorization;
    const token = await this.ecrToken(region, now);
    this.ecrTokens.set(region, token);
    return token.authorization;
  }

  private async ecrToken(region: string, now: number): Promise<{ authorization: string; expiresAt: number }> {
    const url = `https://api.ecr.${region}.amazonaws.com/`;
    const request: SignableRequest = {
      method: 'POST',
      url,
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken' },
      body: '{}',
    };
    const headers = await this.options.signEcr!(region, request);
    const answer = await (this.options.fetch ?? fetch)(url, { method: 'POST', headers, body: request.body, signal: AbortSignal.timeout(10_000) }).catch((cause) => {
      throw new UnavailableError(`ecr:GetAuthorizationToken in ${region} failed: ${(cause as Error).message}`, { cause });
    });
    const text = await answer.text();
    if (answer.status === 400 || answer.status === 403) throw new ForbiddenError(`ecr:GetAuthorizationToken in ${region} was refused (${answer.status}): ${text.slice(0, 200)}`);
    if (answer.status !== 200) throw new UnavailableError(`ecr:GetAuthorizationToken in ${region} answered ${answer.status}`);
    const data = (JSON.parse(text) as { authorizationData?: Array<{ authorizationToken?: string; expiresAt?: number }> }).authorizationData?.[0];
    if (!data?.authorizationToken) throw new UnavailableError(`ecr:GetAuthorizationToken in ${region} returned no token`);
    // expiresAt is epoch seconds (JSON 1.1 timestamps).
    return { authorization: `Basic ${data.authorizationToken}`, expiresAt: typeof data.expiresAt === 'number' ? data.expiresAt * 1000 : now + 60 * 60_000 };
  }
}
