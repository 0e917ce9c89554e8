import { EXIT, exitCodeFor } from './exit-codes.ts';
import { getFromAgent, postJsonToAgent, readJsonBody } from './object-request.ts';
import { OutputFile } from './output-file.ts';
import type { TreeItem } from './tree-plan.ts';

export interface TreePackRequest {
  readonly api: string;
  readonly bucket: string;
  /** The pack's members, in ascending key order (core/pack.ts, planPacks). */
  readonly items: readonly TreeItem[];
  /** Absolute path of an item's file, written atomically by this process. */
  readonly target: (item: TreeItem) => string;
  /** Makes (and checks again, just before the rename) the item's folder under DIR. */
  readonly folder: (item: TreeItem) => Promise<unknown>;
  /** Bytes written so far, for the tree's progress view. */
  readonly onBytes: (count: number) => void;
  /** One member's file is in place. */
  readonly onFile: (item: TreeItem) => Promise<void>;
}

export type PackOutcome =
  | { kind: 'done'; bytesFromPeers: number; bytesFromOrigin: number }
  /** `written`: members whose files are already in place; the rest are the caller's to pull one by one. */
  | { kind: 'failed'; code: number; message: string; written: number };

/**
 * A pack of a tree's small objects (core/pack.ts): the agent pulls the pack into its
 * cache as one task (POST /v1/packs, one swarm for all its members instead of one per
 * object), then this process streams the pack's checked bytes once (GET /v1/objects of
 * the pack's URL) and cuts them into the members' files, each written atomically (temp
 * file beside it + rename) with exactly the member's listed bytes.
 */
export async function pullTreePack(request: TreePackRequest, signal: AbortSignal): Promise<PackOutcome> {
  let pulled: { url?: string; bytesFromPeers?: number; bytesFromOrigin?: number; error?: string; message?: string };
  try {
    const members = request.items.map((item) => ({ key: item.key, size: item.size, etag: item.etag }));
    const response = await postJsonToAgent(`${request.api}/v1/packs`, { bucket: request.bucket, members }, signal);
    pulled = response.body as typeof pulled;
    if (response.status !== 200 || typeof pulled.url !== 'string') return { kind: 'failed', code: exitCodeFor(pulled.error), message: pulled.message ?? `agent answered ${response.status}`, written: 0 };
  } catch (error) {
    return { kind: 'failed', code: signal.aborted ? EXIT.failure : EXIT.unavailable, message: signal.aborted ? 'cancelled' : `no agent answering at ${request.api} (${(error as Error).message})`, written: 0 };
  }
  let written = 0;
  try {
    await cutPack(request, pulled.url, signal, () => written++);
  } catch (error) {
    return { kind: 'failed', code: (error as { code?: number }).code ?? EXIT.unavailable, message: (error as Error).message, written };
  }
  return { kind: 'done', bytesFromPeers: pulled.bytesFromPeers ?? 0, bytesFromOrigin: pulled.bytesFromOrigin ?? 0 };
}

/** Streams the pack once and writes each member's file from its bytes, in order. */
async function cutPack(request: TreePackRequest, url: string, signal: AbortSignal, committed: () => void): Promise<void> {
  const response = await getFromAgent(`${request.api}/v1/objects?url=${encodeURIComponent(url)}`, {}, signal);
  if (response.statusCode !== 200) {
    const body = (await readJsonBody(response)) as { error?: string; message?: string };
    throw Object.assign(new Error(body.message ?? `agent answered ${response.statusCode}`), { code: exitCodeFor(body.error) });
  }
  try {
    await cutMembers(request, response, committed);
  } finally {
    response.destroy(); // read whole, or given up on: either way this connection is done
  }
}

async function cutMembers(request: TreePackRequest, response: AsyncIterable<Buffer>, committed: () => void): Promise<void> {
  const reader = response[Symbol.asyncIterator]();
  let rest: Buffer = Buffer.alloc(0);
  for (const item of request.items) {
    await request.folder(item);
    const file = await OutputFile.create(request.target(item));
    let done = false;
    let counted = 0;
    try {
      let left = item.size;
      while (left > 0) {
        if (rest.length === 0) {
          const next = await reader.next();
          if (next.done) throw new Error(`the agent's pack ended before ${item.key} was whole`);
          rest = next.value;
        }
        const take = rest.subarray(0, Math.min(left, rest.length));
        rest = rest.subarray(take.length);
        await writeOrFail(file, take, request.target(item));
        left -= take.length;
        counted += take.length;
        request.onBytes(take.length);
      }
      await request.folder(item);
      await file.commit();
      done = true;
    } finally {
      if (!done) {
        request.onBytes(-counted);
        await file.discard();
      }
    }
    committed();
    await request.onFile(item);
  }
  // Bytes past the last member would mean the pack is not what the listing said.
  if (rest.length > 0 || !(await reader.next()).done) throw new Error("the agent's pack is longer than its members");
}

async function writeOrFail(file: OutputFile, chunk: Buffer, path: string): Promise<void> {
  try {
    await file.write([chunk]);
  } catch (error) {
    throw Object.assign(new Error(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`), { code: EXIT.storage });
  }
}
