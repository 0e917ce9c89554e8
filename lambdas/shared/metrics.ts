import type { MiddlewareHandler } from 'hono';

/**
 * CloudWatch embedded metric format: one JSON log line per event that
 * CloudWatch Logs turns into metrics, with no PutMetricData call on the hot
 * path. High-cardinality ids (task, peer) ride along as properties, so the
 * lines double as structured logs; the only dimension is the service.
 */
export const METRIC_NAMESPACE = 'Mayfly';

export const METRICS = {
  announces: 'Announces',
  announceLatencyMs: 'AnnounceLatencyMs',
  errors: 'Errors',
  backToSourceGrants: 'BackToSourceGrants',
  bytesFromOrigin: 'BytesFromOrigin',
  bytesFromPeers: 'BytesFromPeers',
  /** A digest disagreed with a known one, or S3's own checksum with what was read: the task was quarantined. */
  manifestIncidents: 'ManifestIncidents',
  /** Bytes the digest service read from S3 (in-region, not site egress). */
  digestBytes: 'DigestBytesRead',
} as const;

export type MetricUnit = 'Count' | 'Milliseconds' | 'Bytes';
export type MetricValues = Record<string, { readonly value: number; readonly unit: MetricUnit }>;

export class MetricEmitter {
  constructor(
    private readonly sink: (line: string) => void,
    private readonly service: string,
    private readonly now: () => number = Date.now,
  ) {}

  emit(metrics: MetricValues, properties: Record<string, unknown> = {}): void {
    const names = Object.keys(metrics);
    if (names.length === 0) return;
    const line: Record<string, unknown> = {
      ...properties,
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [
          { Namespace: METRIC_NAMESPACE, Dimensions: [['Service']], Metrics: names.map((name) => ({ Name: name, Unit: metrics[name].unit })) },
        ],
      },
      Service: this.service,
    };
    for (const name of names) line[name] = metrics[name].value;
    this.sink(JSON.stringify(line));
  }
}

/** Errors: every 5xx answer of an app (announces are counted by announceMetrics). */
export function errorMetrics(emitter: MetricEmitter): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.req.path === '/v1/announce') return;
    if (c.res.status >= 500) emitter.emit({ [METRICS.errors]: { value: 1, unit: 'Count' } }, { path: c.req.path, status: c.res.status });
  };
}

interface AnnounceSeen {
  readonly peerId?: string;
  readonly event?: string;
  readonly bytesFromOrigin?: number;
  readonly bytesFromPeers?: number;
}

/**
 * The scheduler's announce metrics: count and latency of every announce,
 * new back-to-source grants (a holder renewing its lease is not counted again
 * by this instance), and on a finished announce the bytes that peer read
 * from S3 and from peers.
 */
export function announceMetrics(emitter: MetricEmitter): MiddlewareHandler {
  const granted = new Set<string>();
  return async (c, next) => {
    if (c.req.method !== 'POST' || c.req.path !== '/v1/announce') return next();
    const started = performance.now();
    await next();
    const latency = performance.now() - started;
    const status = c.res.status;
    const metrics: MetricValues = {
      [METRICS.announces]: { value: 1, unit: 'Count' },
      [METRICS.announceLatencyMs]: { value: Math.round(latency * 100) / 100, unit: 'Milliseconds' },
    };
    if (status >= 500) metrics[METRICS.errors] = { value: 1, unit: 'Count' };
    const properties: Record<string, unknown> = { status };
    if (status === 200) {
      // Both bodies are already parsed or buffered; reading them here costs no I/O.
      const request = (await c.req.json().catch(() => undefined)) as AnnounceSeen | undefined;
      const answer = (await c.res.clone().json().catch(() => undefined)) as { task?: { id?: string }; backToSource?: boolean } | undefined;
      const taskId = answer?.task?.id;
      Object.assign(properties, { taskId, peerId: request?.peerId, event: request?.event, backToSource: answer?.backToSource });
      const key = `${taskId}\n${request?.peerId}`;
      if (answer?.backToSource && !granted.has(key)) {
        granted.add(key);
        if (granted.size > 20_000) granted.delete(granted.values().next().value!);
        metrics[METRICS.backToSourceGrants] = { value: 1, unit: 'Count' };
      }
      if (request?.event === 'finished') {
        metrics[METRICS.bytesFromOrigin] = { value: request.bytesFromOrigin ?? 0, unit: 'Bytes' };
        metrics[METRICS.bytesFromPeers] = { value: request.bytesFromPeers ?? 0, unit: 'Bytes' };
      }
    }
    emitter.emit(metrics, properties);
  };
}
