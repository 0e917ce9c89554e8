import { describe, expect, it } from 'vitest';
import { allowedFrom, canTransition, isPreheatDone, openForSite, prefixJobState } from './preheat-job.ts';
import { newPreheatJobId, parsePreheatItemId, preheatItemId } from './preheat.ts';

describe('preheat job state machine', () => {
  it('starts pending, runs once claimed, and only from pending', () => {
    expect(canTransition('pending', 'running')).toBe(true);
    expect(canTransition('running', 'running')).toBe(false);
    expect(canTransition('failed', 'running')).toBe(false);
    expect(canTransition('done', 'running')).toBe(false);
    expect(allowedFrom('pending')).toEqual([]);
  });

  it('never leaves done, but a failed job is done when a seed still pulls it', () => {
    for (const to of ['pending', 'running', 'failed'] as const) expect(canTransition('done', to)).toBe(false);
    expect(canTransition('done', 'done')).toBe(true);
    expect(canTransition('failed', 'done')).toBe(true);
    expect(canTransition('running', 'failed')).toBe(true);
    expect(canTransition('pending', 'failed')).toBe(true);
  });

  it('is done once a seed of every target site holds the object, or any seed for a job of no site', () => {
    expect(isPreheatDone({ sites: ['a', 'b'], doneBy: { a: 'seed-a' } })).toBe(false);
    expect(isPreheatDone({ sites: ['a', 'b'], doneBy: { a: 'seed-a', b: 'seed-b' } })).toBe(true);
    expect(isPreheatDone({ sites: [], doneBy: {} })).toBe(false);
    expect(isPreheatDone({ sites: [], doneBy: { c: 'seed-c' } })).toBe(true);
  });

  it('is handed to a seed of a target site (or of any site) that has not finished it yet', () => {
    expect(openForSite({ sites: ['a'], doneSites: [] }, 'a')).toBe(true);
    expect(openForSite({ sites: ['a'], doneSites: [] }, 'b')).toBe(false);
    expect(openForSite({ sites: [], doneSites: [] }, 'b')).toBe(true);
    expect(openForSite({ sites: ['a', 'b'], doneSites: ['a'] }, 'a')).toBe(false);
    expect(openForSite({ sites: ['a', 'b'], doneSites: ['a'] }, 'b')).toBe(true);
  });
});

describe('prefix preheat jobs', () => {
  it('run until every item is settled, then are done, or failed saying how many failed', () => {
    expect(prefixJobState({ itemCount: 3, itemsDone: 2, itemsFailed: 0 })).toEqual({ state: 'running' });
    expect(prefixJobState({ itemCount: 3, itemsDone: 3, itemsFailed: 0 })).toEqual({ state: 'done' });
    expect(prefixJobState({ itemCount: 3, itemsDone: 2, itemsFailed: 1 })).toEqual({ state: 'failed', error: '1 of 3 objects failed' });
  });

  it('name items by job id and index, and tell them from job ids', () => {
    const jobId = newPreheatJobId(Date.now());
    expect(parsePreheatItemId(jobId)).toBeUndefined();
    expect(parsePreheatItemId(preheatItemId(jobId, 42))).toEqual({ jobId, index: 42 });
    expect(preheatItemId(jobId, 42)).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
  });
});
