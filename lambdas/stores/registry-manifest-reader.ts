import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash } from 'node:crypto';
import { BadRequestError, ForbiddenError, IntegrityError, NotFoundError, UnavailableError } from '../../core/errors.ts';
import { RegistryAuthorizations, type SignableRequest } from '../../core/registry-authorizations.ts';
import { parseRegistryCredentials } from '../../core/registry-credentials.ts';
import { INDEX_TYPES, MANIFEST_TYPES } from '../domain/image-manifest.ts';
import type { ImageRegistry, ManifestDocument } from '../domain/image-registry.ts';

/** A manifest larger than this is refused (real ones are a few KiB). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

/**
 * Manifests over the OCI distribution API with this deployment's credentials:
 * `credentials` (`host=user:password,…`), else an ECR token from the function's role.
 */
export class RegistryManifestReader implements ImageRegistry {
  private readonly authorizations: RegistryAuthorizations;

  constructor(credentials: string | undefined) {
    this.authorizations = new RegistryAuthorizations({ configured: parseRegistryCredentials(credentials), signEcr: signWithRole });
  }

  async manifest(registry: string, repository: string, reference: string): Promise<ManifestDocument> {
    const authorization = await this.authorizations.for(new URL(registry).host);
    const url = `${registry}/v2/${repository}/manifests/${reference}`;
    const answer = await fetch(url, {
      headers: { accept: [...INDEX_TYPES, ...MANIFEST_TYPES].join(', '), ...(authorization ? { authorization } : {}) },
      signal: AbortSignal.timeout(15_000),
    }).catch((cause) => {
      throw new UnavailableError(`cannot reach the registry ${registry}: ${(cause as Error).message}`, { cause });
    });
    if (answer.status === 401 || answer.status === 403) throw new ForbiddenError(`the registry ${registry} refused the manager's credentials for ${repository} (${answer.status}); set MAYFLY_REGISTRY_CREDENTIALS or grant the role ECR pulls`);
    if (answer.status === 404) throw new NotFoundError(`the registry ${registry} has no manifest ${repository}:${reference}`, { context: { repository, reference } });
    if (answer.status !== 200) throw new UnavailableError(`the registry ${registry} answered ${answer.status} for a manifest`);
    const raw = await readCapped(answer, MAX_MANIFEST_BYTES, registry);
    if (!raw) throw new BadRequestError(`the manifest ${repository}:${reference} is over ${MAX_MANIFEST_BYTES} bytes`);
    const text = raw.toString('utf8');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new BadRequestError(`the manifest ${repository}:${reference} is not JSON`);
    }
    // The digest of the bytes themselves: a manifest named by digest must hash to it.
    const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
    if (reference.startsWith('sha256:') && digest !== reference) throw new IntegrityError(`the registry ${registry} answered a manifest for ${reference} that hashes to ${digest}`);
    return { mediaType: answer.headers.get('content-type') ?? undefined, body, digest };
  }
}

/**
 * The body, read until it passes `max` bytes (then undefined, and the rest is not read):
 * a registry that sends a body without end must not fill the function's memory.
 */
async function readCapped(answer: Response, max: number, registry: string): Promise<Buffer | undefined> {
  if (Number(answer.headers.get('content-length') ?? 0) > max) {
    await answer.body?.cancel().catch(() => {});
    return undefined;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of (answer.body ?? []) as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > max) {
        await answer.body?.cancel().catch(() => {});
        return undefined;
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (cause) {
    throw new UnavailableError(`the registry ${registry} stopped sending a manifest: ${(cause as Error).message}`, { cause });
  }
  return Buffer.concat(chunks);
}

const signers = new Map<string, SignatureV4>();

/** SigV4 for the ECR API with the function's role (GetAuthorizationToken). */
async function signWithRole(region: string, request: SignableRequest): Promise<Record<string, string>> {
  let signer = signers.get(region);
  if (!signer) signers.set(region, (signer = new SignatureV4({ service: 'ecr', region, credentials: defaultProvider(), sha256: Sha256 })));
  const url = new URL(request.url);
  const signed = await signer.sign(new HttpRequest({ method: request.method, protocol: url.protocol, hostname: url.hostname, path: url.pathname, headers: { ...request.headers, host: url.host }, body: request.body }));
  const { host: _host, ...headers } = signed.headers;
  return headers;
}
