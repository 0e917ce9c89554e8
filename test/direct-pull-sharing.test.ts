import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';
import { swarmPull } from '../local/swarm-pull.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;

/**
 * Issue 15, case 2 (the last part): agents that fell back to S3 while the control plane
 * was unreachable share what they read once the scheduler is back, subject to the digest
 * rule (a piece is offered only once the control plane's digest for it is known and matches).
 */
describe('an agent that pulled straight from S3 during an outage', () => {
  let stack: LocalStack;
  const agentLines = new Map<string, string[]>();
  const linesOf = (agent: string) => agentLines.get(agent) ?? [];

  beforeAll(async () => {
    stack = await LocalStack.start({ onAgentLog: (agent, line) => agentLines.set(agent, [...linesOf(agent), line]) });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('becomes a parent of those pieces once the scheduler answers again', async () => {
    const artifact = await stack.putArtifact('degradation/direct-share.bin', 12 * MiB);
    const direct = await stack.startAgent('direct-a');
    stack.schedulerProxy.setFault({ kind: 'reset' });
    try {
      const report = await swarmPull(stack, artifact, [direct]);
      expect(report.agents[0].sha256ok).toBe(true);
      expect(report.agents[0].bytesFromOrigin).toBe(artifact.size);
      expect(linesOf('direct-a').some((line) => line.includes('pulling straight from the origin'))).toBe(true);
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }

    // The scheduler is back: the pull that fell back kept announcing (outage-pace.ts), and checks
    // each piece it read against the control plane's digests before offering it; the task is
    // complete (and seeded) once every piece is checked.
    const complete = () =>
      linesOf('direct-a')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg: string; bytesFromOrigin?: number })
        .find((line) => line.msg === 'task complete');
    await waitUntil(async () => complete() !== undefined, 90_000);
    expect(complete()?.bytesFromOrigin).toBe(artifact.size);

    const later = await stack.startAgent('direct-b');
    const report = await swarmPull(stack, artifact, [later]);
    expect(report.agents[0].sha256ok).toBe(true);
    expect(report.agents[0].bytesFromPeers).toBe(artifact.size);
    expect(report.agents[0].bytesFromOrigin).toBe(0);
    // Counted at S3 itself: the second agent read nothing there.
    expect(report.originBytes).toBe(0);
  }, 240_000);
});
