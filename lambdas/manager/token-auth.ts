import type { MiddlewareHandler } from 'hono';
import { AUTH_HEADER } from '../../core/constants.ts';
import { bearerAuth } from '../shared/auth.ts';
import type { TokenService } from './token-service.ts';

/**
 * The manager accepts the control plane's bearer token (bearerAuth) or an
 * access token issued through /v1/tokens. Without a configured token the
 * platform authenticates (IAM on the Function URL) and every call passes.
 */
export function managerAuth(token: string | undefined, tokens: Pick<TokenService, 'verify'>): MiddlewareHandler {
  const base = bearerAuth(token);
  return async (c, next) => {
    const header = c.req.header(AUTH_HEADER) ?? '';
    if (token && header.startsWith('Bearer ') && (await tokens.verify(header.slice(7)))) return next();
    return base(c, next);
  };
}
