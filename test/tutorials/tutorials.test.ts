// Every tutorial under docs/tutorials runs, step by step as a reader would, against one fresh devnet
// network (test/tutorials/network.ts: anvil + contracts, the oracle program in LiteSVM behind the
// read-only JSON-RPC bridge, 3 staked node processes following CommitteeRegistry, the aggregator, a
// timed feed, env.json). A failing command, a missing expected line or a shown file that differs from
// examples/ fails the test naming the tutorial and step (run-steps.ts). The operator runbook runs its
// whole life cycle: init → register → node start → member of the next epoch → serve → monitor → upgrade
// (stop/start, resumes from its data dir) with a backup → restore from the backup → unbond → out of the
// committee. What only the docs show (withdraw after the unbonding delay, key rotation, Solana CPI) says
// so in the tutorial.
// Time: the network's start is most of it (node processes, the genesis DKG); each tutorial's `destra`
// and `tsx` invocations pay TypeScript start-up (~10-20 s each on a loaded 2-core machine).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { freePorts } from '../devnet/ports.ts';
import { TutorialSession } from './run-steps.ts';
import type { TutorialNetwork } from './network.ts';

// The real ONNX engine must load (as in test/e2e/epochs.test.ts); otherwise skipped with the reason.
const engineReason = await (async () => {
  if (!existsSync(fileURLToPath(new URL('../../oracle-node/src/inference/index.ts', import.meta.url)))) return 'oracle-node/src/inference is not present';
  try {
    const { loadBenchModel } = await import('../bench/inference.ts');
    const m = await loadBenchModel();
    await m.close();
    return undefined;
  } catch (err) {
    return `the ONNX inference engine does not load: ${(err as Error).message.split('\n')[0]}`;
  }
})();
if (engineReason) console.warn(`tutorials skipped: ${engineReason}`);

describe.skipIf(!!engineReason).sequential('tutorials (docs/tutorials) against a devnet', () => {
  let dir = '';
  let network: TutorialNetwork | undefined;
  let session: TutorialSession | undefined;
  let failed = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'destra-tutorials-'));
    const { startTutorialNetwork } = await import('./network.ts');
    network = await startTutorialNetwork({ dir });
    const [p2p, api] = await freePorts(2);
    session = new TutorialSession({ DESTRA_DEVNET_DIR: dir, P2P_PORT: String(p2p), API_PORT: String(api) });
  }, 900_000);

  afterAll(async () => {
    await session?.dispose();
    await network?.stop();
    if (dir && (failed || process.env.DESTRA_E2E_KEEP)) console.warn(`tutorials: devnet and logs kept in ${dir}`);
    else if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  const run = (file: string, timeoutMs: number) =>
    it(file, async () => {
      try {
        await session!.runFile(file);
      } catch (err) {
        failed = true;
        throw err;
      }
    }, timeoutMs);

  run('docs/tutorials/offchain-client.md', 600_000);
  run('docs/tutorials/ethereum-consumer.md', 900_000);
  run('docs/tutorials/solana-consumer.md', 300_000);
  run('docs/tutorials/operator-runbook.md', 1_800_000);
});
