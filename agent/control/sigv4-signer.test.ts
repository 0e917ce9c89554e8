import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchedulerClient } from './scheduler-client.ts';
import { createSigV4Signer, regionOfFunctionUrl } from './sigv4-signer.ts';
import { verifySigV4, type ReceivedRequest } from '../../test/fixtures/iam-front.ts';

const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const NOW = new Date('2025-03-04T05:06:07Z');
const FUNCTION_URL = 'https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws';

const verify = (request: ReceivedRequest, region: string) => verifySigV4(request, region, CREDENTIALS);

describe('SigV4 signer', () => {
  it('GIVEN a Function URL WHEN signing THEN the credential scope names its region and the lambda service', async () => {
    const sign = createSigV4Signer({ credentials: CREDENTIALS, now: () => NOW });
    const headers = await sign({ method: 'POST', url: `${FUNCTION_URL}/v1/announce`, headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20250304\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(headers.authorization).toContain('content-type');
    expect(headers['x-amz-date']).toBe('20250304T050607Z');
    expect(headers['content-type']).toBe('application/json');
    // fetch derives Host from the URL and refuses to be told otherwise.
    expect(headers.host).toBeUndefined();
  });

  it('GIVEN a signed request THEN SignatureV4 itself accepts it, and not once the body changes', async () => {
    const sign = createSigV4Signer({ credentials: CREDENTIALS, now: () => NOW });
    const request = { method: 'POST', url: `${FUNCTION_URL}/v1/announce`, headers: { 'content-type': 'application/json' }, body: '{"peerId":"a"}' };
    const headers = await sign(request);
    expect(await verify({ ...request, headers }, 'eu-west-1')).toBe(true);
    expect(await verify({ ...request, headers, body: '{"peerId":"b"}' }, 'eu-west-1')).toBe(false);
    expect(await verify({ ...request, headers }, 'us-east-1')).toBe(false);
  });

  it('GIVEN temporary credentials THEN the session token travels as x-amz-security-token', async () => {
    const sign = createSigV4Signer({ credentials: { ...CREDENTIALS, sessionToken: 'SESSION' }, region: 'us-west-2', now: () => NOW });
    const headers = await sign({ method: 'GET', url: 'https://scheduler.example.com/v1/tasks/x/digests', headers: {} });
    expect(headers['x-amz-security-token']).toBe('SESSION');
    expect(headers.authorization).toContain('/us-west-2/lambda/aws4_request');
  });

  it('reads the region only from Function URL hosts', () => {
    expect(regionOfFunctionUrl(`${FUNCTION_URL}/v1/announce`)).toBe('eu-west-1');
    expect(regionOfFunctionUrl('http://127.0.0.1:7400/v1/announce')).toBeUndefined();
  });

  describe('through the scheduler client', () => {
    let server: Server;
    let base: string;
    const seen: Array<{ method: string; url: string; headers: Record<string, string>; body: string }> = [];

    beforeAll(async () => {
      server = createServer(async (req: IncomingMessage, res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        seen.push({ method: req.method!, url: `http://${req.headers.host}${req.url}`, headers: req.headers as Record<string, string>, body: Buffer.concat(chunks).toString() });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('GIVEN a signer WHEN the client calls THEN what arrives verifies and carries no bearer token', async () => {
      const client = new SchedulerClient({ baseUrl: base, token: 'ignored', sign: createSigV4Signer({ credentials: CREDENTIALS, region: 'eu-west-1' }) });
      await client.leave('f'.repeat(64), 'peer-1', 'site-a');
      const received = seen.at(-1)!;
      expect(received.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 /);
      expect(await verify(received, 'eu-west-1')).toBe(true);
    });

    it('GIVEN no signer THEN the bearer token keeps working', async () => {
      await new SchedulerClient({ baseUrl: base, token: 'local-token' }).leave('f'.repeat(64), 'peer-1', 'site-a');
      expect(seen.at(-1)!.headers.authorization).toBe('Bearer local-token');
    });
  });
});
