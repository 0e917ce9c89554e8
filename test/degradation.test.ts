import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalStack } from '../local/local-stack.ts';
import { swarmPull } from '../local/swarm-pull.ts';
import { registerDelay, startDelayingProxy } from './fixtures/delaying-proxy.ts';

const MiB = 1024 * 1024;
/** Agents in the herd: 16, the size (about 40 s on a shared 2-core machine); MAYFLY_TEST_HERD sets another. */
const HERD = Number(process.env.MAYFLY_TEST_HERD ?? 16);

/** Issue 15: a slow control plane degrades Mayfly gently; never worse than S3. */
describe('degradation: a slow register', () => {
  let stack: LocalStack;
  const lines: string[] = [];

  beforeAll(async () => {
    stack = await LocalStack.start({ onAgentLog: (agent, line) => lines.push(`${agent} ${line}`) });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('no herd to S3: a herd of agents pulling at once while register announces take 3 s more read S3 at most twice', async () => {
    const proxy = await startDelayingProxy(stack.schedulerProxy.endpoint, registerDelay(3_000));
    try {
      const artifact = await stack.putArtifact('degradation/slow-register.bin', 24 * MiB);
      // Started one after another (processes booting at once overload a 2-core machine); they pull at once.
      const agents = [];
      for (let i = 1; i <= HERD; i++) agents.push(await stack.startAgent(`herd-${i}`, { MAYFLY_SCHEDULER_URL: proxy.endpoint }));
      const report = await swarmPull(stack, artifact, agents);
      expect(report.agents.every((agent) => agent.sha256ok)).toBe(true);
      const ratio = report.originBytes / artifact.size;
      console.log(`slow register: S3 served ${ratio.toFixed(2)} × the object to ${HERD} agents; slowest ${Math.max(...report.agents.map((a) => a.seconds))} s; ${proxy.delayed()} registers delayed`);
      expect(proxy.delayed()).toBeGreaterThan(0);
      expect(ratio, lines.filter((line) => /origin|unavailable|fall/i.test(line)).slice(-20).join('\n')).toBeLessThanOrEqual(2);
    } finally {
      await proxy.stop();
    }
  }, 400_000);
});
