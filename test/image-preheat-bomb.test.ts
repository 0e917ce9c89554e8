import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';

const REGISTRY_NAME = 'rogue.test';
const sha = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/**
 * A hostile (or broken) registry answers the manager's manifest read for an image
 * preheat with a bomb: an image of 20,000 layers (20,000 preheat items, 40,000 item
 * writes from one request), or a manifest body that never ends. The manager refuses
 * both quickly with a 400 and a reason, and writes no job.
 */
describe('image preheat against a hostile registry', { timeout: 240_000 }, () => {
  let stack: LocalStack;
  let registry: Server;
  let registryUrl = '';
  let manyLayersReads = 0;

  const preheat = (body: object) =>
    fetch(`${stack.manager.url}/v1/preheats`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(120_000),
    });
  const jobs = async () =>
    ((await (await fetch(`${stack.manager.url}/v1/preheats`, { headers: { authorization: `Bearer ${stack.token}` } })).json()) as { jobs: unknown[] }).jobs;

  beforeAll(async () => {
    const manyLayers = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha('config'), size: 10 },
      layers: Array.from({ length: 20_000 }, (_, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha(`layer-${i}`), size: 1 })),
    });
    registry = createServer((req, res) => {
      if (req.url === '/v2/evil/many/manifests/v1') {
        manyLayersReads++;
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        res.end(manyLayers);
        return;
      }
      if (req.url === '/v2/evil/endless/manifests/v1') {
        // A body that never ends (chunked, no length): written as fast as it is read.
        res.writeHead(200, { 'content-type': 'application/vnd.oci.image.manifest.v1+json' });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const pump = () => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        res.on('close', () => res.removeAllListeners('drain'));
        pump();
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}`;
    const allowedOrigins = ['mayfly-demo', `registry+${registryUrl}/evil/`];
    stack = await LocalStack.start({ schedulerSettings: { allowedOrigins }, managerRegistries: { upstreams: `${REGISTRY_NAME}=${registryUrl}` } });
    const put = await fetch(`${stack.manager.url}/v1/clusters/default`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.token}` },
      body: JSON.stringify({ settings: { allowedOrigins } }),
    });
    if (put.status !== 200) throw new Error(`PUT cluster: ${put.status} ${await put.text()}`);
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    registry?.closeAllConnections();
    await new Promise((resolve) => registry?.close(resolve));
  });

  it('refuses an image with more layers than any image holds, writing no job', async () => {
    const answer = await preheat({ kind: 'image', ref: `${REGISTRY_NAME}/evil/many:v1` });
    const body = (await answer.json()) as { message?: string };
    expect(manyLayersReads).toBe(1);
    expect(answer.status).toBe(400);
    expect(body.message).toMatch(/20000 layers; at most 1000/);
    expect(await jobs()).toEqual([]);
  });

  it('refuses a manifest body that never ends once it passes the size cap, writing no job', async () => {
    const answer = await preheat({ kind: 'image', ref: `${REGISTRY_NAME}/evil/endless:v1` });
    const body = (await answer.json()) as { message?: string };
    expect(answer.status).toBe(400);
    expect(body.message).toMatch(/over 4194304 bytes/);
    expect(await jobs()).toEqual([]);
  });
});
