import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { join } from 'node:path';
import { followPull } from '../agent/cli/pull-progress.ts';
import type { AgentProcess } from './agent-process.ts';
import type { Artifact } from './artifact.ts';
import type { LocalStack } from './local-stack.ts';

export interface AgentPullReport {
  readonly agent: string;
  readonly seconds: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  readonly sha256ok: boolean;
  readonly output: string;
}

export interface SwarmReport {
  readonly url: string;
  readonly objectBytes: number;
  /** Response bytes S3 served, counted by the proxy in front of it. */
  readonly originBytes: number;
  /** Bytes the control plane's digest service read from S3 (in-region in AWS; not counted in originBytes). */
  readonly digestBytes: number;
  readonly agents: AgentPullReport[];
}

export interface PullResponse {
  readonly size: number;
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  readonly seconds: number;
}

/** Pulls through one agent's local API into `output`. */
export async function pullThrough(agent: AgentProcess, url: string, output: string): Promise<PullResponse> {
  return pullToFile(agent.apiUrl, url, output, agent.name);
}

/**
 * Pulls into the agent's cache (POST /v1/pulls), then copies the checked bytes
 * out (GET /v1/objects) into `output`, written by this process as `mayfly get`
 * does (the agent writes nothing outside its data directory).
 */
export async function pullToFile(api: string, url: string, output: string, name = api): Promise<PullResponse> {
  // Progress lines first: the answer's headers come at once, however long the pull takes (fetch gives up on headers after 300 s).
  const body = await followPull(api, { url }, () => {}, new AbortController().signal);
  if (body?.type !== 'result') throw new Error(`${name}: pull failed: ${body?.message ?? 'the agent stopped answering'}`);
  const object = await fetch(`${api}/v1/objects?url=${encodeURIComponent(url)}`);
  if (!object.ok || !object.body) throw new Error(`${name}: read failed (${object.status})`);
  const temp = `${output}.${process.pid}.part`;
  await pipeline(Readable.fromWeb(object.body as NodeReadableStream<Uint8Array>), createWriteStream(temp));
  await rename(temp, output);
  return body as unknown as PullResponse;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** All `agents` pull `artifact` at once; outputs are checked against the source digest. */
export async function swarmPull(stack: LocalStack, artifact: Artifact, agents: readonly AgentProcess[]): Promise<SwarmReport> {
  const before = stack.origin.bytesOut();
  const digestBefore = stack.digestOrigin.bytesOut();
  const outDir = join(stack.root, 'outputs');
  await mkdir(outDir, { recursive: true });
  const reports = await Promise.all(
    agents.map(async (agent) => {
      const output = join(outDir, `${agent.name}-${artifact.key.replace(/[^A-Za-z0-9._-]/g, '_')}`);
      const started = performance.now();
      const result = await pullThrough(agent, artifact.url, output);
      const seconds = (performance.now() - started) / 1000;
      return {
        agent: agent.name,
        seconds: Number(seconds.toFixed(3)),
        bytesFromPeers: result.bytesFromPeers,
        bytesFromOrigin: result.bytesFromOrigin,
        sha256ok: (await sha256File(output)) === artifact.sha256,
        output,
      };
    }),
  );
  return { url: artifact.url, objectBytes: artifact.size, originBytes: stack.origin.bytesOut() - before, digestBytes: stack.digestOrigin.bytesOut() - digestBefore, agents: reports };
}
