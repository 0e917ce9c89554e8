import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { acknowledgeWildcardResources } from './nag-acknowledgments.ts';
import { originKey, originPrefixes, type MayflyOrigin } from './origin.ts';

/**
 * Lets `grantee` read exactly the configured origins, as a Mayfly reader does: HeadObject and
 * GetObject (and GetObjectVersion for pinned versions) on the allowed keys; ListBucket narrowed
 * to the same prefixes, which serves prefix preheats and lets S3 answer 404 rather than 403 for
 * a missing key; and `kms:Decrypt` on an origin's customer-managed key, only when S3 asks for it
 * (`kms:ViaService`), so the key cannot decrypt anything outside S3 for this principal.
 * Used for the Lambdas (presigned reads are decrypted with the signer's permissions) and for
 * the agents' direct fallback when the scheduler is unreachable.
 */
export function grantOriginReads(grantee: iam.IGrantable, origins: readonly MayflyOrigin[]): iam.Grant[] {
  const grants: iam.Grant[] = [];
  for (const origin of origins) {
    const prefixes = originPrefixes(origin);
    const objects = prefixes.map((prefix) => origin.bucket.arnForObjects(`${prefix}*`));
    acknowledgeWildcardResources(
      grantee.grantPrincipal,
      objects,
      'Keys under a configured origin (bucket or bucket/prefix): exactly what the operator allowed Mayfly to distribute.',
    );
    grants.push(
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resourceArns: objects,
      }),
      iam.Grant.addToPrincipal({
        grantee,
        actions: ['s3:ListBucket'],
        resourceArns: [origin.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes.map((prefix) => `${prefix}*`) } },
      }),
    );
    const key = originKey(origin);
    if (key) {
      grants.push(
        iam.Grant.addToPrincipal({
          grantee,
          actions: ['kms:Decrypt'],
          resourceArns: [key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${Aws.REGION}.amazonaws.com` } },
        }),
      );
    }
  }
  return grants;
}
