import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { writevFully } from '../agent/cache/piece-writer.ts';
import { getFromAgent } from '../agent/cli/object-request.ts';
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
 * Pulls through the agent (POST /v1/pulls, whose result decides success) while
 * streaming the checked bytes out (GET /v1/objects, each piece sent as soon as
 * it is verified) into `output`, so the file is written during the download,
 * not after it. Written by this process as `mayfly get` does (the agent writes
 * nothing outside its data directory): node:http and writev, no web streams.
 * A failed pull leaves no file (not even the temp one); throws `NAME: pull failed: …`.
 */
export async function pullToFile(api: string, url: string, output: string, name = api): Promise<PullResponse> {
  const reading = new AbortController();
  const temp = `${output}.${process.pid}.part`;
  // Progress lines first: the answer's headers come at once, however long the pull takes.
  const pull = followPull(api, { url }, () => {}, new AbortController().signal).then(
    (line) => {
      if (line?.type !== 'result') reading.abort();
      return line;
    },
    (error: unknown) => {
      reading.abort();
      throw error;
    },
  );
  const copy = copyObject(api, url, temp, reading.signal);
  const [pulled, copied] = await Promise.allSettled([pull, copy]);
  const body = pulled.status === 'fulfilled' ? pulled.value : undefined;
  if (body?.type !== 'result' || copied.status === 'rejected') {
    await rm(temp, { force: true });
    if (body?.type !== 'result') throw new Error(`${name}: pull failed: ${body?.message ?? 'the agent stopped answering'}`);
    throw new Error(`${name}: ${(copied as PromiseRejectedResult).reason.message}`);
  }
  await rename(temp, output);
  return body as unknown as PullResponse;
}

/** GET /v1/objects into `path` (created or emptied), chunks that queue up while a write is on the disk going out in one writev. */
async function copyObject(api: string, url: string, path: string, signal: AbortSignal): Promise<void> {
  const response = await getFromAgent(`${api}/v1/objects?url=${encodeURIComponent(url)}`, {}, signal);
  const status = response.statusCode ?? 0;
  if (status < 200 || status > 299) {
    response.resume();
    throw new Error(`read failed (${status})`);
  }
  const expected = Number(response.headers['content-length'] ?? NaN);
  const handle = await open(path, 'w');
  let position = 0;
  try {
    const sink = new Writable({
      highWaterMark: 1024 * 1024,
      writev(chunks: { chunk: Buffer }[], done) {
        const buffers = chunks.map((entry) => entry.chunk);
        const at = position;
        for (const buffer of buffers) position += buffer.length;
        writevFully(handle, buffers, at).then(() => done(), done);
      },
    });
    await pipeline(response, sink, { signal });
  } finally {
    await handle.close();
  }
  if (Number.isFinite(expected) && position !== expected) throw new Error(`read cut short (${position} of ${expected} bytes)`);
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
