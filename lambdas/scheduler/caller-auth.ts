import type { Context, MiddlewareHandler } from 'hono';
import { AUTH_HEADER } from '../../core/constants.ts';
import { ForbiddenError, UnauthorizedError } from '../../core/errors.ts';
import type { Caller, IdentityResolver } from '../domain/identity.ts';
import { platformCallerOf } from '../shared/caller-address.ts';

const CALLER = 'caller';

/**
 * Who calls: the identity its credentials prove (a bearer token, or the IAM
 * caller of a signed Function URL request) and the platform's source address.
 * 401 without a proven identity. Only GET (read) routes admit the operator; every
 * other route is an agent route, and an agent credential is the only key to it.
 */
export function callerAuth(resolver: IdentityResolver): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.path.endsWith('/health')) return next();
    const header = c.req.header(AUTH_HEADER) ?? '';
    const platform = platformCallerOf(c);
    const identity = await resolver.resolve({ bearer: header.startsWith('Bearer ') ? header.slice(7) : undefined, iamArn: platform.iamArn });
    if (!identity) throw new UnauthorizedError('missing or invalid credentials');
    if (identity.kind !== 'agent' && c.req.method !== 'GET') {
      throw new ForbiddenError('agent routes take an agent credential (POST /v1/tokens with scope "agent"), not the operator\'s');
    }
    c.set(CALLER as never, { identity, sourceIp: platform.sourceIp } satisfies Caller as never);
    return next();
  };
}

/** The caller callerAuth proved for this request. */
export function callerOf(c: Context): Caller {
  return c.get(CALLER as never) as Caller;
}
