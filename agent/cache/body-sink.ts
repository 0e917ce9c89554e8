import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { PieceWriter } from './piece-writer.ts';

/**
 * Streams a response body (from a parent or from the origin) into a piece
 * writer. 'data' events rather than `for await`: a piece arrives in thousands
 * of chunks, and only the chunks that make the writer wait (a full batch going
 * to disk, a download limit) pause the body and cost a promise. Rejects with
 * the writer's error if it failed, else with the stream's.
 */
export async function drainInto(body: Readable, writer: PieceWriter): Promise<void> {
  let failure: unknown;
  let pending: Promise<void> | undefined;
  const fail = (error: unknown) => {
    failure ??= error;
    body.destroy(error as Error);
  };
  body.on('data', (chunk: Buffer) => {
    if (failure !== undefined) return;
    try {
      const wait = writer.write(chunk);
      if (!wait) return;
      body.pause();
      pending = wait.then(() => {
        if (failure === undefined) body.resume();
      }, fail);
    } catch (error) {
      fail(error);
    }
  });
  try {
    await finished(body);
  } catch (error) {
    throw failure ?? error;
  }
  await pending;
  if (failure !== undefined) throw failure;
}
