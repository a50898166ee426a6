// Node processes of the devnet: spawned with their own stdout/stderr log files, stopped on exit/Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fromHex, toHex, type PublicSharing } from '@destra/protocol';
import { ORACLE_PROGRAM_ID } from '@destra/adapter-solana';
import { sharingFromPublicShares } from '@destra/aggregator';
import { CLUSTER_ID, type Chains } from './chains.ts';
import type { DevnetChainsFile } from './node-main.ts';

export interface NodeProcess {
  index: number;
  child: ChildProcess;
  api: string;
  logFile: string;
  stop(): Promise<void>;
}

const repoRoot = new URL('../../', import.meta.url).pathname;

/**
 * Starts node process `index`. `prefix` runs it under another command (test/chaos: `ip netns exec <ns>`,
 * which execs node in place, so the child's pid is node's and kill -9 reaches it). The start limit is
 * generous: loading the node takes a minute on a busy 2-core machine, and a node that fails exits at once
 * (reported with its exit code), so the limit only catches one that hangs.
 */
export function spawnNode(index: number, configPath: string, chainsPath: string | undefined, logDir: string, timeoutMs = 180_000, env: Record<string, string> = {}, prefix: readonly string[] = []): Promise<NodeProcess> {
  const logFile = join(logDir, `node${index}.log`);
  const log = createWriteStream(logFile);
  const [cmd, ...pre] = prefix.length > 0 ? [...prefix, process.execPath] : [process.execPath];
  const child = spawn(cmd!, [...pre, '--import', 'tsx', join(repoRoot, 'test/devnet/node-main.ts'), '--config', configPath, ...(chainsPath ? ['--chains', chainsPath] : [])], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  child.stderr!.pipe(log);
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(kill);
        resolve();
      });
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${index} did not start within ${timeoutMs} ms; see ${logFile}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node ${index} exited with code ${code} during start; see ${logFile}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log.write(`${line}\n`);
      if (!line.includes('"devnet":"node-started"')) return;
      try {
        const msg = JSON.parse(line) as { api: string };
        clearTimeout(timer);
        resolve({ index, child, api: msg.api, logFile, stop });
      } catch {
        /* a log line that merely mentions it */
      }
    });
  });
}

/** Writes the chains file node processes read (`--chains`): anvil, the router, the SVM bridge, the model. */
export function writeNodeChainsFile(path: string, o: { chains: Chains; svmBridgeUrl: string; modelHash: Uint8Array; modelName: string }): void {
  const file: DevnetChainsFile = {
    rpcUrl: o.chains.anvil.rpcUrl,
    chainId: o.chains.anvil.chainId,
    router: o.chains.deployed.addresses.router,
    svmBridgeUrl: o.svmBridgeUrl,
    programId: ORACLE_PROGRAM_ID.toBase58(),
    clusterId: toHex(CLUSTER_ID),
    models: { [toHex(o.modelHash).toLowerCase()]: o.modelName },
  };
  writeFileSync(path, JSON.stringify(file, null, 2));
}

interface CommitteeView {
  groupKey: string | null;
  threshold: number;
  size: number;
  members: { index: number; publicShare: string | null }[];
}

/**
 * Waits until every node process finished the DKG (its /v1/committee names a group key) and all agree on
 * it; returns the committee's public sharing, rebuilt from the public shares the nodes serve.
 */
export async function waitForDkg(nodes: readonly NodeProcess[], timeoutMs: number): Promise<PublicSharing> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const views = await Promise.all(nodes.map((p) => fetch(`${p.api}/v1/committee`).then((r) => r.json() as Promise<CommitteeView>).catch(() => undefined)));
    if (views.every((v) => v?.groupKey)) {
      const keys = new Set(views.map((v) => v!.groupKey));
      if (keys.size !== 1) throw new Error(`nodes disagree on the group key (${keys.size} different keys)`);
      const v = views[0]!;
      return sharingFromPublicShares(v.members.map((m) => ({ index: m.index, publicShare: fromHex(m.publicShare!) })), v.threshold, v.size);
    }
    if (Date.now() > deadline) throw new Error(`the DKG did not finish within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
