// `destra models list|check` through commander, in process (bin/commands/models.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { Command } from 'commander';
import { MODELS_DIR } from '@destra/models';
import { register } from '../../bin/commands/models.ts';

async function cli(...args: string[]): Promise<{ out: string; exitCode: number }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const program = new Command('destra').exitOverride();
  register(program);
  const before = process.exitCode;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'destra', ...args]);
    return { out: lines.join('\n'), exitCode: Number(process.exitCode ?? 0) };
  } finally {
    spy.mockRestore();
    process.exitCode = before;
  }
}

describe('destra models', () => {
  afterEach(() => vi.restoreAllMocks());

  it('list shows every model with task, hash and metrics', async () => {
    const { out } = await cli('models', 'list');
    for (const name of ['volatility-forecast', 'volatility-gbt', 'price-direction', 'liquidation-risk', 'tx-anomaly', 'tx-anomaly-int8', 'bytecode-risk', 'proposal-classifier']) expect(out).toContain(name);
    expect(out).toMatch(/binary-classification/);
    expect(out).toMatch(/auc=0\.9/);
    const json = JSON.parse((await cli('models', 'list', '--json')).out) as { sha256: string }[];
    expect(json.every((m) => /^[0-9a-f]{64}$/.test(m.sha256))).toBe(true);
  });

  it('check prints the agreement matrix and exits 0 when every configuration agrees', async () => {
    const r = await cli('models', 'check', '--model', 'volatility-gbt', '--rows', '256', '--batches', '1,64,256');
    expect(r.out).toMatch(/agreement with "cpu t1 b1 opt:off"/);
    expect(r.out).toMatch(/volatility-gbt \|\s+100%/);
    expect(r.out).toMatch(/bit-identical across 12 configurations/);
    expect(r.exitCode).toBe(0);
  });

  it('check exits 1 and names the model when outputs disagree (unseeded RandomUniformLike fixture)', async () => {
    const r = await cli('models', 'check', '--dir', join(MODELS_DIR, 'test', 'fixtures'), '--rows', '64', '--batches', '1,64', '--threads', '1');
    expect(r.out).toMatch(/DISAGREEMENT in random-noise/);
    expect(r.out).toMatch(/random-noise \|[^\n]*%\s+Δ\d+/);
    expect(r.exitCode).toBe(1);
  });
});
