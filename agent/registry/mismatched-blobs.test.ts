import { describe, expect, it } from 'vitest';
import { MismatchedBlobs } from './mismatched-blobs.ts';

describe('MismatchedBlobs', () => {
  it('remembers a blob for the memory window, then forgets it', () => {
    let now = 1_000;
    const blobs = new MismatchedBlobs(() => now, 60_000);
    expect(blobs.has('http://r/v2/a/blobs/sha256:1')).toBe(false);
    blobs.remember('http://r/v2/a/blobs/sha256:1');
    expect(blobs.has('http://r/v2/a/blobs/sha256:1')).toBe(true);
    expect(blobs.has('http://r/v2/b/blobs/sha256:1')).toBe(false);
    now += 59_999;
    expect(blobs.has('http://r/v2/a/blobs/sha256:1')).toBe(true);
    now += 1;
    expect(blobs.has('http://r/v2/a/blobs/sha256:1')).toBe(false);
  });

  it('keeps at most 1024 blobs, forgetting the oldest', () => {
    const blobs = new MismatchedBlobs(() => 0, 60_000);
    for (let i = 0; i <= 1024; i++) blobs.remember(`http://r/v2/a/blobs/sha256:${i}`);
    expect(blobs.has('http://r/v2/a/blobs/sha256:0')).toBe(false);
    expect(blobs.has('http://r/v2/a/blobs/sha256:1')).toBe(true);
    expect(blobs.has('http://r/v2/a/blobs/sha256:1024')).toBe(true);
  });
});
