import { handle } from 'hono/aws-lambda';
import { createManager, managerOptionsFromEnv } from './wiring.ts';

/** Lambda entry: adapts Function URL events to the manager's Hono app. */
export const handler = handle(createManager(managerOptionsFromEnv(process.env)).app);
