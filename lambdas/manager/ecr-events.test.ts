import { describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.ts';
import { handleEcrEvent } from './ecr-events.ts';

const log = createLogger({ sink: () => {}, level: 'error' });
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const event = (detail: object) => ({ 'detail-type': 'ECR Image Action', source: 'aws.ecr', account: '123456789012', region: 'eu-west-1', detail });

describe('handleEcrEvent', () => {
  it('a successful PUSH opens an image preheat by digest on the registry host', async () => {
    const calls: string[][] = [];
    const preheat = { imagePushed: async (host: string, repository: string, digest: string) => (calls.push([host, repository, digest]), []) };
    await handleEcrEvent(event({ 'action-type': 'PUSH', result: 'SUCCESS', 'repository-name': 'team/app', 'image-digest': DIGEST, 'image-tag': 'v1' }), preheat, log);
    expect(calls).toEqual([['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'team/app', DIGEST]]);
  });

  it('deletes, failures and malformed events open nothing', async () => {
    const preheat = { imagePushed: async () => { throw new Error('not called'); } };
    await expect(handleEcrEvent(event({ 'action-type': 'DELETE', result: 'SUCCESS', 'repository-name': 'a', 'image-digest': DIGEST }), preheat, log)).resolves.toEqual({ jobs: [] });
    await expect(handleEcrEvent(event({ 'action-type': 'PUSH', result: 'FAILURE', 'repository-name': 'a', 'image-digest': DIGEST }), preheat, log)).resolves.toEqual({ jobs: [] });
    await expect(handleEcrEvent({ 'detail-type': 'ECR Image Action', account: 'x' }, preheat, log)).rejects.toMatchObject({ code: 'BadRequest' });
  });
});
