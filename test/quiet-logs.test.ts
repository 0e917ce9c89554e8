import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentProcess } from '../local/agent-process.ts';
import { LocalStack } from '../local/local-stack.ts';
import { swarmPull } from '../local/swarm-pull.ts';
import { waitUntil } from './fixtures/wait-until.ts';

const MiB = 1024 * 1024;

/** Issue 15, case 7: one line per event a person cares about, from the scheduler process and the agents. */
describe('quiet, useful logs', () => {
  let stack: LocalStack;
  const schedulerLines: string[] = [];
  const agentLines = new Map<string, string[]>();

  beforeAll(async () => {
    stack = await LocalStack.start({
      schedulerProcess: true,
      onSchedulerLine: (line) => schedulerLines.push(line),
      onAgentLog: (agent, line) => agentLines.set(agent, [...(agentLines.get(agent) ?? []), line]),
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('no metric line per announce, a grant said once (renewals at debug), one warning per outage', async () => {
    // Limited downloads, so the source renews its lease on several announces while it reads S3.
    const agents: AgentProcess[] = [];
    for (const name of ['quiet-1', 'quiet-2', 'quiet-3']) agents.push(await stack.startAgent(name, { MAYFLY_DOWNLOAD_LIMIT: '8MiB' }));
    const artifacts = [await stack.putArtifact('quiet/one.bin', 24 * MiB), await stack.putArtifact('quiet/two.bin', 24 * MiB)];
    for (const artifact of artifacts) {
      const report = await swarmPull(stack, artifact, agents);
      expect(report.agents.every((agent) => agent.sha256ok)).toBe(true);
    }

    // The scheduler (as `mayfly scheduler` runs it): no embedded-metric line on stdout unless --metrics.
    expect(schedulerLines.filter((line) => line.includes('"_aws"'))).toEqual([]);
    // A grant is said once per (task, peer): the holder's renewals on each announce are debug lines.
    // (How many agents of a swarm get a grant is swarm efficiency, not the log rule.)
    const grants = schedulerLines
      .filter((line) => line.startsWith('{') && line.includes('back-to-source granted'))
      .map((line) => JSON.parse(line) as { taskId: string; peerId: string })
      .map((line) => `${line.taskId} ${line.peerId}`);
    console.log(`quiet logs: ${grants.length} back-to-source grant lines for ${artifacts.length} tasks:\n${grants.join('\n')}`);
    expect(grants.length, grants.join('\n')).toBe(new Set(grants).size);

    // A scheduler failing for a while: each agent says so once (per task announcer and for its heartbeat), not on every try.
    const before = new Map([...agentLines].map(([agent, lines]) => [agent, lines.length]));
    stack.schedulerProxy.setFault({ kind: 'error500' });
    try {
      // An idle agent announces no task on its own (its holdings ride on the host heartbeat), so its heartbeat is what fails.
      const saidSo = (agent: AgentProcess) => (agentLines.get(agent.name) ?? []).slice(before.get(agent.name)).some((line) => /announce failed|heartbeat failed/.test(line));
      await waitUntil(async () => agents.every(saidSo), 90_000);
      // Long enough for several announces and heartbeats of every agent to fail.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    } finally {
      stack.schedulerProxy.setFault(undefined);
    }
    for (const agent of agents) {
      const outage = (agentLines.get(agent.name) ?? []).slice(before.get(agent.name)).filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { level: string; msg: string });
      const warned = (msg: string) => outage.filter((line) => line.level === 'warn' && line.msg === msg).length;
      expect(warned('announce failed'), `${agent.name}: one per task at most`).toBeLessThanOrEqual(artifacts.length);
      expect(warned('heartbeat failed')).toBeLessThanOrEqual(1);
    }
  }, 300_000);
});
