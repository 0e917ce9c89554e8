import { DEFAULTS } from '../../core/constants.ts';
import type { TaskRecord, TaskStore } from '../domain/task.ts';

/**
 * Counts a registration for shard sizing. Past the first 64 peers a herd would
 * make the task item one hot key, so it is counted 8 at a time, 1 in 8 registers.
 */
export async function countRegistration(tasks: Pick<TaskStore, 'addPeer'>, task: TaskRecord, random: () => number): Promise<void> {
  if (task.peerCount < 64) await tasks.addPeer(task.id, DEFAULTS.peersPerShard, DEFAULTS.maxShards);
  else if (random() < 1 / 8) await tasks.addPeer(task.id, DEFAULTS.peersPerShard, DEFAULTS.maxShards, 8);
}
