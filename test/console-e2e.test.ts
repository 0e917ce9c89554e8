import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Artifact } from '../local/artifact.ts';
import { LocalStack } from '../local/local-stack.ts';
import { swarmPull } from '../local/swarm-pull.ts';

const MiB = 1024 * 1024;
/** Debian's chromium, installed by .ci/run with apt-get; no browser is downloaded. */
const CHROMIUM = '/usr/bin/chromium';
/** docs/console.png is refreshed only when asked (MAYFLY_UPDATE_SCREENSHOT=1), so tests leave the tree clean. */
const DOCS_SCREENSHOT = fileURLToPath(new URL('../docs/console.png', import.meta.url));

/** The console in headless Chromium against the local stack: a pulled task's swarm, then a preheat from the form. */
describe('operator console (headless Chromium)', () => {
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;
  let pulled: Artifact;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`the console test needs Debian's chromium at ${CHROMIUM}: run "apt-get install -y chromium" (.ci/run does)`);
    }
    stack = await LocalStack.start();
    await stack.startAgent('seed-1', { MAYFLY_SEED: 'true' });
    const normals = await Promise.all([stack.startAgent('agent-1'), stack.startAgent('agent-2')]);
    pulled = await stack.putArtifact('console/pulled.bin', 16 * MiB);
    const report = await swarmPull(stack, pulled, normals);
    expect(report.agents.every((agent) => agent.sha256ok)).toBe(true);
    // launch() runs Chromium on a fresh temporary profile (user-data dir) of its own.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('shows the pulled task with every peer’s progress and the share of bytes from S3', async () => {
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(stack.consoleUrl);
    // The token moved from the fragment into session storage; the address bar no longer shows it.
    await page.waitForFunction(() => !location.hash.includes('token'));
    const row = page.locator('#tasks tr[data-task]', { hasText: pulled.url });
    await row.waitFor({ timeout: 10_000 });
    await row.click();
    await expect.poll(() => page.locator('#swarm-title').textContent()).toContain(pulled.url);
    for (const peer of ['seed-1', 'agent-1', 'agent-2']) {
      await page.locator(`#swarm tr[data-peer="${peer}"][data-progress="1"]`).waitFor({ timeout: 10_000 });
    }
    // The seed read the object once; the two agents got it from peers: one third of all bytes came from S3.
    const share = Number(await page.locator('#origin-share').getAttribute('data-share'));
    expect(share).toBeCloseTo(1 / 3, 2);
    expect(await page.locator('#origin-share').textContent()).toMatch(/33\.3% of bytes from S3/);
    await page.locator('#hosts tr[data-peer="seed-1"]', { hasText: 'seed' }).waitFor();
    expect(await page.locator('#hosts tr[data-peer]').count()).toBe(3);
    expect(await page.locator('#clusters tr[data-cluster="default"]').count()).toBe(1);
    expect(errors).toEqual([]);
  });

  it('starts a preheat from the form and shows it land on the seed', async () => {
    const artifact = await stack.putArtifact('console/preheat-me.bin', 8 * MiB);
    await page.fill('#preheat-url', artifact.url);
    await page.click('#preheat-submit');
    await expect.poll(() => page.locator('#message').textContent()).toMatch(/1 job\(s\) created/);
    const job = page.locator('#preheat-jobs tr[data-job]', { hasText: artifact.url });
    await job.first().waitFor();
    await page.locator('#preheat-jobs tr[data-state="done"]', { hasText: artifact.url }).waitFor({ timeout: 20_000 });
    expect(await job.first().textContent()).toContain('default: seed-1');

    // The API agrees, and the seed's cache holds the object.
    const jobs = (await (await fetch(`${stack.manager.url}/v1/preheats`, { headers: { authorization: `Bearer ${stack.token}` } })).json()) as {
      jobs: Array<{ url: string; state: string; source: string }>;
    };
    expect(jobs.jobs.find((j) => j.url === artifact.url)).toMatchObject({ state: 'done', source: 'api' });
    const seed = stack.agents.find((agent) => agent.name === 'seed-1')!;
    const cached = (await (await fetch(`${seed.apiUrl}/v1/tasks`)).json()) as { tasks: Array<{ url: string; complete: boolean }> };
    expect(cached.tasks.find((t) => t.url === artifact.url)?.complete).toBe(true);

    // Bad input is shown, not swallowed.
    await page.fill('#preheat-url', 'https://example.com/not-s3');
    await page.click('#preheat-submit');
    await expect.poll(() => page.locator('#message.error').textContent()).toMatch(/not an S3 URL/);

    // Back to the pulled task for the screenshot kept in docs/.
    await page.fill('#preheat-url', '');
    await page.locator('#tasks tr[data-task]', { hasText: pulled.url }).click();
    await page.locator('#swarm tr[data-peer="agent-2"][data-progress="1"]').waitFor();
    const screenshot = process.env.MAYFLY_UPDATE_SCREENSHOT === '1' ? DOCS_SCREENSHOT : join(await mkdtemp(join(tmpdir(), 'mayfly-console-')), 'console.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(readFileSync(screenshot).subarray(1, 4).toString()).toBe('PNG');
  });
});
