import type { IncomingMessage } from 'node:http';
import { EXIT, exitCodeFor } from './exit-codes.ts';
import { getFromAgent, postJsonToAgent, readJsonBody } from './object-request.ts';
import { OutputFile } from './output-file.ts';

export interface TreeItemRequest {
  readonly api: string;
  /** The object's canonical s3:// URL. */
  readonly url: string;
  /** Absolute path of the file, written atomically by this process. */
  readonly output: string;
  /** The ETag the tree's listing saw. */
  readonly listedEtag: string;
  /** Bytes written so far, for the tree's progress view. */
  readonly onBytes: (count: number) => void;
  /** Checks the target's folder again just before the rename (throws to refuse it). */
  readonly beforeCommit?: () => Promise<unknown>;
}

export type ItemOutcome =
  /** `etag` is the version written: the listed one, or the current one if the object changed since (resolved again, whole). */
  | { kind: 'done'; etag: string; size: number; bytesFromPeers: number; bytesFromOrigin: number }
  | { kind: 'failed'; code: number; message: string };

const ATTEMPTS = 3;

/**
 * One object of a tree pull: the agent pulls it into its cache (POST /v1/pulls, whose
 * answer says how many bytes came from peers and from S3), then this process streams
 * the checked bytes (GET /v1/objects) into a temp file beside the target and renames
 * it into place (output-file.ts). A read cut short starts over, up to 3 times.
 */
export async function pullTreeItem(request: TreeItemRequest, signal: AbortSignal): Promise<ItemOutcome> {
  let pulled: { bytesFromPeers?: number; bytesFromOrigin?: number };
  try {
    const response = await postJsonToAgent(`${request.api}/v1/pulls`, { url: request.url }, signal);
    const body = response.body as { error?: string; message?: string; bytesFromPeers?: number; bytesFromOrigin?: number };
    if (response.status !== 200) return { kind: 'failed', code: exitCodeFor(body.error), message: body.message ?? `agent answered ${response.status}` };
    pulled = body;
  } catch (error) {
    return { kind: 'failed', code: signal.aborted ? EXIT.failure : EXIT.unavailable, message: signal.aborted ? 'cancelled' : `no agent answering at ${request.api} (${(error as Error).message})` };
  }
  const file = await OutputFile.create(request.output);
  let committed = false;
  try {
    for (let attempt = 1; ; attempt++) {
      const outcome = await streamInto(request, file, signal);
      if (outcome.kind === 'written') {
        await request.beforeCommit?.();
        await file.commit();
        committed = true;
        return { kind: 'done', etag: outcome.etag ?? request.listedEtag, size: outcome.size, bytesFromPeers: pulled.bytesFromPeers ?? 0, bytesFromOrigin: pulled.bytesFromOrigin ?? 0 };
      }
      if (outcome.kind === 'failed' || attempt >= ATTEMPTS || signal.aborted) return { kind: 'failed', code: outcome.code, message: outcome.message };
      await file.reset();
    }
  } finally {
    if (!committed) await file.discard();
  }
}

type StreamOutcome = { kind: 'written'; etag?: string; size: number } | { kind: 'failed' | 'cut'; code: number; message: string };

async function streamInto(request: TreeItemRequest, file: OutputFile, signal: AbortSignal): Promise<StreamOutcome> {
  let response: IncomingMessage;
  try {
    response = await getFromAgent(`${request.api}/v1/objects?url=${encodeURIComponent(request.url)}`, {}, signal);
  } catch (error) {
    return { kind: 'failed', code: signal.aborted ? EXIT.failure : EXIT.unavailable, message: signal.aborted ? 'cancelled' : (error as Error).message };
  }
  if (response.statusCode !== 200) {
    const body = (await readJsonBody(response)) as { error?: string; message?: string };
    return { kind: 'failed', code: exitCodeFor(body.error), message: body.message ?? `agent answered ${response.statusCode}` };
  }
  const expected = Number(response.headers['content-length'] ?? NaN);
  let written = 0;
  try {
    for await (const chunk of response as AsyncIterable<Buffer>) {
      try {
        await file.write([chunk]);
      } catch (error) {
        return { kind: 'failed', code: EXIT.storage, message: `cannot write ${request.output}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
      }
      written += chunk.byteLength;
      request.onBytes(chunk.byteLength);
    }
  } catch (error) {
    request.onBytes(-written);
    return { kind: 'cut', code: EXIT.unavailable, message: `the agent stopped after ${written} bytes (${(error as Error).message})` };
  }
  if (Number.isFinite(expected) && written !== expected) {
    request.onBytes(-written);
    return { kind: 'cut', code: EXIT.unavailable, message: `the agent sent ${written} of ${expected} bytes` };
  }
  return { kind: 'written', etag: response.headers.etag, size: written };
}
