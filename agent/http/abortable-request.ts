import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';

/** node:http's or node:https's `request`. */
export type RequestFunction = (url: string, options: RequestOptions, onResponse: (res: IncomingMessage) => void) => ClientRequest;

export interface AbortableRequestOptions extends Omit<RequestOptions, 'signal' | 'timeout'> {
  /**
   * Ends the request when it aborts: before the response, the promise rejects with an
   * `AbortError` whose cause is the signal's reason (as node:http's own); during the
   * body, the body ends early (an 'aborted' error on the response).
   */
  readonly signal?: AbortSignal;
  /** No byte for this long (ms) ends the request the same way: before the response, with `onTimeout()`'s error. */
  readonly idleTimeoutMs?: number;
  readonly onTimeout?: () => Error;
  /** Sent as the request body (the request is ended either way). */
  readonly body?: string | Buffer;
}

/**
 * Sends a request and resolves its response (any status); rejects with the request's
 * error, an `AbortError` (cause: the signal's reason), or `onTimeout()`'s error.
 *
 * The signal is not handed to node:http: there an abort destroys the request *with* an
 * error that reaches its socket, and a kept-alive socket has no 'error' listener while it
 * passes from one request to the next (node's own comment in responseKeepAlive). The
 * agent crashed that way in the tree bench when a parent's bitfield watch was aborted.
 * Here an abort or a timeout destroys the request without an error, so no socket emits
 * one; the caller learns of it from the rejection, or from the body ending early.
 */
export function abortableRequest(send: RequestFunction, url: string, options: AbortableRequestOptions): Promise<IncomingMessage> {
  const { signal, idleTimeoutMs, onTimeout, body, ...requestOptions } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const req = send(url, idleTimeoutMs === undefined ? requestOptions : { ...requestOptions, timeout: idleTimeoutMs }, resolve);
    const end = (error: Error) => {
      reject(error); // ignored once the response is out: its body ends early instead
      req.destroy();
    };
    const onAbort = () => end(abortReason(signal!));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal?.removeEventListener('abort', onAbort));
    if (idleTimeoutMs !== undefined) req.on('timeout', () => end(onTimeout?.() ?? new Error(`no answer from ${url} for ${idleTimeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Named as node's own abort errors, so callers (metrics, logs) tell an abort from a failure. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  const error = new Error(reason instanceof Error ? `the request was aborted: ${reason.message}` : 'the request was aborted', { cause: reason });
  error.name = 'AbortError';
  return error;
}
