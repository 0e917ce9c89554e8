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
}

/** Errors: UnavailableError (with retryAfterMs) when the state store throttles or is down. */
export interface TokenStore {
  create(token: TokenRecord): Promise<void>;
  list(): Promise<TokenRecord[]>;
  /** The token id a secret's hash belongs to, when it is live at `now`. */
  lookup(hash: string, now: number): Promise<string | undefined>;
  /** False when no such token exists. */
  revoke(id: string): Promise<boolean>;
}
