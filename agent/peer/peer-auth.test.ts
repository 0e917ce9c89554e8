import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError, UnavailableError } from '../../core/errors.ts';
import { deriveTaskKey, issueCredential } from '../../core/peer-credential.ts';
import { PeerAuth } from './peer-auth.ts';

const taskId = 'b'.repeat(64);
const taskKey = deriveTaskKey('secret', taskId);
const grant = { taskKey, credential: issueCredential(taskKey, taskId, 'me', Date.now() + 60_000) };

describe('PeerAuth', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peer-auth-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('lets any child in until the scheduler hands out credentials', () => {
    const auth = new PeerAuth(dir);
    expect(() => auth.check(taskId, undefined)).not.toThrow();
  });

  it('then requires a valid credential, also after a restart before the key is known again', async () => {
    const auth = new PeerAuth(dir);
    await auth.grant(taskId, grant);
    expect(auth.credential(taskId)).toBe(grant.credential);
    expect(() => auth.check(taskId, undefined)).toThrow(UnauthorizedError);
    expect(() => auth.check(taskId, issueCredential('x'.repeat(43), taskId, 'child', Date.now() + 1000))).toThrow(ForbiddenError);
    expect(() => auth.check(taskId, issueCredential(taskKey, taskId, 'child', Date.now() + 1000))).not.toThrow();

    const restarted = new PeerAuth(dir);
    await restarted.load();
    expect(restarted.required).toBe(true);
    expect(() => restarted.check(taskId, grant.credential)).toThrow(UnavailableError);
    restarted.forget(taskId);
  });
});
