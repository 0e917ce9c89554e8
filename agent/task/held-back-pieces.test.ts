import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/log.ts';
import type { TaskFiles } from '../cache/task-files.ts';
import type { ChildView } from '../peer/child-view.ts';
import type { DigestSink } from './digest-publisher.ts';
import { HeldBackPieces } from './held-back-pieces.ts';

function setUp(attests: boolean, vouched: Record<number, string>) {
  const held = new Set([0, 1, 2]);
  const offered: number[] = [];
  const asked: number[] = [];
  const view = { heldBack: () => [...held], published: (index: number) => (held.delete(index), offered.push(index)) } as unknown as ChildView;
  const files = { digests: new Map([[0, 'd0'], [1, 'd1'], [2, 'd2']]) } as unknown as TaskFiles;
  const sink: DigestSink = {
    attests,
    publish: async (index, digest) => (asked.push(index), vouched[index] === digest),
    drain: async () => {},
  };
  return { pieces: new HeldBackPieces({ files, view, sink, log: silentLogger }), offered, asked };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('pieces a direct pull held back', () => {
  it('are offered once the vouched digest matches, and kept when it does not', async () => {
    const { pieces, offered, asked } = setUp(false, { 0: 'd0', 1: 'other', 2: 'd2' });
    pieces.vouch();
    await settle();
    expect(asked.sort()).toEqual([0, 1, 2]);
    expect(offered.sort()).toEqual([0, 2]);
  });

  it('skips pieces this run is checking already', async () => {
    const { pieces, asked } = setUp(false, { 0: 'd0', 1: 'd1', 2: 'd2' });
    pieces.vouch((index) => index === 1);
    await settle();
    expect(asked.sort()).toEqual([0, 2]);
  });

  it('stay local for a task whose digests are attested (HTTP(S)): only a lease holder attests', async () => {
    const { pieces, asked, offered } = setUp(true, { 0: 'd0' });
    pieces.vouch();
    await settle();
    expect(asked).toEqual([]);
    expect(offered).toEqual([]);
  });
});
