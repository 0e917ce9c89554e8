import type { UploadStats } from './peer/peer-server.ts';

/**
 * The agent's Prometheus metrics, served as text exposition format at
 * GET /metrics on the local API. Counters are fed by the metered data-path
 * decorators (metered.ts); gauges are read when scraped.
 */
export interface AgentGauges {
  /** Pulls running now (distinct objects). */
  activeTasks(): number;
  /** Verified bytes in the cache. */
  cacheBytes(): number;
  /** Tasks held in the cache (complete or not). */
  cachedTasks(): number;
  /** The peer server's upload counters (uploads now; pieces, bytes, refusals, bitfield answers since start). */
  uploads(): Readonly<UploadStats>;
}

const NO_UPLOADS: UploadStats = { active: 0, piecesServed: 0, bytesServed: 0, rejectedBusy: 0, rejectedSpreading: 0, bitfieldsServed: 0, rejectedSameChild: 0, cutSlow: 0 };

export class AgentMetrics {
  bytesFromPeers = 0;
  bytesFromOrigin = 0;
  piecesFromPeers = 0;
  piecesFromOrigin = 0;
  pieceFailures = 0;
  originFailures = 0;
  pullsStarted = 0;
  pullsFailed = 0;
  private gauges?: AgentGauges;
  private readonly started = Date.now();

  constructor(private readonly labels: { peerId: string; site: string; cluster: string; seed: boolean }) {}

  /** Gauges are attached once the parts they read exist. */
  attach(gauges: AgentGauges): void {
    this.gauges = gauges;
  }

  render(): string {
    const labels = `peer="${escape(this.labels.peerId)}",site="${escape(this.labels.site)}",cluster="${escape(this.labels.cluster)}"`;
    const lines: string[] = [];
    const metric = (name: string, type: 'counter' | 'gauge', help: string, value: number) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${labels}} ${Number.isFinite(value) ? value : 0}`);
    };
    const uploads = this.gauges?.uploads() ?? NO_UPLOADS;
    metric('mayfly_agent_bytes_from_peers_total', 'counter', 'Bytes received from peers.', this.bytesFromPeers);
    metric('mayfly_agent_bytes_from_origin_total', 'counter', 'Bytes read from S3.', this.bytesFromOrigin);
    metric('mayfly_agent_pieces_from_peers_total', 'counter', 'Pieces received from peers.', this.piecesFromPeers);
    metric('mayfly_agent_pieces_from_origin_total', 'counter', 'Pieces read from S3.', this.piecesFromOrigin);
    metric('mayfly_agent_pieces_failed_total', 'counter', 'Piece transfers from peers that broke (timeout, reset, short or bad answer).', this.pieceFailures);
    metric('mayfly_agent_origin_failures_total', 'counter', 'Piece reads from S3 that failed.', this.originFailures);
    metric('mayfly_agent_pieces_served_total', 'counter', 'Pieces served to peers.', uploads.piecesServed);
    metric('mayfly_agent_bytes_served_total', 'counter', 'Bytes served to peers.', uploads.bytesServed);
    metric('mayfly_agent_uploads_rejected_busy_total', 'counter', 'Piece requests refused with 503 because uploads were at their limit.', uploads.rejectedBusy);
    metric('mayfly_agent_bitfields_served_total', 'counter', 'Bitfield answers to children: plain ones and watch lines.', uploads.bitfieldsServed);
    metric('mayfly_agent_uploads_redirected_total', 'counter', 'Piece requests sent elsewhere because the piece was already on its way to another child.', uploads.rejectedSpreading);
    metric('mayfly_agent_pulls_started_total', 'counter', 'Pulls asked of this agent.', this.pullsStarted);
    metric('mayfly_agent_pulls_failed_total', 'counter', 'Pulls that ended in an error.', this.pullsFailed);
    metric('mayfly_agent_active_tasks', 'gauge', 'Pulls running now.', this.gauges?.activeTasks() ?? 0);
    metric('mayfly_agent_active_uploads', 'gauge', 'Uploads being served now.', uploads.active);
    metric('mayfly_agent_cache_bytes', 'gauge', 'Verified bytes held in the cache.', this.gauges?.cacheBytes() ?? 0);
    metric('mayfly_agent_cached_tasks', 'gauge', 'Tasks held in the cache.', this.gauges?.cachedTasks() ?? 0);
    metric('mayfly_agent_seed', 'gauge', '1 when this agent runs as a seed.', this.labels.seed ? 1 : 0);
    metric('mayfly_agent_uptime_seconds', 'gauge', 'Seconds since the agent started.', Math.round((Date.now() - this.started) / 1000));
    const memory = process.memoryUsage();
    metric('mayfly_agent_resident_memory_bytes', 'gauge', 'Resident set size of the agent process.', memory.rss);
    metric('mayfly_agent_heap_used_bytes', 'gauge', 'V8 heap in use.', memory.heapUsed);
    metric('mayfly_agent_heap_total_bytes', 'gauge', 'V8 heap reserved.', memory.heapTotal);
    metric('mayfly_agent_buffer_bytes', 'gauge', 'Memory held by Buffers and ArrayBuffers outside the V8 heap.', memory.arrayBuffers);
    return `${lines.join('\n')}\n`;
  }
}

function escape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
