import { request, type IncomingMessage } from 'node:http';

/**
 * GET of the agent's local API with node:http rather than fetch: the object's
 * bytes arrive as plain Buffers (no web-stream wrapping per chunk, which cost
 * `mayfly get` about as much CPU per GB as the agent's whole receive path).
 * Resolves with the response (any status); rejects when no agent answers.
 */
export function getFromAgent(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers, signal }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** The body of an error answer as JSON (`{}` when it is not JSON or cannot be read). */
export async function readJsonBody(res: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of res) {
      bytes += (chunk as Buffer).length;
      // An error answer is a short JSON object; more than this is not one.
      if (bytes > 64 * 1024) return {};
      chunks.push(chunk as Buffer);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  } finally {
    res.resume();
  }
}
