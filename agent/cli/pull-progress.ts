/** One line of POST /v1/pulls with Accept: application/x-ndjson. */
export interface PullLine {
  type: 'progress' | 'result' | 'error';
  size?: number;
  completedBytes?: number;
  receivingBytes?: number;
  waiting?: string;
  bytesFromPeers?: number;
  bytesFromOrigin?: number;
  seconds?: number;
  message?: string;
  error?: string;
  cached?: boolean;
  direct?: boolean;
}

/**
 * Asks the agent to pull `url` into its cache and follows its progress lines:
 * the progress bar and the summary of `mayfly get -o FILE` (the bytes come from
 * GET /v1/objects meanwhile). Resolves with the last line (result or error),
 * or undefined if the agent stopped answering; `signal` hangs up, which tells
 * the agent nobody here wants the object any more.
 */
export async function followPull(api: string, target: { url: string; versionId?: string }, onProgress: (line: PullLine) => void, signal: AbortSignal): Promise<PullLine | undefined> {
  const response = await fetch(`${api}/v1/pulls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify(target),
    signal,
  });
  if (!response.ok || !response.body) {
    const body = (await response.json().catch(() => ({}))) as PullLine;
    return { type: 'error', error: body.error, message: body.message ?? `agent answered ${response.status}` };
  }
  let final: PullLine | undefined;
  let buffered = '';
  const decoder = new TextDecoder();
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline)) as PullLine;
      buffered = buffered.slice(newline + 1);
      if (line.type === 'progress') onProgress(line);
      else final = line;
    }
  }
  return final;
}
