import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImageDemoReport } from '../local/image-demo.ts';

const START = join(import.meta.dirname, '..', 'local', 'start.ts');

function start(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', START, ...args], { env, cwd: join(import.meta.dirname, '..') });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** `npm start -- --image`: the ECR stand-in, two agents, containerd pulling through each agent's mirror. */
describe('npm start -- --image', () => {
  it('pulls the demo image through two agents: every blob verified, the second host from peers, S3 serving the image about once', async () => {
    const { code, stdout, stderr } = await start(['--image', '--once', '--json']);
    expect(code, stderr).toBe(0);
    const report = JSON.parse(stdout.slice(stdout.indexOf('{'))) as ImageDemoReport;
    expect(report.layers).toBe(3);
    expect(report.agents.map((agent) => agent.verified)).toEqual([true, true]);
    expect(report.agents[1]).toMatchObject({ blobs: 4, bytesFromOrigin: 0 });
    expect(report.agents[1].bytesFromPeers).toBeGreaterThan(report.imageBytes * 0.99);
    expect(report.storageBytes / report.imageBytes).toBeLessThan(1.05);
  }, 300_000);

  it('names the Debian packages to install and exits 2 when the container tools are missing', async () => {
    const bin = await mkdtemp(join(tmpdir(), 'mayfly-no-tools-'));
    try {
      await symlink(process.execPath, join(bin, 'node'));
      await symlink('/bin/sh', join(bin, 'sh'));
      const { code, stderr } = await start(['--image', '--once'], { ...process.env, PATH: bin });
      expect(code).toBe(2);
      expect(stderr).toMatch(/--image needs the container tools: missing docker-registry.*apt-get install -y docker-registry skopeo containerd runc/);
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  }, 60_000);
});
