// Headless Chromium (playwright-core, Debian's /usr/bin/chromium) loads node 1's dashboard of a live
// 4-node network and checks the committee, epoch and rounds it shows, including a live update.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { toHex } from '@destra/protocol';
import { startLocalCluster, type LocalCluster } from '../devnet/cluster.ts';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';

const CHROMIUM = '/usr/bin/chromium';
const engineAvailable = existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)));
if (!engineAvailable) console.warn('dashboard test skipped: oracle-node/src/inference (the real inference engine) is not present');
if (!existsSync(CHROMIUM)) console.warn(`dashboard test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

describe.skipIf(!engineAvailable || !existsSync(CHROMIUM))('node dashboard in headless Chromium', () => {
  let cluster: LocalCluster;
  let browser: Browser;
  let model: BenchModel;
  beforeAll(async () => {
    model = await loadBenchModel();
    cluster = await startLocalCluster({ network: 'dash', n: 4, t: 3, inference: () => model.inference, models: model.models });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    await model?.close();
  }, 60_000);

  it('shows the committee, the epoch and the rounds, and updates live', async () => {
    const node = cluster.nodes.get(1)!;
    const first = await node.engine.submitOnDemand(model.model, model.input(1));
    const page = await browser.newPage();
    await page.goto(node.url, { waitUntil: 'domcontentloaded' });
    expect(await page.textContent('#epoch')).toBe('1');
    expect(await page.textContent('#threshold')).toBe('3');
    expect(await page.textContent('#size')).toBe('4');
    expect(await page.textContent('#status')).toBe('ok');
    expect(await page.locator('#members tr').count()).toBe(4);
    expect(await page.textContent('#members tr[data-member="1"]')).toContain('(self)');
    expect(await page.textContent('#group-key')).toBe(`${node.committee().groupKey!.slice(0, 10)}…${node.committee().groupKey!.slice(-6)}`);
    const row = page.locator(`#rounds tr[data-request="${toHex(first.requestId)}"]`);
    expect(await row.textContent()).toContain('done');
    // A round finished after the page loaded appears through the page's own polling.
    const second = await node.engine.submitOnDemand(model.model, model.input(2));
    await page.waitForSelector(`#rounds tr[data-request="${toHex(second.requestId)}"]`, { timeout: 10_000 });
    const members = await page.locator('#members tr').allTextContents();
    expect(members.filter((m) => m.includes('online'))).toHaveLength(4);
    await page.close();
  }, 60_000);
});
