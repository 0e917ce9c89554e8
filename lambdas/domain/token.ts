import { createHash } from 'node:crypto';

/** What an agent token is bound to (its scope `agent`). */
export interface AgentBinding {
  readonly peerId: string;
  readonly cluster: string;
  readonly site: string;
  /** Designated seed: the operator's choice, never the agent's. */
  readonly seed: boolean;
  /** Hosts or IPs the agent may advertise besides its source address (NAT). */
  readonly addrs: readonly string[];
}

/** `operator`: the manager API (and the scheduler's read routes); `agent`: the scheduler's agent routes only. */
export type TokenScope = 'operator' | 'agent';

/** A manager access token as stored: never the secret, only its sha256. */
export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  /** sha256 hex of the secret; the secret itself is never stored. */
  readonly hash: string;
  readonly createdAt: number;
  /** Epoch ms; undefined: no expiry. */
  readonly expiresAt?: number;
  readonly revoked: boolean;
  /** Absent on tokens made before scopes: operator. */
  readonly scope?: TokenScope;
  /** Set exactly when the scope is `agent`. */
  readonly agent?: AgentBinding;
}

/** What a live secret grants: its token id, scope and (agent scope) binding. */
export interface TokenGrant {
  readonly id: string;
  readonly scope: TokenScope;
  readonly agent?: AgentBinding;
}

/** Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down. */
export interface TokenStore {
  create(token: TokenRecord): Promise<void>;
  list(): Promise<TokenRecord[]>;
  /** What a secret's hash grants, when it is live at `now`. */
  lookup(hash: string, now: number): Promise<TokenGrant | undefined>;
  /** False when no such token exists. */
  revoke(id: string): Promise<boolean>;
}

/** Every secret the manager issues starts with this, so a scheduler can tell one from the operator's bearer token. */
export const TOKEN_PREFIX = 'mf_';

/** How a secret is stored and looked up: its sha256, hex. */
export function hashToken(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}
