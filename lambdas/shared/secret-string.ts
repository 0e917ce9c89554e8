import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { MayflyError } from '../../core/errors.ts';

/**
 * Reads a Secrets Manager secret's string when a function starts, so the value sits in
 * no function configuration (anyone with lambda:GetFunctionConfiguration could read an
 * environment variable). Only this function's role may read the secret.
 */
export async function readSecretString(secretId: string, client: SecretsManagerClient = new SecretsManagerClient({})): Promise<string> {
  const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  if (!answer.SecretString) {
    throw new MayflyError(`secret ${secretId} has no string value`, { context: { secretId } });
  }
  return answer.SecretString;
}
