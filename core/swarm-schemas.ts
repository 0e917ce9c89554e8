import { z } from 'zod';
import { peerIdSchema, siteSchema, taskInfoSchema } from './schemas.ts';

/**
 * The scheduler's view of one task's swarm (GET /v1/tasks?url=… and
 * GET /v1/tasks/:taskId), as `mayfly stat` shows it.
 */
const countSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const swarmPeerSchema = z.object({
  peerId: peerIdSchema,
  addr: z.string(),
  site: siteSchema,
  seed: z.boolean(),
  finished: z.boolean(),
  /** Holds a back-to-source grant (reads S3). */
  source: z.boolean(),
  failed: z.boolean(),
  /** Verified pieces. */
  completed: countSchema,
  uploads: countSchema,
  /** Epoch ms of the peer's last announce. */
  updatedAt: countSchema,
  bytesFromPeers: countSchema,
  bytesFromOrigin: countSchema,
});
export type SwarmPeer = z.infer<typeof swarmPeerSchema>;

export const swarmResponseSchema = z.object({
  task: taskInfoSchema,
  peers: z.array(swarmPeerSchema),
  blocked: z.array(z.string()),
});
export type SwarmResponse = z.infer<typeof swarmResponseSchema>;
