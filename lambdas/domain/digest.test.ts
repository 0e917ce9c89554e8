import { describe, expect, it } from 'vitest';
import { planDigestJobs } from './digest.ts';

const task = { taskId: 'a'.repeat(64), bucket: 'b', key: 'k', etag: '"e"', size: 10 * 4096 + 1, pieceLength: 4096, pieceCount: 11 };

describe('planDigestJobs', () => {
  it('splits a task into contiguous chunks of at most maxBytes, the first checking the object', () => {
    const jobs = planDigestJobs(task, 4 * 4096);
    expect(jobs.map((job) => [job.first, job.count, job.checkObject])).toEqual([[0, 4, true], [4, 4, false], [8, 3, false]]);
  });

  it('gives each job at least one piece', () => {
    expect(planDigestJobs(task, 100)).toHaveLength(11);
  });

  it('plans one job for a small object', () => {
    expect(planDigestJobs(task)).toHaveLength(1);
  });
});
