// Compiles RiskConsumer.sol with solc-js (npm `solc`, offline) and deploys it with the account in
// DESTRA_ETH_PRIVATE_KEY; sends it DSYNC for the per-request burns. Prints {"consumer": "0x…"}.
// Environment: DESTRA_RPC_URL, DESTRA_ROUTER, DESTRA_MODEL, DESTRA_ETH_PRIVATE_KEY.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createPublicClient, createWalletClient, erc20Abi, http, parseEther, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { namehash } from 'viem/ens';

const env = (name: string): string => process.env[name] || (console.error(`set ${name}`), process.exit(2));
const solc = createRequire(import.meta.url)('solc') as { compile(input: string, o: { import(p: string): { contents: string } | { error: string } }): string };

const input = {
  language: 'Solidity',
  sources: { 'examples/ethereum/RiskConsumer.sol': { content: readFileSync('examples/ethereum/RiskConsumer.sol', 'utf8') } },
  settings: { evmVersion: 'prague', outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } } },
};
// Imports resolve from the repo root (contracts/src/…) or node_modules (@openzeppelin/…).
const findImport = (p: string) => {
  for (const path of [p, `node_modules/${p}`]) if (existsSync(path)) return { contents: readFileSync(path, 'utf8') };
  return { error: `not found: ${p}` };
};
const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === 'error');
if (errors.length) throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join('\n'));
const { abi, evm } = out.contracts['examples/ethereum/RiskConsumer.sol'].RiskConsumer;

const account = privateKeyToAccount(env('DESTRA_ETH_PRIVATE_KEY') as Hex);
const transport = http(env('DESTRA_RPC_URL'));
const pub = createPublicClient({ transport });
const chain = { id: await pub.getChainId(), name: 'destra', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [env('DESTRA_RPC_URL')] } } };
const wallet = createWalletClient({ account, chain, transport });
const router = env('DESTRA_ROUTER') as Address;

const hash = await wallet.deployContract({ abi, bytecode: `0x${evm.bytecode.object}`, args: [router, namehash(env('DESTRA_MODEL'))] });
const consumer = (await pub.waitForTransactionReceipt({ hash })).contractAddress!;
// The router burns the model's DSYNC from the consumer at each request.
const token = await pub.readContract({ address: router, abi: [{ type: 'function', name: 'token', inputs: [], outputs: [{ type: 'address' }], stateMutability: 'view' }], functionName: 'token' });
await pub.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: token, abi: erc20Abi, functionName: 'transfer', args: [consumer, parseEther('100')] }) });
console.log(JSON.stringify({ consumer, deployTx: hash }));
