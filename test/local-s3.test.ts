import { GetObjectCommand, PutObjectCommand, S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_S3_MAX_SEGMENT_BYTES } from '../local/s3-key-guard.ts';
import { LocalStack } from '../local/local-stack.ts';
import { localS3Client } from '../local/s3-server.ts';

/** One client request must never take the local stack down (`npm start` runs this server in-process). */
describe('the local stack S3-compatible server', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await LocalStack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('answers a key it cannot store with an S3 error and keeps serving', async () => {
    const tooLong = `keys/${'x'.repeat(970)}.bin`;
    for (const client of [stack.s3, localS3Client(stack.origin.endpoint)]) {
      const refused = await client.send(new PutObjectCommand({ Bucket: stack.bucket, Key: tooLong, Body: 'hi' })).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(S3ServiceException);
      expect((refused as S3ServiceException).name).toBe('KeyTooLongError');
      expect((refused as S3ServiceException).$metadata.httpStatusCode).toBe(400);
      const read = await client.send(new GetObjectCommand({ Bucket: stack.bucket, Key: tooLong })).catch((error: unknown) => error);
      expect((read as S3ServiceException).$metadata.httpStatusCode).toBe(400);
    }
    // The longest segment it can hold still works, and so does everything after the refusals.
    const longest = `keys/${'y'.repeat(LOCAL_S3_MAX_SEGMENT_BYTES)}`;
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: longest, Body: 'fits' }));
    const answer = await stack.s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: longest }));
    expect(await answer.Body!.transformToString()).toBe('fits');
  });
});
