import type { z } from 'zod';
import { BadRequestError } from '../errors.ts';

/** Parses `value` or throws a BadRequestError that names the first bad field. */
export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue?.path.length ? issue.path.join('.') : '(body)';
  throw new BadRequestError(`invalid ${what}: ${path}: ${issue?.message ?? 'invalid'}`, {
    context: { field: path },
  });
}
