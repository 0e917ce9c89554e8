import { describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError } from './errors.ts';
import { deriveTaskKey, issueCredential, verifyCredential } from './peer-credential.ts';

const taskA = 'a'.repeat(64);
const taskB = 'b'.repeat(64);
const now = 1_800_000_000_000;

describe('peer credentials', () => {
  const key = deriveTaskKey('control-plane-secret', taskA);

  it('verify for the task and peer they were issued to', () => {
    const credential = issueCredential(key, taskA, 'child-1', now + 60_000);
    expect(verifyCredential(key, taskA, credential, now)).toBe('child-1');
  });

  it('derive different keys per task and per secret', () => {
    expect(deriveTaskKey('control-plane-secret', taskB)).not.toBe(key);
    expect(deriveTaskKey('other-secret', taskA)).not.toBe(key);
  });

  it('refuse expired, forged, retargeted and missing credentials', () => {
    const credential = issueCredential(key, taskA, 'child-1', now + 60_000);
    expect(() => verifyCredential(key, taskA, issueCredential(key, taskA, 'child-1', now - 1), now)).toThrow(/expired/);
    expect(() => verifyCredential(key, taskB, credential, now)).toThrow(ForbiddenError);
    expect(() => verifyCredential(deriveTaskKey('other-secret', taskA), taskA, credential, now)).toThrow(ForbiddenError);
    // Changing the peer id or stretching the expiry breaks the MAC.
    expect(() => verifyCredential(key, taskA, credential.replace('child-1', 'child-2'), now)).toThrow(ForbiddenError);
    expect(() => verifyCredential(key, taskA, credential.replace(String(now + 60_000), String(now + 9e9)), now)).toThrow(ForbiddenError);
    expect(() => verifyCredential(key, taskA, undefined, now)).toThrow(UnauthorizedError);
    expect(() => verifyCredential(key, taskA, 'garbage', now)).toThrow(UnauthorizedError);
  });
});
