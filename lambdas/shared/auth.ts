import type { MiddlewareHandler } from 'hono';
import { timingSafeEqual } from 'node:crypto';
import { AUTH_HEADER } from '../../core/constants.ts';

/**
 * Bearer-token check for the local stack and self-hosted control planes.
 * In AWS the Function URLs use AWS_IAM auth, so Lambda has already verified
 * the caller's SigV4 signature and no token is configured.
 */
export function bearerAuth(token: string | undefined): MiddlewareHandler {
  const expected = token ? Buffer.from(`Bearer ${token}`) : undefined;
  return async (c, next) => {
    if (!expected || c.req.path.endsWith('/health')) return next();
    const given = Buffer.from(c.req.header(AUTH_HEADER) ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return c.json({ error: 'Unauthorized', message: 'missing or invalid bearer token' }, 401);
    }
    return next();
  };
}
