import { Sha256 } from '@aws-crypto/sha256-js';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { UnavailableError } from '../../core/errors.ts';
import type { DigestDispatcher, DigestJob } from '../domain/digest.ts';

export interface LambdaDigestDispatcherOptions {
  /** The digest function's name or ARN (MAYFLY_DIGEST_FUNCTION). */
  readonly functionName: string;
  readonly region: string;
  /** Invokes sent at once. */
  readonly concurrency?: number;
  readonly fetch?: typeof fetch;
}

/**
 * The Lambda scheduler's dispatcher: one asynchronous invoke (InvocationType
 * Event: Lambda queues it and retries twice) per job, so a large object's
 * pieces are hashed by many functions at once. The invoke is one signed POST,
 * sent without @aws-sdk/client-lambda to keep the scheduler bundle small.
 */
export class LambdaDigestDispatcher implements DigestDispatcher {
  private readonly signer: SignatureV4;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: LambdaDigestDispatcherOptions) {
    this.signer = new SignatureV4({ service: 'lambda', region: options.region, credentials: defaultProvider(), sha256: Sha256 });
    this.fetch = options.fetch ?? fetch;
  }

  async dispatch(jobs: readonly DigestJob[]): Promise<void> {
    const concurrency = this.options.concurrency ?? 16;
    for (let i = 0; i < jobs.length; i += concurrency) await Promise.all(jobs.slice(i, i + concurrency).map((job) => this.invoke(job)));
  }

  private async invoke(job: DigestJob): Promise<void> {
    const hostname = `lambda.${this.options.region}.amazonaws.com`;
    const path = `/2015-03-31/functions/${encodeURIComponent(this.options.functionName)}/invocations`;
    const request = new HttpRequest({
      method: 'POST', protocol: 'https:', hostname, path,
      headers: { host: hostname, 'content-type': 'application/json', 'x-amz-invocation-type': 'Event' },
      body: JSON.stringify(job),
    });
    const signed = await this.signer.sign(request);
    const response = await this.fetch(`https://${hostname}${path}`, { method: 'POST', headers: signed.headers, body: signed.body as string });
    if (response.status !== 202) {
      throw new UnavailableError(`digest function invoke answered ${response.status}`, { context: { taskId: job.taskId, status: response.status, retryAfterMs: 1000 } });
    }
  }
}
