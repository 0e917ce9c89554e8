/**
 * A benchmark client that plays a child peer: fetches a list of requests over
 * keep-alive connections with a fixed number in flight, counts and discards
 * the bytes (so the client's disk is not what is measured), and retries
 * 503 "busy" answers after a short pause.
 */
import { Agent, request } from 'node:http';

export interface FetchJob {
  readonly path: string;
  readonly headers?: Record<string, string>;
  readonly expectedBytes: number;
}

export interface FetchResult {
  readonly bytes: number;
  readonly seconds: number;
  readonly busyRetries: number;
}

export async function fetchAll(origin: string, jobs: readonly FetchJob[], inflight: number): Promise<FetchResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: inflight });
  const queue = [...jobs];
  let bytes = 0;
  let busyRetries = 0;
  const started = performance.now();
  const worker = async () => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      for (;;) {
        const { status, received } = await getOnce(agent, `${origin}${job.path}`, job.headers);
        if (status === 503) {
          busyRetries++;
          await new Promise((resolve) => setTimeout(resolve, 20));
          continue;
        }
        if (status !== 200 && status !== 206) throw new Error(`GET ${job.path}: HTTP ${status}`);
        if (received !== job.expectedBytes) throw new Error(`GET ${job.path}: ${received} bytes, expected ${job.expectedBytes}`);
        bytes += received;
        break;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: inflight }, worker));
  } finally {
    agent.destroy();
  }
  return { bytes, seconds: (performance.now() - started) / 1000, busyRetries };
}

function getOnce(agent: Agent, url: string, headers?: Record<string, string>): Promise<{ status: number; received: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, headers }, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, received }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
