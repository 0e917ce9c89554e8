import { describe, expect, it } from 'vitest';
import { IntegrityError, NotFoundError, StorageError, UnavailableError } from '../../core/errors.ts';
import { PeerTransferError } from '../peer/peer-client.ts';
import { classify, LIE_WINDOW_MS } from './parent-verdict.ts';

const now = 100_000;
const fresh = { bitfieldAt: now - 100, lies: 0 };

describe('classify', () => {
  it('drops a parent that served a corrupt piece', () => {
    expect(classify(new IntegrityError('bad digest'), fresh, now)).toEqual({ kind: 'corrupt' });
  });

  it('counts a piece-level 404 right after the bitfield offered it as a lie', () => {
    expect(classify(new NotFoundError('no piece', { context: { piece: true } }), fresh, now)).toEqual({ kind: 'missing', lie: true });
  });

  it('drops a parent at its second lie within the window', () => {
    expect(classify(new NotFoundError('no piece', { context: { piece: true } }), { ...fresh, lies: 1 }, now)).toEqual({ kind: 'lied' });
  });

  it('does not count a 404 against an old bitfield as a lie', () => {
    const stale = { bitfieldAt: now - LIE_WINDOW_MS, lies: 1 };
    expect(classify(new NotFoundError('no piece', { context: { piece: true } }), stale, now)).toEqual({ kind: 'missing', lie: false });
  });

  it('stops asking a parent that answers a task-level 404, without calling it a liar', () => {
    expect(classify(new NotFoundError('task evicted', { context: { piece: false } }), { ...fresh, lies: 1 }, now)).toEqual({ kind: 'gone' });
    expect(classify(new NotFoundError('task is not here'), fresh, now)).toEqual({ kind: 'gone' });
  });

  it('sends a piece that is on its way to another child elsewhere', () => {
    expect(classify(new UnavailableError('spreading', { context: { piece: true, retryAfterMs: 0 } }), fresh, now)).toEqual({ kind: 'piece-busy' });
  });

  it('leaves a busy parent alone until its retry hint', () => {
    expect(classify(new UnavailableError('slots full', { context: { retryAfterMs: 200 } }), fresh, now)).toEqual({ kind: 'busy', until: now + 200 });
    expect(classify(new UnavailableError('slots full'), fresh, now)).toEqual({ kind: 'busy', until: now + 1000 });
  });

  it('stops the pull when this agent cannot write its own cache', () => {
    expect(classify(new StorageError('disk full'), fresh, now)).toEqual({ kind: 'fatal-local' });
  });

  it('counts anything else as one transfer failure', () => {
    expect(classify(new PeerTransferError('reset'), fresh, now)).toEqual({ kind: 'transient' });
    expect(classify(new Error('socket hang up'), fresh, now)).toEqual({ kind: 'transient' });
  });
});

describe('classify: errors that are not the parent\'s', () => {
  it('a control-plane error (the digest could not be fetched) holds nothing against the parent', () => {
    const error = new UnavailableError('piece digests unavailable', { context: { controlPlane: true } });
    expect(classify(error, fresh, now)).toEqual({ kind: 'not-parent' });
  });
});
