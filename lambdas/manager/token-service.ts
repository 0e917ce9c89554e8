import { randomBytes } from 'node:crypto';
import { DEFAULTS } from '../../core/constants.ts';
import { NotFoundError } from '../../core/errors.ts';
import type { CreateTokenRequest } from '../../core/wire/manager.ts';
import { hashToken, TOKEN_PREFIX, type AgentBinding, type TokenRecord, type TokenScope, type TokenStore } from '../domain/token.ts';

export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly revoked: boolean;
  readonly scope: TokenScope;
  /** Agent tokens: the peer id, cluster, site, role and addresses the token is bound to. */
  readonly agent?: AgentBinding;
}

/**
 * Access tokens: operator tokens for the manager API, agent tokens (one per agent,
 * bound to its peer id) for the scheduler's agent routes. The secret is shown once;
 * only its sha256 is stored.
 */
export class TokenService {
  private readonly verified = new Map<string, number>();

  constructor(
    private readonly store: TokenStore,
    private readonly now: () => number = Date.now,
    /** How long a positive check is trusted by this instance (revocation lands within it). */
    private readonly cacheMs = 5_000,
  ) {}

  async create(request: CreateTokenRequest): Promise<TokenView & { token: string }> {
    const now = this.now();
    const token = `${TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
    const scope = request.scope ?? 'operator';
    const record: TokenRecord = {
      id: randomBytes(6).toString('hex'),
      name: request.name,
      hash: hashToken(token),
      createdAt: now,
      ...(request.expiresInDays ? { expiresAt: now + request.expiresInDays * 86_400_000 } : {}),
      revoked: false,
      scope,
      ...(scope === 'agent' ? { agent: bindingOf(request) } : {}),
    };
    await this.store.create(record);
    return { ...view(record), token };
  }

  async list(): Promise<TokenView[]> {
    return (await this.store.list()).map(view);
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.revoke(id))) throw new NotFoundError(`no token with id ${id}`, { context: { id } });
    this.verified.clear();
  }

  /** True when `secret` is a live, unrevoked operator token (an agent token is no manager credential). */
  async verify(secret: string): Promise<boolean> {
    if (!secret.startsWith(TOKEN_PREFIX)) return false;
    const hash = hashToken(secret);
    const now = this.now();
    const until = this.verified.get(hash);
    if (until !== undefined && until > now) return true;
    const grant = await this.store.lookup(hash, now);
    if (grant?.scope !== 'operator') return false;
    this.verified.set(hash, now + this.cacheMs);
    return true;
  }
}

function bindingOf(request: CreateTokenRequest): AgentBinding {
  return {
    peerId: request.peerId!,
    cluster: request.cluster ?? DEFAULTS.site,
    site: request.site ?? DEFAULTS.site,
    seed: request.seed ?? false,
    addrs: request.addrs ?? [],
  };
}

function view(record: TokenRecord): TokenView {
  return {
    id: record.id,
    name: record.name,
    createdAt: new Date(record.createdAt).toISOString(),
    ...(record.expiresAt ? { expiresAt: new Date(record.expiresAt).toISOString() } : {}),
    revoked: record.revoked,
    scope: record.scope ?? 'operator',
    ...(record.agent ? { agent: record.agent } : {}),
  };
}
