import { request, type IncomingMessage } from 'node:http';
import { abortableRequest } from '../http/abortable-request.ts';

/**
 * GET of the agent's local API with node:http rather than fetch: the object's
 * bytes arrive as plain Buffers (no web-stream wrapping per chunk, which cost
 * `mayfly get` about as much CPU per GB as the agent's whole receive path).
 * Resolves with the response (any status); rejects when no agent answers. Each request has
 * its own connection (`agent: false`): a kept-alive one can be closed by the agent's idle
 * timeout just as it is reused, which fails the request (ECONNRESET) for nothing.
 */
export function getFromAgent(url: string, headers: Record<string, string>, signal: AbortSignal): Promise<IncomingMessage> {
  return abortableRequest(request, url, { headers, signal, agent: false });
}

/**
 * POST of a JSON body to the agent's local API with node:http: a pull (POST /v1/pulls,
 * /v1/packs) answers only once it is done, which for a big object or a busy swarm takes
 * longer than fetch's 300 s wait for response headers. Resolves with the status and the
 * JSON answer (`{}` when it is none); rejects when no agent answers.
 */
export async function postJsonToAgent(url: string, body: unknown, signal: AbortSignal): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await abortableRequest(request, url, { method: 'POST', headers: { 'content-type': 'application/json' }, signal, agent: false, body: JSON.stringify(body) });
  return { status: res.statusCode ?? 0, body: await readJsonBody(res) };
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
