import { handle } from 'hono/aws-lambda';
import { createScheduler, schedulerOptionsFromEnv } from './wiring.ts';

/** Lambda entry: adapts Function URL events to the scheduler's Hono app. */
export const handler = handle(createScheduler(schedulerOptionsFromEnv(process.env)).app);
