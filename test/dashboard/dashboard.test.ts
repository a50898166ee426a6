// Headless Chromium (playwright-core, Debian's /usr/bin/chromium) loads node 1's dashboard of a live
// 4-node network and checks the committee, epoch and rounds it shows, including a live update; a request
// sent to the router on anvil, whose fulfilment transaction (read from the chain's RequestFulfilled log)
// must appear in its round row, read by the node from the aggregator's relay log (GET /v1/relays); then,
// after some traffic, its charts (screenshots kept under a tmp dir and checked: not blank, chart canvases
// drawn in series colours), the round rows (kind, destination), the model list, that a hostile model
// name / failure reason stored from a chain request shows as text and runs nothing, and that the header
// turns `degraded` when a member stops.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { oracleRouterAbi } from '@destra/contracts';
import { ReportKind, toHex } from '@destra/protocol';
import { startChains, type Chains } from '../devnet/chains.ts';
import { startLocalCluster, type LocalCluster } from '../devnet/cluster.ts';
import { EthereumRequestSource } from '../devnet/sources.ts';
import { loadBenchModel, type BenchModel } from '../bench/inference.ts';

const CHROMIUM = '/usr/bin/chromium';
// Browser globals inside page.evaluate callbacks (the project compiles without the DOM lib).
declare const document: any, window: any, Image: any;
const engineAvailable = existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)));
if (!engineAvailable) console.warn('dashboard test skipped: oracle-node/src/inference (the real inference engine) is not present');
if (!existsSync(CHROMIUM)) console.warn(`dashboard test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

/** Decodes PNG screenshots in a blank page: luminance variance (not blank) and saturated-green pixels. */
async function pngStats(browser: Browser, pngs: Buffer[]): Promise<{ variance: number; green: number; width: number; height: number }[]> {
  const probe = await browser.newPage();
  const stats = await probe.evaluate(async (b64s: string[]) => {
    const out = [];
    for (const b64 of b64s) {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d')!;
      ctx.drawImage(img, 0, 0);
      const d = ctx.getImageData(0, 0, c.width, c.height).data;
      let sum = 0, sq = 0, green = 0;
      const px = d.length / 4;
      for (let i = 0; i < d.length; i += 4) {
        const l = 0.299 * d[i]! + 0.587 * d[i + 1]! + 0.114 * d[i + 2]!;
        sum += l;
        sq += l * l;
        if (d[i + 1]! > d[i]! + 60 && d[i + 1]! > d[i + 2]! + 60) green++;
      }
      out.push({ variance: sq / px - (sum / px) ** 2, green, width: img.width, height: img.height });
    }
    return out;
  }, pngs.map((p) => p.toString('base64')));
  await probe.close();
  return stats;
}

describe.skipIf(!engineAvailable || !existsSync(CHROMIUM))('node dashboard in headless Chromium', () => {
  let cluster: LocalCluster;
  let browser: Browser;
  let model: BenchModel;
  let chains: Chains;
  let shots: string;
  beforeAll(async () => {
    shots = mkdtempSync(join(tmpdir(), 'destra-dashboard-shots-'));
    console.log(`dashboard screenshots: ${shots}`);
    model = await loadBenchModel();
    chains = await startChains({ network: 'dash', n: 4, modelName: model.model });
    const models = new Map([[toHex(model.modelHash).toLowerCase(), model.model]]);
    cluster = await startLocalCluster({
      network: 'dash', n: 4, t: 3, inference: () => model.inference, models: model.models,
      // the router's requests reach the nodes and the aggregator lands them; nodes read its /v1/relays
      sources: () => [new EthereumRequestSource({ rpcUrl: chains.anvil.rpcUrl, chainId: chains.anvil.chainId, router: chains.deployed.addresses.router, models, pollMs: 100 })],
      sinks: [chains.ethSink],
      relayStatus: true,
    });
    await chains.stake(cluster.committee.operators.slice(1));
    await chains.genesis(cluster.sharing);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
    await chains?.stop();
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

  it("shows where a chain request was relayed: the fulfilment transaction read from the chain, from the aggregator's relay log", async () => {
    const node = cluster.nodes.get(1)!;
    const requestId = toHex(await chains.ethRequest(model.input(7)));
    const pub = chains.clients.publicClient;
    let txHash: string | undefined;
    for (const deadline = Date.now() + 30_000; !txHash && Date.now() < deadline; await new Promise((r) => setTimeout(r, 200))) {
      const logs = await pub.getContractEvents({ address: chains.deployed.addresses.router, abi: oracleRouterAbi, eventName: 'RequestFulfilled', args: { requestId: requestId as `0x${string}` }, fromBlock: 0n });
      txHash = logs[0]?.transactionHash ?? undefined;
    }
    expect(txHash, `request ${requestId} was not fulfilled on the router within 30 s`).toMatch(/^0x[0-9a-f]{64}$/);
    const page = await browser.newPage();
    await page.goto(node.url, { waitUntil: 'domcontentloaded' });
    // the page's polling brings the node's next read of the aggregator's relay log
    const relay = page.locator(`#rounds tr[data-request="${requestId}"] span.relay[data-chain="ethereum"]`);
    await relay.waitFor({ timeout: 15_000 });
    await page.waitForFunction((id: string) => document.querySelector(`#rounds tr[data-request="${id}"] span.relay[data-chain="ethereum"]`)?.dataset.tx, requestId, { timeout: 15_000 });
    expect(await relay.getAttribute('data-tx')).toBe(txHash);
    expect(await relay.getAttribute('data-status')).toBe('confirmed');
    expect(await relay.textContent()).toBe(`ethereum ${txHash!.slice(0, 10)}…${txHash!.slice(-6)}`);
    expect(await page.textContent('#relay-source')).toMatch(/read from the aggregators/);
    // the relay as drawn: the confirmed relay's text is in the 'ok' green
    const relayShot = await relay.screenshot();
    writeFileSync(join(shots, 'relay.png'), relayShot);
    writeFileSync(join(shots, 'relay-row.png'), await page.locator(`#rounds tr[data-request="${requestId}"]`).screenshot());
    expect((await pngStats(browser, [relayShot]))[0]!.green).toBeGreaterThan(20);
    await page.close();
  }, 60_000);

  it('charts traffic, lists rounds and models, shows hostile strings as text, and turns degraded', async () => {
    const node = cluster.nodes.get(1)!;
    // Traffic over three history intervals (5 s each), so each chart has several points.
    const deadline = Date.now() + 16_000;
    for (let v = 10; Date.now() < deadline; v++) {
      await Promise.all([0, 1, 2].map((j) => node.engine.submitOnDemand(model.model, model.input(v * 3 + j))));
      await new Promise((r) => setTimeout(r, 300));
    }
    // A hostile chain requester's model name and the error recorded for it (what a chain request can put in the store).
    const hostile = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
    const hostileId = new Uint8Array(32).fill(0xee);
    node.store.addRequest({ requestId: hostileId, round: 0, source: 'ethereum', kind: ReportKind.Request, epoch: 1, model: hostile, input: new Uint8Array(0), timestamp: 1, destination: new Uint8Array(65), leader: null });
    node.store.setRequestStatus(hostileId, 0, 'failed', `model not served: ${hostile}`);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1600 } });
    await page.goto(node.url, { waitUntil: 'load' });
    await page.waitForFunction(() => Number(document.getElementById('chart-verified')?.dataset.points ?? 0) >= 3, undefined, { timeout: 20_000 });
    await page.waitForTimeout(300);
    const full = await page.screenshot({ fullPage: true });
    writeFileSync(join(shots, 'dashboard.png'), full);
    const chartShot = await page.locator('#chart-verified').screenshot();
    writeFileSync(join(shots, 'chart-verified.png'), chartShot);

    // Rows: kind and destination of the on-demand rounds; the hostile row is plain text.
    const onDemand = page.locator('#rounds tr[data-kind="on-demand"]').first();
    expect(await onDemand.locator('td').nth(2).textContent()).toBe('on-demand');
    expect(await onDemand.locator('td').nth(4).textContent()).toBe('any');
    const bad = page.locator(`#rounds tr[data-request="${toHex(hostileId)}"]`);
    expect(await bad.locator('td').nth(5).textContent()).toBe(hostile);
    expect(await bad.locator('td.failure').textContent()).toBe(`model not served: ${hostile}`);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('#rounds img, #rounds script').count()).toBe(0);
    // Model list from the node's engine; stake says why it is absent (fixed committee, no chain).
    expect(await page.textContent(`#models li[data-model="${model.model}"]`)).toContain('served');
    expect(await page.textContent('#stake-source')).toMatch(/no chain control connection/);

    // Chart canvases: pixels in series colours (saturated), beyond the grey axes and grid.
    const coloured = await page.evaluate(() =>
      ['chart-throughput', 'chart-latency', 'chart-verified'].map((id) => {
        const c = document.querySelector(`#${id} canvas`);
        const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i + 3]! > 0 && Math.max(d[i]!, d[i + 1]!, d[i + 2]!) - Math.min(d[i]!, d[i + 1]!, d[i + 2]!) > 60) n++;
        return n;
      }),
    );
    for (const n of coloured) expect(n).toBeGreaterThan(50);

    // Screenshots decoded in a blank page: the full page is not blank (luminance variance) and the
    // chart's picture holds the series green.
    const stats = await pngStats(browser, [full, chartShot]);
    expect(stats[0]!.variance).toBeGreaterThan(100);
    expect(stats[1]!.green).toBeGreaterThan(50);

    // A member stops: 3 of 4 reachable is exactly t, and the header says degraded through its polling.
    await cluster.nodes.get(4)!.stop();
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'degraded', undefined, { timeout: 30_000 });
    expect(await page.textContent('#reasons')).toMatch(/only 3 of 4 members reachable/);
    expect(await page.locator('#members tr.offline').count()).toBe(1);
    writeFileSync(join(shots, 'degraded.png'), await page.screenshot({ fullPage: true }));
    await page.close();
  }, 120_000);
});
