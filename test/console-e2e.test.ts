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
import { HttpOriginServer } from './fixtures/http-origin-server.ts';

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
  let web: HttpOriginServer;
  let spaced: Artifact;
  let refused: string;

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
    // A key with a space and a non-ASCII letter, pulled in two versions (overwritten in between).
    spaced = await stack.putArtifact('console/sub dir/ün.bin', 2 * MiB, 'first');
    await drain(normals[0].apiUrl, spaced.url);
    spaced = await stack.putArtifact('console/sub dir/ün.bin', 2 * MiB, 'second');
    await drain(normals[0].apiUrl, spaced.url);
    // A pull that fails: the web server answers HEAD but refuses the reads.
    web = await HttpOriginServer.start();
    const file = await web.put('/releases/refused.bin', MiB, 'refused');
    web.refuseGets.add('/releases/refused.bin');
    refused = file.url;
    const settings = await fetch(`${stack.manager.url}/v1/clusters/default`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ settings: { allowedOrigins: [stack.bucket, `${web.url}/releases/`] } }),
    });
    expect(settings.status).toBe(200);
    // The cluster's settings reach the scheduler within seconds; until then the URL is outside the allowlist.
    const deadline = Date.now() + 20_000;
    for (;;) {
      await drain(normals[1].apiUrl, refused);
      const listing = (await (await fetch(`${stack.manager.url}/v1/tasks`, { headers: { authorization: `Bearer ${stack.token}` } })).json()) as { failures: Array<{ displayUrl: string }> };
      if (listing.failures.some((failure) => failure.displayUrl === refused)) break;
      if (Date.now() > deadline) throw new Error(`no failed pull of ${refused} was recorded`);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
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
    await web?.stop();
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

  it('lists tasks with state, progress, S3 bytes per object and version; decodes keys; tells versions apart; shows failed pulls and host versions', async () => {
    const row = page.locator('#tasks tr[data-task]', { hasText: pulled.url });
    await page.locator('#tasks tr[data-state="done"]', { hasText: pulled.url }).waitFor({ timeout: 10_000 });
    expect(await row.textContent()).toContain('100%');
    expect(await row.textContent()).toContain('3/3');
    expect(Number(await row.locator('[data-origin-per-object]').getAttribute('data-origin-per-object'))).toBeCloseTo(1, 2);
    expect(await row.textContent()).toContain('(1.00 ×)');
    // Both versions of the spaced key are listed, decoded, each with its own ETag.
    const versions = page.locator('#tasks tr[data-task]', { hasText: 's3://mayfly-demo/console/sub dir/ün.bin' });
    await expect.poll(() => versions.count()).toBe(2);
    const texts = await versions.allTextContents();
    const etags = texts.map((text) => /ETag ([0-9a-f]{12})/.exec(text)?.[1]);
    expect(new Set(etags).size).toBe(2);
    // The failed pull and its reason.
    const failure = page.locator('#failures tr', { hasText: refused }).first();
    await failure.waitFor({ timeout: 10_000 });
    expect(await failure.locator('td.reason').textContent()).toMatch(/refused|403/);
    // Hosts say which version they run.
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await page.locator('#hosts tr[data-peer="agent-1"]').textContent()).toContain(version);
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

  it('shows a prefix preheat as one row that opens into its items', async () => {
    await Promise.all(['a.bin', 'b.bin', 'c/d.bin'].map((name, i) => stack.putArtifact(`console/tree/${name}`, MiB + i)));
    const prefix = `s3://${stack.bucket}/console/tree/`;
    await page.fill('#preheat-url', prefix);
    await page.selectOption('#preheat-kind', 'prefix');
    await page.click('#preheat-submit');
    await expect.poll(() => page.locator('#message').textContent()).toMatch(/1 job\(s\) created for 3 objects/);
    const row = page.locator('#preheat-jobs tr[data-job]', { hasText: prefix });
    await page.locator('#preheat-jobs tr[data-job][data-state="done"]', { hasText: '3 of 3 objects' }).waitFor({ timeout: 60_000 });
    expect(await row.count()).toBe(1);
    await row.click();
    await expect.poll(() => page.locator('#preheat-jobs tr[data-item][data-state="done"]').count(), { timeout: 10_000 }).toBe(3);
    expect(await page.locator('#preheat-jobs tr[data-item]').allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining(`${prefix}c/d.bin`)]),
    );
    await page.selectOption('#preheat-kind', 'object');
  });
});

/** Pulls `url` through an agent's local API, reading the whole answer; returns the HTTP status. */
async function drain(apiUrl: string, url: string): Promise<number> {
  try {
    const response = await fetch(`${apiUrl}/v1/objects?url=${encodeURIComponent(url)}`);
    await response.arrayBuffer().catch(() => undefined);
    return response.status;
  } catch {
    return 0; // the agent hung up: a failure this test looks at elsewhere
  }
}
