import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { swarmPull, type SwarmReport } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;

/** Six real agent processes pull one object at once through the scheduler. */
describe('P2P swarm on the local stack', () => {
  let stack: LocalStack;
  let artifact: Artifact;
  let report: SwarmReport;

  beforeAll(async () => {
    stack = await LocalStack.start();
    artifact = await stack.putArtifact('swarm/model-64MiB.bin', 64 * MiB);
    const agents = await stack.startAgents(6);
    report = await swarmPull(stack, artifact, agents);
  });
  afterAll(async () => stack?.stop());

  it('delivers correct bytes to every agent', () => {
    expect(report.agents).toHaveLength(6);
    for (const agent of report.agents) {
      expect(agent.sha256ok, agent.agent).toBe(true);
      expect(agent.bytesFromPeers + agent.bytesFromOrigin, agent.agent).toBeGreaterThanOrEqual(artifact.size);
    }
  });

  it('reads about one copy from S3, counted at the S3 side', () => {
    expect(report.originBytes).toBeGreaterThanOrEqual(artifact.size);
    expect(report.originBytes).toBeLessThanOrEqual(1.1 * artifact.size);
  });

  it('moves most bytes between peers', () => {
    const mostlyFromPeers = report.agents.filter((agent) => agent.bytesFromPeers >= artifact.size / 2);
    expect(mostlyFromPeers.length).toBeGreaterThanOrEqual(4);
  });

  it('serves a late joiner entirely from peers', async () => {
    const before = stack.origin.bytesOut();
    const late = await stack.startAgent('late-joiner');
    const result = await swarmPull(stack, artifact, [late]);
    expect(result.agents[0].sha256ok).toBe(true);
    expect(result.agents[0].bytesFromOrigin).toBe(0);
    expect(result.agents[0].bytesFromPeers).toBe(artifact.size);
    expect(stack.origin.bytesOut() - before).toBe(0);
  });

  it('serves a repeated pull from the agent cache', async () => {
    const before = stack.origin.bytesOut();
    const again = await swarmPull(stack, artifact, [stack.agents[0]]);
    expect(again.agents[0].sha256ok).toBe(true);
    expect(again.agents[0].bytesFromPeers + again.agents[0].bytesFromOrigin).toBe(0);
    expect(stack.origin.bytesOut() - before).toBe(0);
    expect(existsSync(join(stack.root, 'outputs'))).toBe(true);
  });
});
