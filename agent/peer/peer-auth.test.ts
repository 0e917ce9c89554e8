import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError, UnavailableError } from '../../core/errors.ts';
import { derivePeerSigningKey, issueCredential } from '../../core/peer-credential.ts';
import { PeerAuth } from './peer-auth.ts';

const taskId = 'b'.repeat(64);
const signing = derivePeerSigningKey('secret');
const grant = { publicKey: signing.publicKey, credential: issueCredential(signing, taskId, 'me', Date.now() + 60_000) };

describe('PeerAuth', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'peer-auth-'));
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('refuses every child (503, retry) before it knows the scheduler key', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'peer-auth-fresh-'));
    const auth = new PeerAuth(fresh);
    await auth.load();
    expect(auth.required).toBe(true);
    expect(() => auth.check(taskId, undefined)).toThrow(UnavailableError);
    expect(() => auth.check(taskId, grant.credential)).toThrow(UnavailableError);
    await rm(fresh, { recursive: true, force: true });
  });

  it('then requires a credential the scheduler signed, also after a restart before it has announced', async () => {
    const auth = new PeerAuth(dir);
    await auth.grant(taskId, grant);
    expect(auth.credential(taskId)).toBe(grant.credential);
    expect(() => auth.check(taskId, undefined)).toThrow(UnauthorizedError);
    expect(() => auth.check(taskId, issueCredential(derivePeerSigningKey('other'), taskId, 'child', Date.now() + 1000))).toThrow(ForbiddenError);
    expect(() => auth.check(taskId, issueCredential(signing, taskId, 'child', Date.now() + 1000))).not.toThrow();

    const restarted = new PeerAuth(dir);
    await restarted.load();
    expect(() => restarted.check(taskId, undefined)).toThrow(UnauthorizedError);
    expect(() => restarted.check(taskId, issueCredential(signing, taskId, 'child', Date.now() + 1000))).not.toThrow();
    expect(restarted.credential(taskId)).toBeUndefined();
  });

  it('treats a damaged key file as no key', async () => {
    const damaged = await mkdtemp(join(tmpdir(), 'peer-auth-damaged-'));
    await writeFile(join(damaged, 'peer-public-key'), 'not a key\n');
    const auth = new PeerAuth(damaged);
    await auth.load();
    expect(() => auth.check(taskId, undefined)).toThrow(UnavailableError);
    await rm(damaged, { recursive: true, force: true });
  });

  it('serves without credentials only when explicitly off', () => {
    const auth = new PeerAuth(dir, 'off');
    expect(auth.required).toBe(false);
    expect(() => auth.check(taskId, undefined)).not.toThrow();
  });

  it('a credential checked once still binds its task, expires on time, and is forgotten when the key changes', async () => {
    const auth = new PeerAuth(dir);
    await auth.grant(taskId, grant);
    const now = Date.now();
    const child = issueCredential(signing, taskId, 'child.a', now + 1000);
    expect(auth.check(taskId, child, now)).toBe('child.a');
    expect(auth.check(taskId, child, now + 500)).toBe('child.a');
    expect(() => auth.check('c'.repeat(64), child, now)).toThrow(ForbiddenError);
    expect(() => auth.check(taskId, child, now + 1001)).toThrow(ForbiddenError);
    const rotated = derivePeerSigningKey('rotated');
    await auth.grant(taskId, { publicKey: rotated.publicKey, credential: issueCredential(rotated, taskId, 'me', now + 60_000) });
    expect(() => auth.check(taskId, child, now)).toThrow(ForbiddenError);
  });
});
