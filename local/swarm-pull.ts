import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
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
  const response = await fetch(`${agent.apiUrl}/v1/pulls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url, output }),
  });
  const body = (await response.json()) as PullResponse & { message?: string };
  if (!response.ok) throw new Error(`${agent.name}: pull failed (${response.status}): ${body.message}`);
  return body;
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
