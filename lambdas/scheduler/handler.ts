import { handle } from 'hono/aws-lambda';
import { lazyRetrying } from '../shared/lazy-retrying.ts';
import { readSecretString } from '../shared/secret-string.ts';
import { createScheduler, resolveSchedulerOptions } from './wiring.ts';

type FunctionUrlHandler = ReturnType<typeof handle>;

// The peer secret is read from Secrets Manager, not the environment. Started during init
// (Lambda's init phase runs at full CPU); if that fails, the first event tries again.
const scheduler = lazyRetrying(async () => handle(createScheduler(await resolveSchedulerOptions(process.env, (id) => readSecretString(id))).app));
scheduler().catch(() => undefined);

/** Lambda entry: adapts Function URL events to the scheduler's Hono app. */
export const handler: FunctionUrlHandler = async (event, context) => (await scheduler())(event, context);
