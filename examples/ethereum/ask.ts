// Asks the deployed RiskConsumer for a score (paying its quote) and waits for the router's callback.
// Usage: tsx examples/ethereum/ask.ts <canonical input hex>
// Environment: DESTRA_RPC_URL, DESTRA_CONSUMER, DESTRA_ETH_PRIVATE_KEY.
import { createPublicClient, createWalletClient, http, parseAbi, type Address, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';

const env = (name: string): string => process.env[name] || (console.error(`set ${name}`), process.exit(2));
const input = process.argv[2] as Hex | undefined;
if (!input?.startsWith('0x')) throw new Error('usage: ask.ts <canonical input hex> (from `destra models encode`)');

const abi = parseAbi([
  'function quote() view returns (uint256)',
  'function ask(bytes input) payable returns (bytes32)',
  'function answered(bytes32) view returns (bool)',
  'function scoreOf(bytes32) view returns (int64)',
]);
const transport = http(env('DESTRA_RPC_URL'));
const pub = createPublicClient({ transport, pollingInterval: 250 });
const account = privateKeyToAccount(env('DESTRA_ETH_PRIVATE_KEY') as Hex);
const chain = { id: await pub.getChainId(), name: 'destra', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [env('DESTRA_RPC_URL')] } } };
const wallet = createWalletClient({ account, chain, transport });
const consumer = env('DESTRA_CONSUMER') as Address;

const value = await pub.readContract({ address: consumer, abi, functionName: 'quote' });
const { result: requestId, request } = await pub.simulateContract({ account, address: consumer, abi, functionName: 'ask', args: [input], value });
await pub.waitForTransactionReceipt({ hash: await wallet.writeContract(request) });
console.log(`request ${requestId} sent (paid ${value} wei)`);

// The committee answers; the aggregator relays; the router verifies the BLS signature, then calls back.
const deadline = Date.now() + 120_000;
while (!(await pub.readContract({ address: consumer, abi, functionName: 'answered', args: [requestId] }))) {
  if (Date.now() > deadline) throw new Error(`no callback for ${requestId} within 120 s`);
  await new Promise((r) => setTimeout(r, 500));
}
const score = await pub.readContract({ address: consumer, abi, functionName: 'scoreOf', args: [requestId] });
console.log(`callback received: risk score ${score} (scale 10000) for request ${requestId}`);
