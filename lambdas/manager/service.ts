import { NotFoundError } from '../../core/errors.ts';
import type { PeerRecord, PeerStore } from '../domain/peer.ts';
import type { TaskStore } from '../domain/task.ts';
import { failuresOf, summarizeTask, type PullFailure, type TaskSummary } from './task-summary.ts';

export interface SwarmPeer extends PeerRecord {
  /** Share of the task's pieces this peer holds, 0..1. */
  readonly progress: number;
}

export interface SwarmView {
  readonly task: TaskSummary;
  readonly peers: readonly SwarmPeer[];
  readonly bytesFromPeers: number;
  readonly bytesFromOrigin: number;
  /** Share of the swarm's received bytes that came from S3, 0..1 (0 before any byte moved). */
  readonly originShare: number;
}

export interface ManagerServiceOptions {
  readonly tasks: TaskStore;
  readonly peers: PeerStore;
}

/** The operator's read model over the same stores the scheduler writes. */
export class ManagerService {
  constructor(private readonly deps: ManagerServiceOptions) {}

  /** Recent tasks with their swarm's state (one read of each task's peers), and the pulls that failed among them. */
  async listTasks(limit = 50): Promise<{ tasks: TaskSummary[]; failures: PullFailure[] }> {
    const tasks = await this.deps.tasks.listTasks(Math.min(Math.max(limit, 1), 200));
    const swarms = await Promise.all(tasks.map(async (task) => ({ task, peers: await this.deps.peers.list(task.id, task.shards) })));
    return {
      tasks: swarms.map(({ task, peers }) => summarizeTask(task, peers)),
      failures: swarms.flatMap(({ task, peers }) => failuresOf(task, peers)).sort((a, b) => b.at.localeCompare(a.at)),
    };
  }

  async swarm(taskId: string): Promise<SwarmView> {
    const task = await this.deps.tasks.getTask(taskId);
    if (!task) throw new NotFoundError(`unknown task ${taskId}`, { context: { taskId } });
    const peers = await this.deps.peers.list(taskId, task.shards);
    const bytesFromPeers = peers.reduce((sum, peer) => sum + peer.bytesFromPeers, 0);
    const bytesFromOrigin = peers.reduce((sum, peer) => sum + peer.bytesFromOrigin, 0);
    return {
      task: summarizeTask(task, peers),
      peers: peers
        .map((peer) => ({ ...peer, progress: task.pieceCount === 0 ? 1 : Math.min(1, peer.completed / task.pieceCount) }))
        .sort((a, b) => a.site.localeCompare(b.site) || a.peerId.localeCompare(b.peerId)),
      bytesFromPeers,
      bytesFromOrigin,
      originShare: bytesFromPeers + bytesFromOrigin === 0 ? 0 : bytesFromOrigin / (bytesFromPeers + bytesFromOrigin),
    };
  }
}
