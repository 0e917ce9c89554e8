import type { Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { BadRequestError } from '../../core/errors.ts';
import { errorAnswer } from '../../core/http-answer.ts';
import type { Logger } from '../../core/log.ts';

/** The one place where typed errors become HTTP statuses. */
export function errorResponse(c: Context, error: unknown, log: Logger): Response {
  if (error instanceof HTTPException) {
    const status = error.status;
    const code = status === 413 ? 'PayloadTooLarge' : status === 401 ? 'Unauthorized' : 'BadRequest';
    return c.json({ error: code, message: error.message || 'bad request' }, status);
  }
  const answer = errorAnswer(error);
  if (answer.internal) log.error('request failed', { error, path: c.req.path });
  else if (answer.status === 503) log.warn('dependency unavailable', { error, path: c.req.path });
  for (const [name, value] of Object.entries(answer.headers)) c.header(name, value);
  return c.json(answer.body, answer.status as 400);
}

export function installErrorHandling(app: Hono, log: Logger): void {
  app.onError((error, c) => errorResponse(c, error, log));
  app.notFound((c) => c.json({ error: 'NotFound', message: `no route for ${c.req.method} ${c.req.path}` }, 404));
}

/** Reads a JSON body, turning malformed JSON into a 400 with a reason. */
export async function readJson(c: Context): Promise<unknown> {
  const type = c.req.header('content-type') ?? '';
  if (!type.includes('application/json')) throw new BadRequestError('expected Content-Type: application/json');
  try {
    return await c.req.json();
  } catch (cause) {
    throw new BadRequestError('request body is not valid JSON', { cause });
  }
}
