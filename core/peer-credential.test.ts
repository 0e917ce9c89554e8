import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ForbiddenError, UnauthorizedError } from './errors.ts';
import { CREDENTIAL_LIFETIME_MS, derivePeerSigningKey, issueCredential, parsePublicKey, verifyCredential } from './peer-credential.ts';

const taskA = 'a'.repeat(64);
const taskB = 'b'.repeat(64);
const now = 1_800_000_000_000;

describe('peer credentials', () => {
  const key = derivePeerSigningKey('control-plane-secret');
  const publicKey = parsePublicKey(key.publicKey);

  it('verify for the task and peer they were issued to', () => {
    const credential = issueCredential(key, taskA, 'child-1', now + 60_000);
    expect(verifyCredential(publicKey, taskA, credential, now)).toBe('child-1');
  });

  it('derive one key per secret, the same on every scheduler instance', () => {
    expect(derivePeerSigningKey('control-plane-secret').publicKey).toBe(key.publicKey);
    expect(derivePeerSigningKey('other-secret').publicKey).not.toBe(key.publicKey);
  });

  it('refuse expired, forged, retargeted and missing credentials', () => {
    const credential = issueCredential(key, taskA, 'child-1', now + 60_000);
    expect(() => verifyCredential(publicKey, taskA, issueCredential(key, taskA, 'child-1', now - 1), now)).toThrow(/expired/);
    expect(() => verifyCredential(publicKey, taskB, credential, now)).toThrow(ForbiddenError);
    expect(() => verifyCredential(parsePublicKey(derivePeerSigningKey('other-secret').publicKey), taskA, credential, now)).toThrow(ForbiddenError);
    // Changing the peer id or stretching the expiry breaks the signature.
    expect(() => verifyCredential(publicKey, taskA, credential.replace('child-1', 'child-2'), now)).toThrow(ForbiddenError);
    expect(() => verifyCredential(publicKey, taskA, credential.replace(String(now + 60_000), String(now + 9e9)), now)).toThrow(ForbiddenError);
    expect(() => verifyCredential(publicKey, taskA, undefined, now)).toThrow(UnauthorizedError);
    expect(() => verifyCredential(publicKey, taskA, 'garbage', now)).toThrow(UnauthorizedError);
  });

  it('refuse what the holder of the public key can make: self-signed, HMAC, or far-future credentials', () => {
    const own = generateKeyPairSync('ed25519');
    const selfSigned = `child-1.${now + 60_000}.${sign(null, Buffer.from(`mayfly-peer-credential/v1\n${taskA}\nchild-1\n${now + 60_000}`), own.privateKey).toString('base64url')}`;
    expect(() => verifyCredential(publicKey, taskA, selfSigned, now)).toThrow(ForbiddenError);
    const hmac = `child-1.${now + 60_000}.${createHmac('sha256', key.publicKey).update(taskA).digest('base64url')}`;
    expect(() => verifyCredential(publicKey, taskA, hmac, now)).toThrow(UnauthorizedError);
    // Even signed by the scheduler's key, a credential for 2286 is refused: none is ever issued for longer than 15 minutes.
    expect(() => verifyCredential(publicKey, taskA, issueCredential(key, taskA, 'child-1', 9_999_999_999_999), now)).toThrow(/too far ahead/);
    expect(() => verifyCredential(publicKey, taskA, issueCredential(key, taskA, 'child-1', now + CREDENTIAL_LIFETIME_MS), now)).not.toThrow();
  });

  it('refuse a public key that is not one', () => {
    expect(() => parsePublicKey('short')).toThrow(/32 bytes/);
  });
});
