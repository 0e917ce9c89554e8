import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { malformedRequests, type Endpoint, type FuzzRequest } from './fixtures/malformed-requests.ts';
import { seededRandom } from './fixtures/seeded-random.ts';
import { pullThrough } from '../local/swarm-pull.ts';

const SEED = Number(process.env.MAYFLY_FUZZ_SEED ?? 20261127);
const PER_TARGET = 300;

interface Answer {
  status: number;
  body: string;
}

function send(base: string, fuzz: FuzzRequest): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(base);
    const req = request(
      // A fresh connection each time: a refused request must not stall the next one on a reused socket.
      { host: url.hostname, port: url.port, method: fuzz.method, path: fuzz.path, headers: fuzz.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('error', (error) => {
      // A server may close the connection on a request it refuses to read (e.g. a huge body): that is a refusal too.
      const code = (error as NodeJS.ErrnoException).code;
      if (fuzz.label === 'oversized body' && (code === 'ECONNRESET' || code === 'EPIPE')) resolve({ status: 413, body: '{"message":"connection closed"}' });
      else reject(error);
    });
    req.end(fuzz.body);
  });
}

/**
 * Over a thousand generated malformed requests against every HTTP surface: each
 * gets a 4xx with a reason, none a 5xx, and every process stays up.
 */
