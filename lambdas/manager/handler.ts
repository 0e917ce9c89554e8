import { handle } from 'hono/aws-lambda';
import { createManager, managerOptionsFromEnv } from './wiring.ts';

const manager = createManager(managerOptionsFromEnv(process.env));

/** Lambda entry: adapts Function URL events to the manager's Hono app. */
export const handler = handle(manager.app);

/** Lambda entry for S3 event notifications: ObjectCreated under a cluster's preheatOrigins → preheat. */
export const s3EventHandler = (event: unknown) => manager.onS3Event(event);

/** Lambda entry for EventBridge `ECR Image Action` events: a PUSH under a cluster's registry+ preheatOrigins → image preheat. */
export const ecrEventHandler = (event: unknown) => manager.onEcrEvent(event);
