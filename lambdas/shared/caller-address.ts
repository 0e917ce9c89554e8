import type { Context } from 'hono';

/**
 * What the platform, not the request, says about a request's origin: the source
 * IP (Node: the socket's peer; Lambda Function URL: requestContext.http.sourceIp)
 * and, behind an IAM-authenticated Function URL, the SigV4-verified caller ARN.
 * Headers such as X-Forwarded-For are never read: a client writes those.
 */
export interface PlatformCaller {
  readonly sourceIp?: string;
  readonly iamArn?: string;
}

interface PlatformEnv {
  /** @hono/node-server */
  readonly incoming?: { socket?: { remoteAddress?: string } };
  /** hono/aws-lambda */
  readonly event?: { requestContext?: { http?: { sourceIp?: string }; authorizer?: { iam?: { userArn?: string } } } };
}

export function platformCallerOf(c: Context): PlatformCaller {
  const env = (c.env ?? {}) as PlatformEnv;
  const context = env.event?.requestContext;
  return {
    sourceIp: context?.http?.sourceIp ?? env.incoming?.socket?.remoteAddress,
    iamArn: context?.authorizer?.iam?.userArn,
  };
}
