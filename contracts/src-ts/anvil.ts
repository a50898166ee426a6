// Starts a real anvil JSON-RPC node (binary shipped by the npm package @foundry-rs/anvil) on 127.0.0.1
// for tests and the devnet, and stops it again. No mocked chain anywhere.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from '../../scripts/free-port.ts';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mnemonicToAccount, privateKeyToAddress } from 'viem/accounts';
import { toHex } from 'viem';

export interface AnvilOptions {
  port?: number;
  chainId?: number;
  /** Seconds between blocks; default: mine on every transaction. */
  blockTime?: number;
  accounts?: number;
  gasLimit?: bigint;
}

export interface Anvil {
  rpcUrl: string;
  wsUrl: string;
  port: number;
  chainId: number;
  /** Private keys of the funded dev accounts (anvil's default mnemonic). */
  privateKeys: `0x${string}`[];
  /** Addresses of those accounts, in the same order. */
  accounts: `0x${string}`[];
  stop(): Promise<void>;
}

// anvil's well-known default dev keys (mnemonic "test test ... junk"); local chains only.
const DEV_KEYS: `0x${string}`[] = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
];

const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** The first `count` keys anvil funds: the listed ten, then derived from the same mnemonic (m/44'/60'/0'/0/i). */
export function devKeys(count: number): `0x${string}`[] {
  const keys = DEV_KEYS.slice(0, count);
  for (let i = keys.length; i < count; i++) keys.push(toHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i }).getHdKey().privateKey!));
  return keys;
}

export class AnvilError extends Error {
  override name = 'AnvilError';
}

export function anvilBinary(): string {
  const require = createRequire(import.meta.url);
  const pkgDir = dirname(require.resolve('@foundry-rs/anvil/package.json'));
  const candidates = [join(pkgDir, '..', 'anvil-linux-amd64', 'bin', 'anvil'), join(pkgDir, 'bin', 'anvil'), join(pkgDir, '..', '..', '.bin', 'anvil')];
  const found = candidates.find(existsSync);
  if (!found) throw new AnvilError(`anvil binary not found under ${pkgDir}; run npm run bootstrap`);
  return found;
}

export { freePort };

async function rpcReady(url: string, deadline: number, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new AnvilError(`anvil exited with code ${child.exitCode} before becoming ready`);
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new AnvilError(`anvil did not answer on ${url} within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

export async function startAnvil(opts: AnvilOptions = {}): Promise<Anvil> {
  const port = opts.port ?? (await freePort());
  const chainId = opts.chainId ?? 31337;
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), '--hardfork', 'prague', '--accounts', String(opts.accounts ?? 10), '--balance', '1000000', '--gas-limit', String(opts.gasLimit ?? 100_000_000n)];
  if (opts.blockTime) args.push('--block-time', String(opts.blockTime));
  const child = spawn(anvilBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdout?.resume();
  const rpcUrl = `http://127.0.0.1:${port}`;
  try {
    await rpcReady(rpcUrl, Date.now() + 20_000, child);
  } catch (e) {
    child.kill('SIGKILL');
    running.delete(child);
    throw new AnvilError(`${(e as Error).message}\n${stderr}`);
  }
  return {
    rpcUrl,
    wsUrl: `ws://127.0.0.1:${port}`,
    port,
    chainId,
    // every funded account, not only the ten anvil lists (a devnet of n operators needs n + 7)
    privateKeys: devKeys(opts.accounts ?? 10),
    accounts: devKeys(opts.accounts ?? 10).map((k) => privateKeyToAddress(k)),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
        running.delete(child);
      }),
  };
}
