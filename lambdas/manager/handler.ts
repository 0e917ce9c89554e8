import { handle } from 'hono/aws-lambda';
import { createManager, managerOptionsFromEnv } from './wiring.ts';

const manager = createManager(managerOptionsFromEnv(process.env));

/** Lambda entry: adapts Function URL events to the manager's Hono app. */
export const handler = handle(manager.app);

/**
 * Lambda entry for S3 event notifications (ObjectCreated under a cluster's preheatOrigins → preheat)
 * and EventBridge `ECR Image Action` events (a push under a `registry+` preheatOrigins entry → image preheat).
 */
export const s3EventHandler = (event: unknown) =>
  (event as { 'detail-type'?: unknown } | null)?.['detail-type'] === 'ECR Image Action' ? manager.onEcrEvent(event) : manager.onS3Event(event);

