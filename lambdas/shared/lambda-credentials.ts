/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles
 * (an esbuild alias in scripts/bundles.ts). Lambda always hands a function its
 * role's credentials in environment variables, so the SDK's full chain (SSO,
 * STS, INI files, IMDS …) is dead weight that every cold start would compile.
 */
export function defaultProvider(): () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }> {
  return async () => {
    const accessKeyId = process.env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = process.env.AWS_SECRET_ACCESS_KEY;
    if (!accessKeyId || !secretAccessKey) {
      throw new Error('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set (the Lambda runtime sets them from the role)');
    }
    return { accessKeyId, secretAccessKey, sessionToken: process.env.AWS_SESSION_TOKEN || undefined };
  };
}
