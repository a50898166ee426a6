// `destra models list|check` through commander, in process (bin/commands/models.ts).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { Command } from 'commander';
import { MODELS_DIR } from '@destra/models';
import { register } from '../../bin/commands/models.ts';
import { gpuPresent } from '../src/inference/session.ts';

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
    const json = JSON.parse((await cli('models', 'list', '--json')).out) as { sha256: string; exactness: string; parameters: number; referenceRows: number }[];
    expect(json.every((m) => /^[0-9a-f]{64}$/.test(m.sha256))).toBe(true);
    expect(json.every((m) => (m.exactness === 'any-hardware' || m.exactness === 'same-family') && Number.isInteger(m.parameters) && m.referenceRows >= 4096)).toBe(true);
    expect(out).toMatch(/tx-anomaly-int8 +\| [^\n]*any-hardware/);
  });

  it('check --backends cpu,cuda: without a GPU a clear note and the CPU check (not a crash); with one, CUDA columns', async () => {
    const r = await cli('models', 'check', '--model', 'tx-anomaly-int8', '--rows', '64', '--batches', '64', '--threads', '1', '--backends', 'cpu,cuda');
    if (gpuPresent()) {
      // integer-only: CUDA must agree on every row (or say the EP is missing, exit 0 is then not claimed)
      expect(r.out).toMatch(/cuda agree/);
      return;
    }
    expect(r.out).toMatch(/note: no GPU on this machine \(no \/dev\/nvidiactl or \/dev\/nvidia0\): the cuda backend is skipped/);
    expect(r.out).toMatch(/cpu agree/);
    expect(r.out).not.toMatch(/cuda agree/);
    expect(r.exitCode).toBe(0);
  });

  it('check prints the agreement matrix and exits 0 when every configuration agrees', async () => {
    const r = await cli('models', 'check', '--model', 'volatility-gbt', '--rows', '256', '--batches', '1,64,256');
    expect(r.out).toMatch(/agreement with "cpu t1 b1 opt:off"/);
    // model | exactness | reference | 12 configurations: every cell 100%
    expect(r.out).toMatch(/volatility-gbt \|\s+any-hardware \|\s+100% \|(\s+100% \|){12}/);
    expect(r.out).toMatch(/volatility-gbt \|\s+any-hardware \|\s+894 \|\s+100% \|\s+[\d,]+ \|/); // per backend: parameters, cpu agree, rows/s
    expect(r.out).toMatch(/bit-identical across 12 configurations and with their reference vectors/);
    expect(r.exitCode).toBe(0);
  });

  it('check exits 1 and names the model when outputs disagree (unseeded RandomUniformLike fixture)', async () => {
    const r = await cli('models', 'check', '--dir', join(MODELS_DIR, 'test', 'fixtures'), '--rows', '64', '--batches', '1,64', '--threads', '1');
    expect(r.out).toMatch(/DISAGREEMENT in random-noise/);
    expect(r.out).toMatch(/random-noise \|[^\n]*%\s+Δ\d+/);
    expect(r.exitCode).toBe(1);
  });
});
