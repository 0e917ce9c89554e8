import { createHash, randomBytes } from 'node:crypto';
import { NotFoundError } from '../../core/errors.ts';
import type { CreateTokenRequest } from '../../core/wire/manager.ts';
import type { TokenStore } from '../domain/token.ts';

export const TOKEN_PREFIX = 'mf_';

export interface TokenView {
  readonly id: string;
  readonly name: string;
  readonly createdAt: string;
  readonly expiresAt?: string;
  readonly revoked: boolean;
}

export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Access tokens for the manager API. The secret is shown once; only its sha256 is stored. */
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
    const record = {
      id: randomBytes(6).toString('hex'),
      name: request.name,
      hash: hashToken(token),
      createdAt: now,
      ...(request.expiresInDays ? { expiresAt: now + request.expiresInDays * 86_400_000 } : {}),
      revoked: false,
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

  /** True when `secret` is a live, unrevoked token. */
  async verify(secret: string): Promise<boolean> {
    if (!secret.startsWith(TOKEN_PREFIX)) return false;
    const hash = hashToken(secret);
    const now = this.now();
    const until = this.verified.get(hash);
    if (until !== undefined && until > now) return true;
    const id = await this.store.lookup(hash, now);
    if (!id) return false;
    this.verified.set(hash, now + this.cacheMs);
    return true;
  }
}

function view(record: { id: string; name: string; createdAt: number; expiresAt?: number; revoked: boolean }): TokenView {
  return {
    id: record.id,
    name: record.name,
    createdAt: new Date(record.createdAt).toISOString(),
    ...(record.expiresAt ? { expiresAt: new Date(record.expiresAt).toISOString() } : {}),
    revoked: record.revoked,
  };
}
