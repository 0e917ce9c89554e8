import { RegistryAuthorizations } from '../../core/registry-authorizations.ts';
import { parseRegistryCredentials } from '../../core/registry-credentials.ts';
import { createSigV4Signer } from '../control/sigv4-signer.ts';

/**
 * This host's own registry credentials (for image preheats on a seed): the configured
 * `host=user:password,…`, else for an ECR host a token from `ecr:GetAuthorizationToken`
 * signed with the host's role. BadRequestError for a malformed setting.
 */
export function registryAuthorizations(spec: string | undefined): RegistryAuthorizations {
  const signers = new Map<string, ReturnType<typeof createSigV4Signer>>();
  return new RegistryAuthorizations({
    configured: parseRegistryCredentials(spec),
    signEcr: (region, request) => {
      let sign = signers.get(region);
      if (!sign) signers.set(region, (sign = createSigV4Signer({ region, service: 'ecr' })));
      return sign(request);
    },
  });
}