describe(`fuzz (seed ${SEED}; replay with MAYFLY_FUZZ_SEED=${SEED})`, () => {
  let stack: LocalStack;
  let agent: AgentProcess;
  let artifact: Artifact;
  let taskId: string;

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('fuzz/object.bin', 5 * 1024 * 1024);
    // The mirror's "registry" is the manager: any request reaching it gets a 404 with a reason, never the network.
    agent = await stack.startAgent('fuzz-agent', { MAYFLY_REGISTRY_UPSTREAMS: `_default=${stack.manager.url}` });
    taskId = ((await pullThrough(agent, artifact.url, `${stack.root}/fuzz.bin`)) as unknown as { taskId: string }).taskId;
    fuzzerToken = await stack.agentToken('fuzzer');
  });
  afterAll(async () => stack?.stop());

  let fuzzerToken: string;
  const auth = () => ({ authorization: `Bearer ${stack.token}` });
  /** The scheduler's agent routes take an agent's own token. */
  const agentAuth = () => ({ authorization: `Bearer ${fuzzerToken}` });
  /** A pack of two small objects (core/wire/pack.ts); each fuzzed field breaks it. */
  const packBody = () => ({ bucket: 'mayfly-demo', members: [{ key: 'fuzz/a.json', size: 1, etag: '"a"' }, { key: 'fuzz/b.json', size: 1, etag: '"b"' }] });
  const announce = () => ({ url: artifact.url, peerId: 'fuzzer', addr: 'http://127.0.0.1:9', event: 'register', completed: 0 });

  const targets: Array<{ name: string; base: () => string; endpoints: () => Endpoint[] }> = [
    {
      name: 'scheduler',
      base: () => stack.scheduler.url,
      endpoints: () => [
        { method: 'POST', path: '/v1/announce', body: announce(), headers: agentAuth() },
        { method: 'POST', path: `/v1/tasks/${taskId}/digests`, body: { peerId: 'fuzzer', digests: { '0': 'a'.repeat(64) } }, headers: agentAuth() },
        { method: 'POST', path: `/v1/tasks/${taskId}/leave`, body: { peerId: 'fuzzer' }, headers: agentAuth() },
        { method: 'POST', path: `/v1/tasks/${taskId}/incidents`, body: { peerId: 'fuzzer', piece: 0, digest: 'a'.repeat(64) }, headers: agentAuth() },
        { method: 'POST', path: '/v1/hosts/heartbeat', body: { peerId: 'fuzzer', addr: 'http://127.0.0.1:9' }, headers: agentAuth() },
        { method: 'GET', path: `/v1/tasks/${taskId}/digests`, headers: agentAuth() },
        // maxKeys last: a fuzzed value replaces it (the other fields would take many strings).
        { method: 'GET', path: '/v1/listings?bucket=mayfly-demo&prefix=fuzz/&maxKeys=1000', headers: agentAuth() },
        { method: 'POST', path: '/v1/packs', body: packBody(), headers: agentAuth() },
      ],
    },
    {
      name: 'manager',
      base: () => stack.manager.url,
      endpoints: () => [
        { method: 'GET', path: `/v1/tasks/${taskId}`, headers: auth() },
        { method: 'GET', path: '/v1/tasks', headers: auth() },
        // Agent-token fields only, each of which refuses every odd value (a name field would take 'NaN').
        { method: 'POST', path: '/v1/tokens', body: { scope: 'agent', seed: false, addrs: ['10.0.0.1'], expiresInDays: 1 }, headers: auth() },
        // An image preheat: every field is a string the fuzzer replaces with a non-string (or adds an unknown one).
        { method: 'POST', path: '/v1/preheats', body: { kind: 'image', ref: 'registry.test/demo/app:v1', platform: 'linux/arm64' }, headers: auth() },
      ],
    },
    {
      name: 'agent peer API',
      base: () => `http://127.0.0.1:${agent.peerPort}`,
      endpoints: () => [
        { method: 'GET', path: `/v1/tasks/${taskId}/pieces/0` },
        { method: 'GET', path: `/v1/tasks/${taskId}/bitfield` },
      ],
    },
    {
      name: 'agent local API',
      base: () => agent.apiUrl,
      endpoints: () => [
        // `output` is no field any more: the agent writes nothing for its caller.
        { method: 'POST', path: '/v1/pulls', body: { url: artifact.url, output: '/root/.ssh/authorized_keys' } },
        // What a web page would send: refused whatever the body (403).
        { method: 'POST', path: '/v1/pulls', body: { url: artifact.url }, headers: { origin: 'http://evil.example' } },
        { method: 'GET', path: `/v1/objects?url=${encodeURIComponent('s3://no')}` },
        { method: 'GET', path: `/v1/listings?url=${encodeURIComponent('s3://no/prefix/')}` },
        { method: 'POST', path: '/v1/packs', body: packBody() },
      ],
    },
    {
      name: 'agent registry mirror',
      base: () => agent.registryUrl,
      endpoints: () => [
        { method: 'GET', path: `/v2/demo/app/blobs/sha256:${'a'.repeat(64)}` },
        { method: 'GET', path: '/v2/demo/app/manifests/latest' },
        { method: 'GET', path: `/v2/demo/app/blobs/sha256:${'b'.repeat(64)}?ns=registry.test`, headers: { origin: 'http://evil.example' } },
      ],
    },
  ];

  for (const [offset, target] of targets.entries()) {
    it(`${target.name}: every malformed request gets a 4xx with a reason`, async () => {
      const random = seededRandom(SEED + offset);
      const failures: string[] = [];
      let sent = 0;
      for (const fuzz of malformedRequests(target.endpoints(), PER_TARGET, random)) {
        const answer = await send(target.base(), fuzz);
        sent++;
        const reasoned = answer.status === 431 || answer.status === 405 || /"message"\s*:\s*"[^"]+"/.test(answer.body) || answer.body.includes('<Message>');
        if (answer.status < 400 || answer.status >= 500 || !reasoned) {
          failures.push(`${fuzz.method} ${fuzz.path.slice(0, 80)} [${fuzz.label}] → ${answer.status} ${answer.body.slice(0, 120)}`);
        }
      }
      expect(sent).toBe(PER_TARGET);
      expect(failures.slice(0, 10)).toEqual([]);
      // Still up and still correct.
      const health = await fetch(`${target.base()}/v1/health`);
      expect(health.status).toBe(200);
    });
  }

  it('the swarm still works after the barrage', async () => {
    const result = await pullThrough(agent, artifact.url, `${stack.root}/after-fuzz.bin`);
    expect(result.size).toBe(artifact.size);
  });
});
