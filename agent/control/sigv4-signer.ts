import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { UnavailableError } from '../../core/errors.ts';

/** One outgoing control-plane request, as the scheduler client is about to send it. */
export interface OutgoingRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

/** Returns the headers to send instead of `request.headers` (the originals plus auth). */
export type RequestSigner = (request: OutgoingRequest) => Promise<Record<string, string>>;

export interface SigV4SignerOptions {
  /** Region of the endpoint; by default read from a Function URL host, else AWS_REGION. */
  readonly region?: string;
  /** Signing name; Lambda Function URLs with AWS_IAM auth verify as `lambda`. */
  readonly service?: string;
  /** By default the standard chain: env, shared config, SSO, ECS task role, EC2 instance role. */
  readonly credentials?: SigningCredentials;
  /** Fixed signing time, for tests. */
  readonly now?: () => Date;
}

/** Static credentials or a provider of them, as SignatureV4 takes them. */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

const FUNCTION_URL_HOST = /^[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws$/;

/** `abc.lambda-url.eu-west-1.on.aws` → `eu-west-1`; undefined for any other host. */
export function regionOfFunctionUrl(url: string): string | undefined {
  return FUNCTION_URL_HOST.exec(new URL(url).hostname)?.[1];
}

/**
 * Signs scheduler calls with AWS SigV4 so a Function URL with AWS_IAM auth admits them.
 * The host header is signed but not returned: fetch sets it from the URL itself.
 */
export function createSigV4Signer(options: SigV4SignerOptions = {}): RequestSigner {
  const credentials = options.credentials ?? defaultProvider();
  const signers = new Map<string, SignatureV4>();
  const signerFor = (region: string): SignatureV4 => {
    let signer = signers.get(region);
    if (!signer) {
      signer = new SignatureV4({ service: options.service ?? 'lambda', region, credentials, sha256: Sha256 });
      signers.set(region, signer);
    }
    return signer;
  };

  return async (request) => {
    const url = new URL(request.url);
    const region = options.region ?? regionOfFunctionUrl(request.url) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new UnavailableError(`cannot sign for ${url.host}: no region (set AWS_REGION)`);
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, key) => (query[key] = value));
    const unsigned = new HttpRequest({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port ? Number(url.port) : undefined,
      path: url.pathname,
      query,
      headers: { ...request.headers, host: url.host },
      body: request.body,
    });
    let signed: HttpRequest;
    try {
      signed = (await signerFor(region).sign(unsigned, { signingDate: options.now?.() })) as HttpRequest;
    } catch (cause) {
      // Most often: no credentials found on this host. Retryable, and the agent falls back to S3.
      throw new UnavailableError(`cannot sign the request to ${url.host}: ${(cause as Error).message}`, { cause });
    }
    const { host: _host, ...headers } = signed.headers;
    return headers;
  };
}
